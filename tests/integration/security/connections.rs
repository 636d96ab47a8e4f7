//! Slow and greedy clients: a header or body sent a byte at a time is cut at its deadline,
//! a slow body holds no concurrency slot, one address cannot hold every connection, and
//! other clients are served meanwhile. Pipelined requests are answered in order, and a
//! client that waits for `100 Continue` gets it.

use crate::security::{connect, head, metric, read_until, read_until_closed};
use crate::support::*;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const TIGHT: &str =
    "[limits]\nheader_timeout_secs = 2\nbody_timeout_secs = 2\nmax_connections_per_client = 8\n";

#[tokio::test]
async fn a_header_sent_a_byte_at_a_time_is_cut_at_its_deadline() {
    let meta = meta_setup_with(TIGHT).await;
    let mut slow = connect(&meta.gateway).await;
    let request = head(&meta, "GET", "/Users?count=1", "");
    let started = Instant::now();
    let mut cut = false;
    // One byte a second: each read is quick, the header never ends in time.
    for byte in request.as_bytes().iter().take(20) {
        if slow.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        // Meanwhile everyone else is served.
        let (status, _) = meta.get("/Users?count=1").await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, closed) = read_until_closed(&mut slow, Duration::from_millis(10)).await;
        if closed {
            cut = true;
            break;
        }
    }
    assert!(cut, "the slow header kept its connection");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "cut after {:?}",
        started.elapsed()
    );
    assert_eq!(
        metric(
            &meta.gateway,
            "scimitar_rejected_requests_total{reason=\"slow_header\",tenant=\"none\"}"
        )
        .await,
        1.0
    );
}

#[tokio::test]
async fn a_slow_body_holds_no_concurrency_slot_and_is_cut_at_its_deadline() {
    let meta = meta_setup_full("[tenants.limits]\nmax_concurrent = 1\n", "", TIGHT).await;
    let body = entra_user("slow@contoso.com", "Slow", "Body", None).to_string();
    let mut slow = connect(&meta.gateway).await;
    let request = head(
        &meta,
        "POST",
        "/Users",
        &format!(
            "content-type: application/scim+json\r\ncontent-length: {}\r\n",
            body.len()
        ),
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..10]).await.unwrap();
    // The one slot stays free for requests that arrived whole.
    for _ in 0..3 {
        let (status, body) = meta.get("/Users?count=1").await;
        assert_eq!(status, 200, "{body}");
    }
    let started = Instant::now();
    let answer = read_until(&mut slow, "\r\n\r\n", Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(meta.native_user("slow@contoso.com").await.is_none());
}

#[tokio::test]
async fn a_body_shorter_than_its_length_is_answered_within_the_deadline() {
    let meta = meta_setup_with(TIGHT).await;
    let mut short = connect(&meta.gateway).await;
    let request = head(
        &meta,
        "POST",
        "/Users",
        "content-type: application/scim+json\r\ncontent-length: 500\r\n",
    );
    short.write_all(request.as_bytes()).await.unwrap();
    short.write_all(b"{\"userName\":").await.unwrap();
    let started = Instant::now();
    let answer = read_until(&mut short, "\r\n\r\n", Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let meta = meta_setup_with("[limits]\nmax_connections_per_client = 3\n").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        // Each one served once (and kept alive), so that it is surely counted.
        let mut stream = connect(&meta.gateway).await;
        stream
            .write_all(head(&meta, "GET", "/ServiceProviderConfig", "").as_bytes())
            .await
            .unwrap();
        let answer = read_until(&mut stream, "\"schemas\"", Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(stream);
    }
    let mut fourth = connect(&meta.gateway).await;
    let (text, closed) = read_until_closed(&mut fourth, Duration::from_secs(3)).await;
    assert!(
        closed && text.is_empty(),
        "the fourth connection was served: {text}"
    );
    assert_eq!(
        metric(
            &meta.gateway,
            "scimitar_rejected_requests_total{reason=\"too_many_connections\",tenant=\"none\"}"
        )
        .await,
        1.0
    );
    held.pop();
    // The count follows closed connections.
    let mut again = None;
    for _ in 0..50 {
        let mut stream = connect(&meta.gateway).await;
        stream
            .write_all(head(&meta, "GET", "/Users?count=1", "connection: close\r\n").as_bytes())
            .await
            .unwrap();
        let (text, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
        if text.starts_with("HTTP/1.1 200") {
            again = Some(text);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a connection was never counted as closed");
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let meta = meta_setup().await;
    let mut stream = connect(&meta.gateway).await;
    let first = head(&meta, "GET", "/Users?filter=userName+eq+%22first%22", "");
    let second = head(
        &meta,
        "GET",
        "/ServiceProviderConfig",
        "connection: close\r\n",
    );
    stream
        .write_all(format!("{first}{second}").as_bytes())
        .await
        .unwrap();
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed);
    let answers: Vec<&str> = text.matches("HTTP/1.1 200").collect();
    assert_eq!(answers.len(), 2, "{text}");
    let list = text.find("ListResponse").unwrap();
    let config = text.find("ServiceProviderConfig").unwrap();
    assert!(list < config, "answered out of order: {text}");
}

#[tokio::test]
async fn a_client_waiting_for_100_continue_gets_it() {
    let meta = meta_setup().await;
    let body = entra_user("cont@contoso.com", "Con", "Tinue", None).to_string();
    let mut stream = connect(&meta.gateway).await;
    let request = head(
        &meta,
        "POST",
        "/Users",
        &format!(
            "content-type: application/scim+json\r\ncontent-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n",
            body.len()
        ),
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let interim = read_until(&mut stream, "\r\n\r\n", Duration::from_secs(5)).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream.write_all(body.as_bytes()).await.unwrap();
    let (text, _) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    assert!(meta.native_user("cont@contoso.com").await.is_some());
}

#[tokio::test]
async fn a_slow_proxied_body_holds_no_concurrency_slot_either() {
    // `[tenants.limits]` between the upstream keys and their auth table.
    let m = meta_scim_setup_with("[tenants.limits]\nmax_concurrent = 1\n", TIGHT).await;
    let body = entra_user("slowp@contoso.com", "Slow", "Proxied", None).to_string();
    let mut slow = tokio::net::TcpStream::connect(m.gateway.url.trim_start_matches("http://"))
        .await
        .unwrap();
    let host = m.gateway.url.trim_start_matches("http://");
    let request = format!(
        "POST /meta-scim/Users HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {}\r\n\
         content-type: application/scim+json\r\ncontent-length: {}\r\n\r\n",
        m.token,
        body.len()
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..10]).await.unwrap();
    for _ in 0..3 {
        let (status, answer) = m
            .send(
                reqwest::Method::GET,
                "/Users?filter=userName+eq+%22nobody%22",
                None,
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let answer = read_until(&mut slow, "\r\n\r\n", Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(
        m.native_user("slowp@contoso.com").await,
        serde_json::Value::Null
    );
}
