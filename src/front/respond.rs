//! Writing an answer: SCIM (`application/scim+json`, `Location` on 201, `Retry-After` on
//! 429/503, `WWW-Authenticate` on 401), or the token endpoint's OAuth JSON.

use crate::scim_api::ScimResponse;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

pub const SCIM_JSON: &str = "application/scim+json";

pub async fn write(session: &mut Session, response: ScimResponse) -> Result<()> {
    write_with(session, response, false).await
}

/// The same, telling the client that this connection closes after the answer (after a
/// failed proxy attempt the connection's state is unknown, so pingora will not reuse it).
pub async fn write_and_close(session: &mut Session, response: ScimResponse) -> Result<()> {
    write_with(session, response, true).await
}

async fn write_with(session: &mut Session, response: ScimResponse, close: bool) -> Result<()> {
    // serde_json's writer straight into bytes: `to_string` goes through `Display`'s formatter.
    let body = response
        .body
        .map(|b| bytes::Bytes::from(serde_json::to_vec(&b).unwrap_or_default()));
    let mut header = ResponseHeader::build(response.status, Some(6))?;
    if close {
        header.insert_header(http::header::CONNECTION, "close")?;
    }
    if let Some(body) = &body {
        header.insert_header(http::header::CONTENT_TYPE, SCIM_JSON)?;
        header.insert_header(http::header::CONTENT_LENGTH, body.len().to_string())?;
    } else {
        header.insert_header(http::header::CONTENT_LENGTH, "0")?;
    }
    if let Some(location) = response.location {
        header.insert_header(http::header::LOCATION, location)?;
    }
    if let Some(secs) = response.retry_after {
        header.insert_header(http::header::RETRY_AFTER, secs.to_string())?;
    }
    if response.status == 401 {
        header.insert_header(http::header::WWW_AUTHENTICATE, "Bearer realm=\"scimitar\"")?;
    }
    session
        .write_response_header(Box::new(header), body.is_none())
        .await?;
    if let Some(body) = body {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}

/// An OAuth 2.0 answer of the token endpoint (RFC 6749 §5): JSON that no cache keeps, and
/// the challenge of a client refused its HTTP Basic credentials.
pub async fn write_oauth(
    session: &mut Session,
    status: u16,
    body: &serde_json::Value,
    challenge: Option<&str>,
) -> Result<()> {
    let body = bytes::Bytes::from(body.to_string());
    let mut header = ResponseHeader::build(status, Some(6))?;
    header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    header.insert_header(http::header::CONTENT_LENGTH, body.len().to_string())?;
    header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    header.insert_header(http::header::PRAGMA, "no-cache")?;
    if let Some(challenge) = challenge {
        header.insert_header(http::header::WWW_AUTHENTICATE, challenge)?;
    }
    session
        .write_response_header(Box::new(header), false)
        .await?;
    session.write_response_body(Some(body), true).await
}
