//! Networks in the config (`trusted_proxies`, `allowed_networks`): a CIDR network
//! (`10.0.0.0/8`, `2001:db8::/32`) or one address (`192.0.2.7`, `::1`), parsed when the
//! file is read, so that a bad one fails `check` as it would fail `serve`.

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(IpNet);

impl Network {
    /// Whether `address` is in the network (an IPv4 client seen on a dual-stack socket as
    /// `::ffff:10.1.2.3` is that IPv4 client).
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(&canonical(address))
    }
}

/// Whether `address` is in any of `networks`.
pub fn any_contains(networks: &[Network], address: IpAddr) -> bool {
    networks.iter().any(|network| network.contains(address))
}

/// Whether an allow-list of `networks` lets `client` in: any client when it lists none, no
/// client of unknown address when it lists some.
pub fn admits(networks: &[Network], client: Option<IpAddr>) -> bool {
    networks.is_empty() || client.is_some_and(|address| any_contains(networks, address))
}

/// An IPv4 address seen as IPv4-mapped IPv6 is the IPv4 address.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Network(net));
        }
        let address: IpAddr = text
            .parse()
            .map_err(|_| format!("{text:?} is not an address or a CIDR network"))?;
        Ok(Network(IpNet::from(canonical(address))))
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_single_addresses_parse_and_bad_ones_do_not() {
        let net: Network = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("192.0.2.1".parse().unwrap()));
        let one: Network = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        for bad in ["10.0.0.0/33", "ten", "", "10.0.0.1/"] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        assert_eq!(net.to_string(), "10.0.0.0/8");
    }
}
