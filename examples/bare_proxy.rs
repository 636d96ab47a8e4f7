//! pingora alone: a proxy that forwards every request as it is to one upstream, with the
//! gateway's server settings and allocator and none of its work (no routing, tokens,
//! limits, metrics or logs). `scripts/bench` measures it beside the gateway's pass-through
//! tenant, so the pass-through figure reads against the floor that pingora itself sets on
//! the same machine. Prints `{"listen": "127.0.0.1:PORT"}` once it is listening.
//! Usage: bare_proxy --upstream 127.0.0.1:PORT --port PORT

use async_trait::async_trait;
use clap::Parser;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::{ProxyHttp, Session};
use pingora::server::configuration::ServerConf;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// The upstream's `host:port`.
    #[arg(long)]
    upstream: String,
    #[arg(long)]
    port: u16,
    /// pingora worker threads (the gateway's default).
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

struct Forward {
    upstream: String,
}

#[async_trait]
impl ProxyHttp for Forward {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        upstream.insert_header(http::header::HOST, self.upstream.as_str())?;
        Ok(())
    }
}

fn main() {
    let args = Args::parse();
    let conf = ServerConf {
        threads: args.threads.max(1),
        pid_file: format!("/tmp/bare-proxy-{}.pid", std::process::id()),
        upgrade_sock: format!("/tmp/bare-proxy-{}-upgrade.sock", std::process::id()),
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Forward {
            upstream: args.upstream,
        },
    );
    let listen = format!("127.0.0.1:{}", args.port);
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    println!("{}", serde_json::json!({ "listen": listen }));
    server.run_forever();
}
