//! The bundled testbeds: started for the demo on a runtime of their own, or one alone for
//! `scimitar testbed <target>`.

use anyhow::Context;
use scimitar_testbeds::{Target, Testbed};
use serde_json::json;
use std::net::SocketAddr;

/// The names `scimitar testbed` takes.
pub fn testbed_names() -> impl Iterator<Item = &'static str> {
    Target::ALL.into_iter().map(Target::name)
}

/// Starts testbeds on a runtime of their own, on a thread that lives as long as the process.
pub(super) fn start_testbeds(targets: Vec<Target>) -> anyhow::Result<Vec<Testbed>> {
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
                for target in targets {
                    match target.start(loopback(0)).await {
                        Ok(testbed) => started.push(testbed),
                        Err(e) => {
                            let _ = tx.send(Err(anyhow::Error::from(e)));
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

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// `scimitar testbed <target>`: one testbed in the foreground, its URL and credentials on
/// stdout as JSON.
pub fn run_testbed(name: &str, port: u16) -> anyhow::Result<()> {
    let target = Target::from_name(name).with_context(|| {
        format!(
            "no testbed {name:?} (testbeds: {})",
            testbed_names().collect::<Vec<_>>().join(", ")
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let testbed = target.start(loopback(port)).await?;
        println!("{}", json!({ "testbed": testbed.name, "testbed_url": testbed.url, "testbed_credentials": testbed.credentials }));
        tokio::signal::ctrl_c().await?;
        testbed.shutdown().await;
        Ok(())
    })
}
