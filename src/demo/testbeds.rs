//! The bundled testbeds: started for the demo on a runtime of their own, or one alone for
//! `scimitar testbed <target>`.

use anyhow::Context;
use scimitar_testbeds::{acme_hr, maptician, mediusflow, meta_networks, mx3, rhombus, Testbed};
use serde_json::json;
use std::net::SocketAddr;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum TestbedKind {
    MetaNetworks,
    Mediusflow,
    Maptician,
    Rhombus,
    Mx3,
    /// The fictional application of the README's adapter walk-through.
    AcmeHr,
}

/// A testbed to start, with its options.
pub(super) enum TestbedSpec {
    MetaNetworks(meta_networks::Options),
    MediusFlow(mediusflow::Options),
    Maptician(maptician::Options),
    Rhombus(rhombus::Options),
    Mx3(mx3::Options),
    AcmeHr(acme_hr::Options),
}

/// Starts testbeds on a runtime of their own, on a thread that lives as long as the process.
pub(super) fn start_testbeds(specs: Vec<TestbedSpec>) -> anyhow::Result<Vec<Testbed>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("testbeds".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::Error::from(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let mut started = Vec::new();
                for spec in specs {
                    match start_testbed(spec, 0).await {
                        Ok(testbed) => started.push(testbed),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                let _ = tx.send(Ok(started));
                std::future::pending::<()>().await;
            });
        })?;
    rx.recv().context("the testbed thread stopped")?
}

async fn start_testbed(spec: TestbedSpec, port: u16) -> anyhow::Result<Testbed> {
    let bind = SocketAddr::from(([127, 0, 0, 1], port));
    Ok(match spec {
        TestbedSpec::MetaNetworks(options) => meta_networks::start(bind, options).await?,
        TestbedSpec::MediusFlow(options) => mediusflow::start(bind, options).await?,
        TestbedSpec::Maptician(options) => maptician::start(bind, options).await?,
        TestbedSpec::Rhombus(options) => rhombus::start(bind, options).await?,
        TestbedSpec::Mx3(options) => mx3::start(bind, options).await?,
        TestbedSpec::AcmeHr(options) => acme_hr::start(bind, options).await?,
    })
}

/// `scimitar testbed <target>`: one testbed in the foreground, its URL and credentials on
/// stdout as JSON.
pub fn run_testbed(kind: TestbedKind, port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let spec = match kind {
            TestbedKind::MetaNetworks => TestbedSpec::MetaNetworks(meta_networks::Options::default()),
            TestbedKind::Mediusflow => TestbedSpec::MediusFlow(mediusflow::Options::default()),
            TestbedKind::Maptician => TestbedSpec::Maptician(maptician::Options::default()),
            TestbedKind::Rhombus => TestbedSpec::Rhombus(rhombus::Options::default()),
            TestbedKind::Mx3 => TestbedSpec::Mx3(mx3::Options::default()),
            TestbedKind::AcmeHr => TestbedSpec::AcmeHr(acme_hr::Options::default()),
        };
        let testbed = start_testbed(spec, port).await?;
        println!("{}", json!({ "testbed": testbed.name, "testbed_url": testbed.url, "testbed_credentials": testbed.credentials }));
        tokio::signal::ctrl_c().await?;
        testbed.shutdown().await;
        Ok(())
    })
}
