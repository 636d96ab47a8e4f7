//! `scimitar adapter …`: the tools of someone writing an adapter for an application we have
//! never seen — `adapter new` writes a skeleton to start from ([`skeleton`]), `adapter test`
//! replays Entra's provisioning behaviour against a tenant ([`conformance`], with [`launch`]
//! serving one tenant of a config for the run).

pub mod conformance;
mod launch;
pub mod skeleton;

use anyhow::Context;
pub use conformance::{Deactivation, Options, Summary};
use std::path::PathBuf;

/// Which tenant `adapter test` talks to.
pub enum TestTarget {
    /// A tenant of a config, served on loopback for the run with a token made for it.
    Config { path: PathBuf, tenant: String },
    /// A tenant a gateway already serves (a staging deployment), by its SCIM base URL.
    Url { url: String, token: String },
}

/// Runs `adapter test`, printing each check on stdout.
pub fn test(target: TestTarget, options: &conformance::Options) -> anyhow::Result<Summary> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut out = std::io::stdout();
        match target {
            TestTarget::Config { path, tenant } => {
                let launched = launch::launch(&path, &tenant).await?;
                println!(
                    "tenant {tenant}, served for this run at {}",
                    launched.base_url
                );
                let client =
                    conformance::ScimClient::new(&launched.base_url, launched.token.clone())?;
                Ok(conformance::run(&client, options, &mut out).await)
            }
            TestTarget::Url { url, token } => {
                let client = conformance::ScimClient::new(&url, token)?;
                println!("tenant at {}", client.base());
                Ok(conformance::run(&client, options, &mut out).await)
            }
        }
    })
}
