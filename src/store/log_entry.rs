//! A provisioning log entry as the store keeps it, and the time format it sorts by.

use serde::{Deserialize, Serialize};

/// One SCIM operation, as the provisioning log keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub at: String,
    pub tenant: String,
    pub resource: String,
    pub operation: String,
    pub scim_id: Option<String>,
    pub subject: Option<String>,
    pub status: u16,
    pub outcome: String,
    pub detail: Option<String>,
    pub target_calls: Vec<TargetCall>,
    pub duration_ms: f64,
}

/// One call to the target application.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetCall {
    pub method: String,
    /// Host and path, without query string (queries can carry secrets).
    pub target: String,
    /// HTTP status, or `None` when no answer came.
    pub status: Option<u16>,
    pub latency_ms: f64,
}

/// Now, as RFC 3339 UTC with milliseconds (a fixed width, so that times sort as text,
/// which the SQLite store relies on).
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

pub fn format_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}
