//! The gateway's own URL as its clients reach it, for `Location` and `meta.location`: the
//! configured `server.public_url`; else what a trusted proxy says in `X-Forwarded-Proto` and
//! `X-Forwarded-Host`; else the address the client connected to. A client's `Host` header is
//! never reflected: it would let anyone make the gateway hand out links to their own host.

use crate::config::{any_contains, canonical_address, Network, ServerConfig};
use anyhow::{bail, Context};
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone)]
pub struct PublicUrl {
    /// `scheme://host[:port][/prefix]`, without a trailing slash.
    fixed: Option<String>,
    trusted_proxies: Vec<Network>,
    /// `https` when the SCIM listener serves TLS itself.
    listener_scheme: &'static str,
}

/// `scheme://authority[/prefix]` of the gateway as a client reaches it: always `http` or
/// `https`, always with an authority, never a trailing slash (`PublicUrl::origin` builds no
/// other kind), so its parts are read without parsing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn scheme(&self) -> &str {
        self.0
            .split_once("://")
            .map_or("http", |(scheme, _)| scheme)
    }

    /// Host and port as the client wrote them (`scim.example.com`, `[::1]:8080`).
    pub fn authority(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        rest.split('/').next().unwrap_or_default()
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one request tells about where it was sent.
pub struct Arrival<'a> {
    /// The client's address (the connection's peer).
    pub peer: Option<IpAddr>,
    /// The gateway's address the connection reached.
    pub local: Option<SocketAddr>,
    pub forwarded_proto: Option<&'a str>,
    pub forwarded_host: Option<&'a str>,
}

impl PublicUrl {
    /// From `server.public_url`, `server.trusted_proxies` and whether `server.tls` is set.
    pub fn new(server: &ServerConfig) -> anyhow::Result<Self> {
        let fixed = match server.public_url.as_deref() {
            None => None,
            Some(text) => {
                let url = url::Url::parse(text).context("server.public_url")?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    bail!("server.public_url must be an http(s) URL with a host: {text:?}");
                }
                if url.query().is_some() || url.fragment().is_some() {
                    bail!("server.public_url has no place for a query or fragment: {text:?}");
                }
                Some(url.as_str().trim_end_matches('/').to_string())
            }
        };
        Ok(Self {
            fixed,
            trusted_proxies: server.trusted_proxies.clone(),
            listener_scheme: if server.tls.is_some() {
                "https"
            } else {
                "http"
            },
        })
    }

    /// Whether `address` is one of the configured proxies, whose forwarding headers count.
    pub fn is_trusted_proxy(&self, address: IpAddr) -> bool {
        any_contains(&self.trusted_proxies, address)
    }

    /// The client a request comes from: the connection's peer, unless the peer is a trusted
    /// proxy — then the last address of `X-Forwarded-For` that is not one of the trusted
    /// proxies (what the proxies nearest to the gateway saw; the addresses before it are the
    /// client's own word). `None` without a peer address.
    pub fn client_address(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        let peer = canonical_address(peer?);
        if !self.is_trusted_proxy(peer) {
            return Some(peer);
        }
        let mut nearest = peer;
        for hop in forwarded_for.into_iter().flat_map(|h| h.rsplit(',')) {
            let Ok(address) = hop.trim().parse::<IpAddr>() else {
                // Unreadable: nothing further out can be believed.
                return Some(nearest);
            };
            nearest = canonical_address(address);
            if !self.is_trusted_proxy(nearest) {
                break;
            }
        }
        Some(nearest)
    }

    /// The origin for URLs the gateway hands out.
    pub fn origin(&self, arrival: &Arrival) -> Origin {
        if let Some(fixed) = &self.fixed {
            return Origin(fixed.clone());
        }
        if arrival.peer.is_some_and(|peer| self.is_trusted_proxy(peer)) {
            let proto = arrival
                .forwarded_proto
                .and_then(first_value)
                .filter(|p| matches!(*p, "http" | "https"));
            let host = arrival
                .forwarded_host
                .and_then(first_value)
                .filter(|h| is_authority(h));
            if let Some(host) = host {
                let proto = proto.unwrap_or(self.listener_scheme);
                return Origin(format!("{proto}://{host}"));
            }
        }
        let scheme = self.listener_scheme;
        Origin(match arrival.local {
            Some(local) => format!("{scheme}://{}", canonical_socket(local)),
            None => format!("{scheme}://localhost"),
        })
    }
}

