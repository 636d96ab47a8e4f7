//! Reading a request body: never more than the configured limit, never longer than the body
//! deadline, and with the `100 Continue` a client that asked for one waits for.

use crate::failure::{Failure, Reason};
use crate::gateway::Gateway;
use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;
use scimitar_scim::ScimError;
use std::time::{Duration, Instant};

/// When a request's body must have arrived: within the body timeout and the request
/// deadline.
pub fn deadline(gateway: &Gateway, started: Instant) -> Instant {
    let body = Duration::from_secs(gateway.limits.body_timeout_secs);
    started + body.min(gateway.request_timeout())
}

/// The whole body, or the failure that refuses it: 413 past `limit` bytes (declared or
/// sent), 408 when it has not all arrived by `deadline`, 400 when the client stopped early.
pub async fn read_limited(
    session: &mut Session,
    limit: usize,
    deadline: Instant,
) -> Result<Bytes, Failure> {
    let too_large = || body_too_large(limit);
    if declared_length(session).is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    // pingora's read timeout restarts with every byte: the deadline bounds the whole body.
    session.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now())));
    let read = async {
        let mut body = BytesMut::new();
        loop {
            let chunk = session.read_request_body().await.map_err(|e| {
                ScimError::invalid_syntax(format!("the request body could not be read: {e}"))
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout_at(deadline.into(), read)
        .await
        .unwrap_or_else(|_| Err(body_too_slow()))
}

/// 413: the body is larger than `limit` bytes.
pub fn body_too_large(limit: usize) -> Failure {
    Failure::refused(
        Reason::BodyTooLarge,
        ScimError::payload_too_large(format!("the request body is larger than {limit} bytes")),
    )
}

/// 408: the body did not all arrive in time.
pub fn body_too_slow() -> Failure {
    Failure::refused(
        Reason::SlowBody,
        ScimError::new(
            408,
            None,
            "the request body did not arrive in time (limits.body_timeout_secs)",
        ),
    )
}

pub fn declared_length(session: &Session) -> Option<usize> {
    session
        .req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Sends `100 Continue` to a client that waits for it before its body (`Expect:
/// 100-continue`), once the request is let in.
pub async fn continue_if_expected(session: &mut Session) -> pingora::Result<()> {
    let expects = session
        .req_header()
        .headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects && session.req_header().version == http::Version::HTTP_11 {
        session.write_continue_response().await?;
    }
    Ok(())
}
