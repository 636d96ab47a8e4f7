//! Every bundled testbed by the name `scimitar testbed <name>` takes, started with its
//! default options (fresh random credentials, reported in [`Testbed::credentials`]): what
//! the demo and `scimitar testbed` start. A new testbed is one entry here.

use std::net::SocketAddr;

use crate::{acme_hr, maptician, mediusflow, meta_networks, mx3, rhombus, Testbed};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    MetaNetworks,
    MediusFlow,
    Maptician,
    Rhombus,
    Mx3,
    /// The fictional application of the README's adapter walk-through.
    AcmeHr,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::MetaNetworks,
        Target::MediusFlow,
        Target::Maptician,
        Target::Rhombus,
        Target::Mx3,
        Target::AcmeHr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::MetaNetworks => "meta-networks",
            Target::MediusFlow => "mediusflow",
            Target::Maptician => "maptician",
            Target::Rhombus => "rhombus",
            Target::Mx3 => "mx3",
            Target::AcmeHr => "acme-hr",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|target| target.name() == name)
    }

    /// Starts the testbed on `bind` on the current tokio runtime.
    pub async fn start(self, bind: SocketAddr) -> std::io::Result<Testbed> {
        match self {
            Target::MetaNetworks => meta_networks::start(bind, Default::default()).await,
            Target::MediusFlow => mediusflow::start(bind, Default::default()).await,
            Target::Maptician => maptician::start(bind, Default::default()).await,
            Target::Rhombus => rhombus::start(bind, Default::default()).await,
            Target::Mx3 => mx3::start(bind, Default::default()).await,
            Target::AcmeHr => acme_hr::start(bind, Default::default()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_finds_its_target() {
        for target in Target::ALL {
            assert_eq!(Target::from_name(target.name()), Some(target));
        }
        assert_eq!(Target::from_name("nope"), None);
    }
}
