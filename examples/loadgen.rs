//! A bounded HTTP load generator for `scripts/bench`: sends a fixed number of GET requests
//! at a fixed concurrency over keep-alive connections and prints throughput and latency
//! percentiles as one JSON line.

use clap::Parser;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// URLs to request, used in turn (e.g. several resource ids).
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    #[arg(long)]
    bearer: Option<String>,
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Requests sent first and not measured (connection set-up, caches).
    #[arg(long, default_value_t = 200)]
    warmup: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();
    run(&client, &args, args.warmup).await;
    let started = Instant::now();
    let (mut latencies, errors) = run(&client, &args, args.requests).await;
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": args.requests,
            "errors": errors,
            "seconds": elapsed.as_secs_f64(),
            "throughput": args.requests as f64 / elapsed.as_secs_f64(),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
        })
    );
}

/// Sends `total` requests from `concurrency` workers; returns latencies and the error count
/// (a non-2xx answer counts as an error).
async fn run(client: &reqwest::Client, args: &Args, total: usize) -> (Vec<Duration>, usize) {
    let workers = args.concurrency.max(1);
    let mut handles = Vec::new();
    for worker in 0..workers {
        let client = client.clone();
        let urls = args.urls.clone();
        let bearer = args.bearer.clone();
        let share = total / workers + usize::from(worker < total % workers);
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(share);
            let mut errors = 0;
            for i in 0..share {
                let url = &urls[(worker + i * workers) % urls.len()];
                let mut request = client.get(url);
                if let Some(token) = &bearer {
                    request = request.bearer_auth(token);
                }
                let started = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(started.elapsed());
                errors += usize::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    for handle in handles {
        let (l, e) = handle.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    (latencies, errors)
}