fn first_value(header: &str) -> Option<&str> {
    header
        .split(',')
        .next()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A host with an optional port, and nothing a URL could be bent with.
fn is_authority(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn canonical_socket(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical_address(address.ip()), address.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(public_url: Option<&str>, trusted: &[&str]) -> anyhow::Result<PublicUrl> {
        PublicUrl::new(&ServerConfig {
            public_url: public_url.map(str::to_string),
            trusted_proxies: trusted.iter().map(|s| s.parse().unwrap()).collect(),
            ..ServerConfig::default()
        })
    }

    fn arrival<'a>(peer: &str, proto: Option<&'a str>, host: Option<&'a str>) -> Arrival<'a> {
        Arrival {
            peer: Some(peer.parse().unwrap()),
            local: Some("127.0.0.1:8080".parse().unwrap()),
            forwarded_proto: proto,
            forwarded_host: host,
        }
    }

    /// The origin's text, and the scheme and authority read from it.
    fn assert_origin(origin: Origin, text: &str, scheme: &str, authority: &str) {
        assert_eq!(origin.to_string(), text);
        assert_eq!((origin.scheme(), origin.authority()), (scheme, authority));
    }

    #[test]
    fn the_configured_url_wins() {
        let public = public(Some("https://scim.example.com:8443/gw/"), &[]).unwrap();
        let origin = public.origin(&arrival("10.0.0.1", Some("http"), Some("evil.example")));
        assert_origin(
            origin,
            "https://scim.example.com:8443/gw",
            "https",
            "scim.example.com:8443",
        );
    }

    #[test]
    fn an_origin_names_its_parts() {
        let public = public(None, &[]).unwrap();
        let mut at = arrival("10.0.0.1", None, None);
        at.local = Some("[::1]:8080".parse().unwrap());
        assert_origin(
            public.origin(&at),
            "http://[::1]:8080",
            "http",
            "[::1]:8080",
        );
    }

    #[test]
    fn forwarding_headers_count_from_trusted_proxies_only() {
        let public = public(None, &["10.0.0.0/8", "::1"]).unwrap();
        assert_eq!(
            public
                .origin(&arrival(
                    "10.1.2.3",
                    Some("https"),
                    Some("scim.example.com")
                ))
                .to_string(),
            "https://scim.example.com"
        );
        assert_eq!(
            public
                .origin(&arrival(
                    "::ffff:10.1.2.3",
                    Some("https, http"),
                    Some("a.example, b")
                ))
                .to_string(),
            "https://a.example"
        );
        assert_eq!(
            public
                .origin(&arrival("192.0.2.1", Some("https"), Some("evil.example")))
                .to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            public
                .origin(&arrival("10.1.2.3", Some("https"), Some("evil.example/x?")))
                .to_string(),
            "http://127.0.0.1:8080",
            "a forwarded host that is no authority is ignored"
        );
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
        let public = public(None, &["10.0.0.0/8"]).unwrap();
        let client = |peer: &str, forwarded: Option<&str>| {
            public
                .client_address(Some(peer.parse().unwrap()), forwarded)
                .unwrap()
                .to_string()
        };
        assert_eq!(client("192.0.2.1", Some("198.51.100.1")), "192.0.2.1");
        assert_eq!(client("10.0.0.1", None), "10.0.0.1");
        assert_eq!(client("10.0.0.1", Some("198.51.100.1")), "198.51.100.1");
        // Proxies in a chain are skipped; what the client wrote before them is not believed.
        assert_eq!(
            client("10.0.0.1", Some("203.0.113.9, 198.51.100.1, 10.0.0.2")),
            "198.51.100.1"
        );
        // Something unreadable ends what can be believed: the last trusted hop stands.
        assert_eq!(client("10.0.0.1", Some("198.51.100.1, junk")), "10.0.0.1");
        assert_eq!(
            client("::ffff:10.0.0.1", Some("::ffff:198.51.100.1")),
            "198.51.100.1"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        for url in ["ftp://x", "not a url", "https://x/?q=1"] {
            assert!(public(Some(url), &[]).is_err(), "{url}");
        }
    }
}
