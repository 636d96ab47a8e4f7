//! Reading a request body without ever holding more than the configured limit.

use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;
use scimitar_scim::ScimError;

pub async fn read_limited(session: &mut Session, limit: usize) -> Result<Bytes, ScimError> {
    let too_large =
        || ScimError::payload_too_large(format!("the request body is larger than {limit} bytes"));
    let declared = session
        .req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
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
}
