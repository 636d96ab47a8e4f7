//! Connection-level protection, before pingora parses anything: a bound on the connections
//! one client address holds at once, and a deadline for each request's header.
//!
//! pingora's read timeout restarts with every byte, so a client sending a header a byte at a
//! time would hold its connection forever. [`Guarded`] wraps pingora's HTTP application and
//! hands it every accepted connection as a [`GuardedStream`], which starts a clock on the
//! first byte of each request and fails the read once the header has not ended
//! (`\r\n\r\n`) in `limits.header_timeout_secs`. The body has its own deadline, checked where
//! it is read (`crate::body`).

use crate::metrics;
use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::TlsRef;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use pingora::server::ShutdownWatch;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// An HTTP application behind the connection guards.
pub struct Guarded<A> {
    inner: Arc<A>,
    header_timeout: Duration,
    clients: Arc<ClientConnections>,
}

impl<A> Guarded<A> {
    /// `max_per_client` 0: no bound.
    pub fn new(inner: A, header_timeout: Duration, max_per_client: usize) -> Self {
        Self {
            inner: Arc::new(inner),
            header_timeout,
            clients: Arc::new(ClientConnections {
                max: max_per_client,
                open: Mutex::new(HashMap::new()),
            }),
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for Guarded<A> {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let peer = stream
            .get_socket_digest()
            .and_then(|d| d.peer_addr().and_then(|a| a.as_inet()).map(|a| a.ip()));
        let slot = match peer {
            Some(address) => match ClientConnections::take(&self.clients, address) {
                Some(slot) => Some(slot),
                None => {
                    metrics::REJECTED
                        .with_label_values(&["none", "too_many_connections"])
                        .inc();
                    tracing::warn!(client = %address, "connection refused: too many from this address");
                    return None;
                }
            },
            None => None,
        };
        // HTTP/2 multiplexes requests over frames: the header clock is HTTP/1's.
        let clocked = !matches!(stream.selected_alpn_proto(), Some(ALPN::H2));
        let guarded = GuardedStream {
            inner: stream,
            header_timeout: clocked.then_some(self.header_timeout),
            phase: Phase::Idle,
            matched: 0,
            clock: None,
            _slot: slot,
        };
        self.inner.process_new(Box::new(guarded), shutdown).await
    }

    async fn cleanup(&self) {
        self.inner.cleanup().await;
    }
}

/// Open connections per client address.
struct ClientConnections {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl ClientConnections {
    fn take(this: &Arc<Self>, address: IpAddr) -> Option<ClientSlot> {
        if this.max == 0 {
            return Some(ClientSlot(None));
        }
        let mut open = this.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= this.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot(Some((this.clone(), address))))
    }
}

/// One of a client's connections, counted until it is dropped with its stream.
#[derive(Debug)]
struct ClientSlot(Option<(Arc<ClientConnections>, IpAddr)>);

impl std::fmt::Debug for ClientConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnections")
            .field("max", &self.max)
            .finish()
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Some((connections, address)) = self.0.take() {
            let mut open = connections.open.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(count) = open.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&address);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests: waiting is the keep-alive timeout's business.
    Idle,
    /// A request's header is arriving, against the clock.
    Header,
    /// The header is complete; the rest is the body deadline's and the answer's.
    Past,
}

const HEADER_END: &[u8; 4] = b"\r\n\r\n";

/// A connection whose request headers must arrive in time.
#[derive(Debug)]
pub struct GuardedStream {
    inner: Stream,
    /// `None`: no header clock (HTTP/2).
    header_timeout: Option<Duration>,
    phase: Phase,
    /// How much of `\r\n\r\n` the last bytes read end with.
    matched: usize,
    clock: Option<Pin<Box<Sleep>>>,
    _slot: Option<ClientSlot>,
}

impl GuardedStream {
    /// Follows the bytes just read: the first byte of a request starts the clock, the end
    /// of its header stops it.
    fn saw(&mut self, bytes: &[u8]) {
        let Some(timeout) = self.header_timeout else {
            return;
        };
        if bytes.is_empty() || self.phase == Phase::Past {
            return;
        }
        if self.phase == Phase::Idle {
            self.phase = Phase::Header;
            self.matched = 0;
            self.clock = Some(Box::pin(tokio::time::sleep(timeout)));
        }
        for &byte in bytes {
            self.matched = match (byte == HEADER_END[self.matched], byte == b'\r') {
                (true, _) => self.matched + 1,
                (false, true) => 1,
                (false, false) => 0,
            };
            if self.matched == HEADER_END.len() {
                self.phase = Phase::Past;
                self.clock = None;
                return;
            }
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled()[before..].to_vec();
                this.saw(&filled);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.clock.as_mut().map(|clock| clock.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => {
                    metrics::REJECTED
                        .with_label_values(&["none", "slow_header"])
                        .inc();
                    Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request header did not arrive in time (limits.header_timeout_secs)",
                    )))
                }
                _ => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // An answer is going out (a `100 Continue` is not one): the next byte read starts
        // the next request.
        if self.phase == Phase::Past && !buf.starts_with(b"HTTP/1.1 1") {
            self.phase = Phase::Idle;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let starts_informational = bufs
            .iter()
            .find(|b| !b.is_empty())
            .is_some_and(|b| b.starts_with(b"HTTP/1.1 1"));
        if self.phase == Phase::Past && !starts_informational {
            self.phase = Phase::Idle;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[async_trait]
impl Shutdown for GuardedStream {
    async fn shutdown(&mut self) {
        Shutdown::shutdown(&mut *self.inner).await
    }
}

impl UniqueID for GuardedStream {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for GuardedStream {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<pingora::protocols::tls::SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for GuardedStream {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for GuardedStream {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for GuardedStream {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for GuardedStream {
    async fn try_peek(&mut self, buf: &mut [u8]) -> std::io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> GuardedStream {
        let (client, _server) = tokio::io::duplex(64);
        GuardedStream {
            inner: Box::new(client),
            header_timeout: Some(Duration::from_secs(10)),
            phase: Phase::Idle,
            matched: 0,
            clock: None,
            _slot: None,
        }
    }

    #[tokio::test]
    async fn the_clock_runs_from_the_first_byte_to_the_end_of_the_header() {
        let mut s = stream();
        s.saw(b"GET / HTTP/1.1\r\nHost: x\r");
        assert_eq!(s.phase, Phase::Header);
        assert!(s.clock.is_some());
        s.saw(b"\n\r");
        assert_eq!(s.phase, Phase::Header);
        s.saw(b"\n{\"body\":1}");
        assert_eq!(s.phase, Phase::Past);
        assert!(s.clock.is_none());
        // Body bytes never restart it; the next request does, once an answer went out.
        s.saw(b"\r\n\r\nmore body");
        assert_eq!(s.phase, Phase::Past);
    }

    #[tokio::test]
    async fn a_carriage_return_inside_the_marker_restarts_the_match() {
        let mut s = stream();
        s.saw(b"GET / HTTP/1.1\r\n\r\r\n\r\n");
        assert_eq!(s.phase, Phase::Past);
    }

    #[test]
    fn connections_are_counted_per_client_address() {
        let clients = Arc::new(ClientConnections {
            max: 2,
            open: Mutex::new(HashMap::new()),
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let first = ClientConnections::take(&clients, a).unwrap();
        let _second = ClientConnections::take(&clients, a).unwrap();
        assert!(ClientConnections::take(&clients, a).is_none());
        assert!(ClientConnections::take(&clients, b).is_some());
        drop(first);
        assert!(ClientConnections::take(&clients, a).is_some());
    }
}
