//! The adversarial suite: one test per attack on the gateway's edge and on its calls to
//! targets, each through the real path (a gateway process, a testbed, raw sockets where a
//! well-behaved client library would not misbehave), each checking what the target saw.

mod answers;
mod connections;
mod entra_jwt;
mod networks;
mod paths;
mod public_url;
mod redirects;
mod requests;
mod token_endpoint;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A host no tenant allows: it counts every connection it gets, which must stay zero.
pub struct Elsewhere {
    pub url: String,
    connections: Arc<AtomicUsize>,
}

impl Elsewhere {
    pub async fn start() -> Elsewhere {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                        .await;
                });
            }
        });
        Elsewhere { url, connections }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A metric's value on the gateway (0 when the series does not exist).
pub async fn metric(gateway: &crate::support::Gateway, series: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", gateway.admin_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// A tenant `name` at `/{name}` in front of a Meta Networks testbed whose script puts SCIM
/// values into native paths (`tests/scripts/lookup-by-path.rhai`); `upstream` continues its
/// `[tenants.upstream]`.
pub async fn lookup_by_path(name: &str, upstream: &str) -> crate::support::Setup {
    let testbed = scimitar_testbeds::meta_networks::start(
        ([127, 0, 0, 1], 0).into(),
        scimitar_testbeds::meta_networks::Options::default(),
    )
    .await
    .unwrap();
    let spec = crate::support::TenantSpec {
        tenant_toml: String::new(),
        name: name.into(),
        route: format!("/{name}"),
        script: crate::support::repo_path("tests/scripts/lookup-by-path.rhai"),
        token: crate::support::new_token().0,
        upstream_toml: format!("base_url = \"{}\"\n{upstream}", testbed.url),
        settings_toml: String::new(),
    };
    crate::support::serve_tenant(
        testbed,
        spec,
        &format!("/{name}"),
        crate::support::SecretFiles::new(&[]),
        "",
    )
    .await
}

/// Opens a raw connection to the gateway's SCIM listener.
pub async fn connect(gateway: &crate::support::Gateway) -> TcpStream {
    TcpStream::connect(gateway.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the gateway sends on `stream` until it closes it or `limit` passes.
pub async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&text).into_owned(), closed)
}

/// Reads from `stream` until `text` contains `wanted` (or `limit` passes).
pub async fn read_until(stream: &mut TcpStream, wanted: &str, limit: Duration) -> String {
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(limit, async {
        while !String::from_utf8_lossy(&text).contains(wanted) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&text).into_owned()
}

/// The head of a request to the Meta Networks tenant, with its token.
pub fn head(meta: &crate::support::MetaSetup, method: &str, path: &str, extra: &str) -> String {
    let path = format!("/v1/scim/{}{path}", meta.idp_id);
    let host = meta.gateway.url.trim_start_matches("http://");
    format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {}\r\n{extra}\r\n",
        meta.token
    )
}
