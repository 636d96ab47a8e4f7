//! The URLs the gateway hands out (`Location`, `meta.location`) come from its configured
//! public URL or a trusted proxy, never from a client's `Host` or forwarding headers.

use crate::security::{connect, head, read_until_closed};
use crate::support::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Creates a user with `extra` headers (a raw request: `Host` is the client's to choose)
/// and answers the `Location` header and the body's `meta.location`.
async fn create_with(meta: &MetaSetup, user: &str, extra: &str) -> (String, String) {
    let body = entra_user(user, "Lo", "Cation", None).to_string();
    let request = head(
        meta,
        "POST",
        "/Users",
        &format!(
            "content-type: application/scim+json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}",
            body.len()
        ),
    );
    // The client's own Host goes in place of the real one.
    let request = match extra
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("host:"))
    {
        Some(_) => request.replacen(
            &format!(
                "host: {}\r\n",
                meta.gateway.url.trim_start_matches("http://")
            ),
            "",
            1,
        ),
        None => request,
    };
    let mut stream = connect(&meta.gateway).await;
    stream
        .write_all(format!("{request}{body}").as_bytes())
        .await
        .unwrap();
    let (text, _) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    let location = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .unwrap_or_default()
        .trim()
        .to_string();
    let json: serde_json::Value =
        serde_json::from_str(&text[text.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    (
        location,
        json["meta"]["location"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_clients_host_is_never_reflected() {
    let meta = meta_setup().await;
    let (location, meta_location) = create_with(
        &meta,
        "host@contoso.com",
        "host: evil.example\r\nx-forwarded-host: evil.example\r\nx-forwarded-proto: https\r\n",
    )
    .await;
    for url in [&location, &meta_location] {
        // The host the client sent (a random SCIM id may well contain "evil").
        assert!(!url.contains("evil.example"), "{url}");
        assert!(
            url.starts_with(&format!("{}/v1/scim/", meta.gateway.url)),
            "{url}"
        );
    }
}

#[tokio::test]
async fn the_configured_public_url_names_every_resource() {
    let meta = meta_setup_full("", "public_url = \"https://scim.example.com/gateway\"", "").await;
    let (location, meta_location) =
        create_with(&meta, "pub@contoso.com", "host: evil.example\r\n").await;
    let base = format!(
        "https://scim.example.com/gateway/v1/scim/{}/Users/",
        meta.idp_id
    );
    assert!(location.starts_with(&base), "{location}");
    assert_eq!(location, meta_location);
}

#[tokio::test]
async fn a_trusted_proxy_says_where_the_client_called() {
    let meta = meta_setup_full("", "trusted_proxies = [\"127.0.0.0/8\"]", "").await;
    let (location, _) = create_with(
        &meta,
        "fwd@contoso.com",
        "x-forwarded-host: scim.example.net\r\nx-forwarded-proto: https\r\n",
    )
    .await;
    assert!(
        location.starts_with("https://scim.example.net/v1/scim/"),
        "{location}"
    );
}
