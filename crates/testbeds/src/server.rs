//! The serve loop every testbed runs on, and the fault layer in front of its native API.
//!
//! Connections are served with hyper directly rather than `axum::serve` because a `drop` fault
//! must close the TCP connection without any answer: the per-request service returns an error,
//! and hyper then closes the connection without writing a response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::control::{self, Application, Control};
use crate::faults::Outcome;

/// A running testbed. It serves until [`Testbed::shutdown`] is awaited or the handle is dropped.
pub struct Testbed {
    /// The application's name, e.g. `"meta-networks"` (the target's name in the gateway's config).
    pub name: &'static str,
    /// The server root, `http://127.0.0.1:PORT`: the demo's `testbed_url`.
    pub url: String,
    /// The credentials a client needs, with the field names from `targets.md`:
    /// the demo's `testbed_credentials`.
    pub credentials: serde_json::Value,
    addr: SocketAddr,
    /// Dropping the sender (with the handle) stops the server as surely as sending.
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Testbed {
    /// The address the testbed listens on (useful when it was bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every open connection and waits until the server task is gone.
    pub async fn shutdown(self) {
        // The server may already have stopped, in which case there is nobody to tell.
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::warn!(testbed = self.name, error = %e, "testbed task failed");
        }
    }
}

/// Binds `bind` and serves `native` (with request counting and faults) plus the `/_testbed`
/// routes for `app`, on tasks of the current tokio runtime.
pub(crate) async fn start(
    name: &'static str,
    bind: SocketAddr,
    native: Router,
    app: Arc<dyn Application>,
    credentials: serde_json::Value,
) -> std::io::Result<Testbed> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let control = Control::new(app);
    let router =
        control::count_requests(native, control.clone()).merge(control::router(control.clone()));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(accept_loop(name, listener, router, control, stopped));
    tracing::info!(testbed = name, %addr, "testbed listening");
    Ok(Testbed {
        name,
        url: format!("http://{addr}"),
        credentials,
        addr,
        stop,
        task,
    })
}

async fn accept_loop(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    control: Arc<Control>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (router, control) = (router.clone(), control.clone());
                    let service = service_fn(move |request| handle(request, router.clone(), control.clone()));
                    connections.spawn(async move {
                        let served = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        if let Err(e) = served {
                            tracing::debug!(testbed = name, error = %e, "connection ended");
                        }
                    });
                }
                // Running out of file descriptors and the like: keep serving the others.
                Err(e) => tracing::warn!(testbed = name, error = %e, "accept failed"),
            },
            // Reap finished connections so the set does not grow for the testbed's lifetime.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    tracing::info!(testbed = name, "testbed stopped");
}

/// The error that makes hyper close the connection unanswered (a `drop` fault).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// Applies the next pending fault to a native request, then hands it to the router if the
/// fault lets it through. Control routes are never faulted, so tests can always clean up.
async fn handle(
    request: Request<Incoming>,
    router: Router,
    control: Arc<Control>,
) -> Result<Response<Body>, Dropped> {
    let native = !request.uri().path().starts_with("/_testbed/");
    if let Some(fault) = native.then(|| control.faults.next()).flatten() {
        tokio::time::sleep(fault.delay).await;
        match fault.outcome {
            Outcome::Forward => {}
            Outcome::Drop => return Err(Dropped),
            Outcome::Respond {
                status,
                retry_after,
            } => {
                let mut response = control.app.fault_response(status);
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                return Ok(response);
            }
            Outcome::Redirect { status, location } => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = status;
                if let Ok(location) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                return Ok(response);
            }
            Outcome::Oversize { bytes } => return Ok(oversize_response(bytes)),
        }
    }
    let response = router.oneshot(request.map(Body::new)).await;
    Ok(response.unwrap_or_else(|never: Infallible| match never {}))
}

/// A JSON array of `bytes` bytes (`[0,0,…,0]`), streamed in 64 KiB chunks so that the
/// testbed never holds it.
fn oversize_response(bytes: u64) -> Response<Body> {
    const CHUNK: u64 = 64 * 1024;
    // Odd, so that the array ends in `0]`.
    let bytes = bytes.max(3) | 1;
    let chunks = futures_util::stream::unfold(0u64, move |sent| async move {
        if sent >= bytes {
            return None;
        }
        let size = CHUNK.min(bytes - sent);
        let mut chunk = vec![b'0'; size as usize];
        for (i, byte) in chunk.iter_mut().enumerate() {
            let at = sent + i as u64;
            if at == 0 {
                *byte = b'[';
            } else if at == bytes - 1 {
                *byte = b']';
            } else if at % 2 == 0 {
                *byte = b',';
            }
        }
        Some((
            Ok::<_, std::convert::Infallible>(bytes::Bytes::from(chunk)),
            sent + size,
        ))
    });
    let mut response = Response::new(Body::from_stream(chunks));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
