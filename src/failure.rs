//! Why a request did not succeed, typed from where it went wrong up to the edge: the front
//! door (`front::observe`) is the one place that turns a [`Failure`] into the SCIM answer,
//! the refusal's metric reason and the log line, so that no layer guesses the kind of a
//! failure from a status code or an error's text.

use scimitar_scim::ScimError;
use std::fmt;

/// A failed request: what kind of failure it is, and the SCIM error the client is answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    kind: Kind,
    error: ScimError,
}

/// Where a failure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The gateway turned the request away before it could run (or stopped it at its
    /// deadline), counted in `scimitar_rejected_requests_total` under the reason.
    Refused(Reason),
    /// The request is not valid SCIM, asks what the tenant does not offer, or names what
    /// does not exist.
    Protocol,
    /// The answer the adapter chose (its `scim_error`, or how it read the target's answer).
    Adapter,
    /// The adapter script failed: a bug, a sandbox limit, a value the gateway cannot use.
    ScriptFault,
    /// The target application failed, or answered what the gateway does not pass on.
    Upstream,
    /// The gateway's own store failed (counted as the refusal `store_unavailable`).
    Store,
}

/// Why the gateway refused a request: the `reason` label of
/// `scimitar_rejected_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ShuttingDown,
    BadPath,
    Unauthorized,
    UnknownTenant,
    RateLimited,
    Concurrency,
    BodyTooLarge,
    SlowBody,
    Deadline,
    ResourceBusy,
    ScriptCallsBusy,
    /// The tenant's directory index cannot vouch for an answer until a pass completes.
    IndexRebuilding,
    /// The client's address is outside `server.allowed_networks` or the tenant's
    /// `auth.allowed_networks`.
    NetworkNotAllowed,
}

impl Reason {
    const ALL: [Reason; 13] = [
        Reason::ShuttingDown,
        Reason::BadPath,
        Reason::Unauthorized,
        Reason::UnknownTenant,
        Reason::RateLimited,
        Reason::Concurrency,
        Reason::BodyTooLarge,
        Reason::SlowBody,
        Reason::Deadline,
        Reason::ResourceBusy,
        Reason::ScriptCallsBusy,
        Reason::IndexRebuilding,
        Reason::NetworkNotAllowed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Reason::ShuttingDown => "shutting_down",
            Reason::BadPath => "bad_path",
            Reason::Unauthorized => "unauthorized",
            Reason::UnknownTenant => "unknown_tenant",
            Reason::RateLimited => "rate_limited",
            Reason::Concurrency => "concurrency",
            Reason::BodyTooLarge => "body_too_large",
            Reason::SlowBody => "slow_body",
            Reason::Deadline => "deadline",
            Reason::ResourceBusy => "resource_busy",
            Reason::ScriptCallsBusy => "script_calls_busy",
            Reason::IndexRebuilding => "index_rebuilding",
            Reason::NetworkNotAllowed => "network_not_allowed",
        }
    }

    fn from_label(label: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.label() == label)
    }
}

impl Kind {
    /// The kind's name, as the log line and a thrown error's `kind` say it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Refused(_) => "refused",
            Kind::Protocol => "protocol",
            Kind::Adapter => "adapter",
            Kind::ScriptFault => "script_fault",
            Kind::Upstream => "upstream",
            Kind::Store => "store",
        }
    }

    /// The kind a thrown error names (`kind`, and `reason` for a refusal); `None` for a
    /// name no kind has.
    pub fn from_name(name: &str, reason: Option<&str>) -> Option<Kind> {
        Some(match name {
            "refused" => Kind::Refused(Reason::from_label(reason?)?),
            "protocol" => Kind::Protocol,
            "adapter" => Kind::Adapter,
            "script_fault" => Kind::ScriptFault,
            "upstream" => Kind::Upstream,
            "store" => Kind::Store,
            _ => return None,
        })
    }
}

impl Failure {
    pub fn new(kind: Kind, error: ScimError) -> Self {
        Self { kind, error }
    }

    pub fn refused(reason: Reason, error: ScimError) -> Self {
        Self::new(Kind::Refused(reason), error)
    }

    pub fn adapter(error: ScimError) -> Self {
        Self::new(Kind::Adapter, error)
    }

    pub fn script_fault(error: ScimError) -> Self {
        Self::new(Kind::ScriptFault, error)
    }

    pub fn upstream(error: ScimError) -> Self {
        Self::new(Kind::Upstream, error)
    }

    /// The store is unavailable: SCIM 503, retried after a few seconds (a store coming
    /// back from a restart or a failover answers again by then).
    pub fn store_down() -> Self {
        Self::store_unavailable(5)
    }

    /// The store is unavailable: SCIM 503, retried after `retry_after` seconds.
    pub fn store_unavailable(retry_after: u64) -> Self {
        Self::new(
            Kind::Store,
            ScimError::unavailable(Some(retry_after), "the gateway's store is unavailable"),
        )
    }

    /// The request's deadline passed: SCIM 504, which Entra retries.
    pub fn deadline(detail: impl Into<String>) -> Self {
        Self::refused(Reason::Deadline, ScimError::new(504, None, detail))
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The SCIM error the client is answered.
    pub fn error(&self) -> &ScimError {
        &self.error
    }

    pub fn status(&self) -> u16 {
        self.error.status
    }

    pub fn into_error(self) -> ScimError {
        self.error
    }

    /// The `reason` of `scimitar_rejected_requests_total`, when the gateway refused.
    pub fn rejection(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Refused(reason) => Some(reason.label()),
            Kind::Store => Some("store_unavailable"),
            _ => None,
        }
    }
}

/// What the SCIM protocol core refuses is the client's request.
impl From<ScimError> for Failure {
    fn from(error: ScimError) -> Self {
        Self::new(Kind::Protocol, error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failure: {}", self.kind.name(), self.error)
    }
}

/// Carried through pingora's error as its cause, from a proxy phase to `fail_to_proxy`.
impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        let kinds = Reason::ALL.into_iter().map(Kind::Refused).chain([
            Kind::Protocol,
            Kind::Adapter,
            Kind::ScriptFault,
            Kind::Upstream,
            Kind::Store,
        ]);
        for kind in kinds {
            let reason = match kind {
                Kind::Refused(reason) => Some(reason.label()),
                _ => None,
            };
            assert_eq!(Kind::from_name(kind.name(), reason), Some(kind));
        }
        assert_eq!(Kind::from_name("refused", Some("no_such_reason")), None);
        assert_eq!(Kind::from_name("refused", None), None);
        assert_eq!(Kind::from_name("weather", None), None);
    }

    #[test]
    fn only_refusals_and_store_outages_have_a_rejection_reason() {
        let error = || ScimError::internal("x");
        assert_eq!(
            Failure::refused(Reason::ResourceBusy, error()).rejection(),
            Some("resource_busy")
        );
        assert_eq!(
            Failure::store_unavailable(5).rejection(),
            Some("store_unavailable")
        );
        assert_eq!(Failure::store_unavailable(5).status(), 503);
        assert_eq!(Failure::deadline("late").rejection(), Some("deadline"));
        assert_eq!(Failure::deadline("late").status(), 504);
        for failure in [
            Failure::from(error()),
            Failure::adapter(error()),
            Failure::script_fault(error()),
            Failure::upstream(error()),
        ] {
            assert_eq!(failure.rejection(), None);
        }
    }
}
