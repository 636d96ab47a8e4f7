//! Prometheus metrics. Every label set is bounded: tenants, resources, operations and status
//! codes come from small fixed sets; never an id, a user name or a raw path.

use prometheus::{
    register_gauge_vec, register_histogram_vec, register_int_counter, register_int_counter_vec,
    register_int_gauge, register_int_gauge_vec, GaugeVec, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec,
};
use std::sync::LazyLock;

/// Latency buckets from 1 ms to 60 s (Entra's own timeout).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

pub static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_requests_total",
        "SCIM requests answered, by tenant, resource, operation and HTTP status class (2xx, 4xx, …)",
        &["tenant", "resource", "operation", "status_class"]
    )
    .expect("metric registers once")
});

pub static REQUEST_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "scimitar_request_duration_seconds",
        "Time from request received to response written, by tenant, resource and operation",
        &["tenant", "resource", "operation"],
        BUCKETS.to_vec()
    )
    .expect("metric registers once")
});

pub static IN_FLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "scimitar_requests_in_flight",
        "SCIM requests being processed"
    )
    .expect("metric registers once")
});

pub static REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_rejected_requests_total",
        "Requests refused before reaching an adapter or target, by tenant and reason \
         (unauthorized, unknown_tenant, body_too_large, deadline)",
        &["tenant", "reason"]
    )
    .expect("metric registers once")
});

pub static AUTHENTICATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_authentications_total",
        "SCIM clients' credentials checked, by tenant, method (token, entra_jwt, access_token, \
         client_credentials) and result (accepted, or why not)",
        &["tenant", "method", "result"]
    )
    .expect("metric registers once")
});

pub static AUTH_KEY_FETCHES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_auth_key_fetches_total",
        "Fetches of a tenant's JWT signing keys (JWKS), by result (ok, failed)",
        &["tenant", "result"]
    )
    .expect("metric registers once")
});

pub static PROVISIONING_LOG_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "scimitar_provisioning_log_dropped_total",
        "Provisioning log entries lost (writer queue full or store unavailable)"
    )
    .expect("metric registers once")
});

pub static LOG_LINES_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "scimitar_log_lines_dropped_total",
        "The gateway's own log lines dropped because stderr could not take them fast enough"
    )
    .expect("metric registers once")
});

pub static CONFIG_RELOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_config_reloads_total",
        "Reloads of the configuration and adapter scripts, by result (success, failure)",
        &["result"]
    )
    .expect("metric registers once")
});

pub static TLS_RELOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_tls_certificate_reloads_total",
        "Rereads of a listener's certificate after its files changed, by listener (scim, admin) \
         and result (success, failure: the previous certificate stays in use)",
        &["listener", "result"]
    )
    .expect("metric registers once")
});

pub static BUILD_INFO: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "scimitar_build_info",
        "Always 1; the running version in a label",
        &["version"]
    )
    .expect("metric registers once")
});

pub static UPSTREAM_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_upstream_requests_total",
        "Calls to target applications, by tenant, target host, method and HTTP status \
         (\"error\" when no response arrived)",
        &["tenant", "host", "method", "status"]
    )
    .expect("metric registers once")
});

pub static UPSTREAM_REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_upstream_refused_total",
        "Calls to targets or their answers the gateway refused, by tenant and reason \
         (redirect, response_too_large, path_escape, host_not_allowed)",
        &["tenant", "reason"]
    )
    .expect("metric registers once")
});

/// Counts a call to a target, or its answer, that the gateway refused, by `reason`.
pub fn upstream_refused(tenant: &str, reason: &str) {
    UPSTREAM_REFUSED.with_label_values(&[tenant, reason]).inc();
}

pub static UPSTREAM_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "scimitar_upstream_request_duration_seconds",
        "Latency of calls to target applications, by tenant, target host and method",
        &["tenant", "host", "method"],
        BUCKETS.to_vec()
    )
    .expect("metric registers once")
});

pub static SCRIPT_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "scimitar_script_duration_seconds",
        "Run time of adapter script functions (upstream waits included), by tenant and function",
        &["tenant", "function"],
        BUCKETS.to_vec()
    )
    .expect("metric registers once")
});

pub static SCRIPT_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_script_errors_total",
        "Adapter script calls that ended in an error that is the script's own fault \
         (a bug or a sandbox limit, not a SCIM error it chose), by tenant and function",
        &["tenant", "function"]
    )
    .expect("metric registers once")
});

pub static INDEX_PAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_index_pass_pages_total",
        "Native list calls spent by passes over targets' directories, by tenant and kind",
        &["tenant", "kind"]
    )
    .expect("metric registers once")
});

pub static INDEX_RESOURCES: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "scimitar_index_resources",
        "Resources the last complete pass over a target's directory saw, by tenant and kind",
        &["tenant", "kind"]
    )
    .expect("metric registers once")
});

pub static INDEX_COMPLETE: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "scimitar_index_last_complete_timestamp_seconds",
        "When the last complete pass over a target's directory began (Unix time), by tenant \
         and kind: the index vouches for a \"not found\" up to fresh_secs after it",
        &["tenant", "kind"]
    )
    .expect("metric registers once")
});

pub static INDEX_LOOKUPS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scimitar_index_lookups_total",
        "Filters answered from a directory index, by tenant, kind and result (found, \
         not_found, rebuilt: a pass ran first)",
        &["tenant", "kind", "result"]
    )
    .expect("metric registers once")
});

/// Every metric in the Prometheus text format.
pub fn render() -> String {
    use prometheus::Encoder;
    let mut out = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    // The log writer counts on its own; the counter catches up with it at each scrape.
    let dropped = crate::logging::dropped_lines();
    LOG_LINES_DROPPED.inc_by(dropped.saturating_sub(LOG_LINES_DROPPED.get()));
    // Encoding into a Vec cannot fail for well-formed metrics.
    let _ = encoder.encode(&prometheus::gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Creates a tenant's refusal series at zero, so that `rate()` and `increase()` see even
/// the first burst of 401s after a start (Entra provisions in bursts).
pub fn register_tenant(tenant: &str) {
    for reason in ["unauthorized", "rate_limited", "concurrency"] {
        REJECTED.with_label_values(&[tenant, reason]);
    }
    for reason in [
        "redirect",
        "response_too_large",
        "path_escape",
        "host_not_allowed",
    ] {
        UPSTREAM_REFUSED.with_label_values(&[tenant, reason]);
    }
}

/// The label for an HTTP status: its class, which keeps the series few.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "none",
    }
}

/// Touches every metric so that `/metrics` lists them all from the first scrape on. (The
/// process collector — CPU, memory, file descriptors — comes with the default registry.)
pub fn init() {
    BUILD_INFO
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    LazyLock::force(&REJECTED);
    LazyLock::force(&PROVISIONING_LOG_DROPPED);
    LazyLock::force(&LOG_LINES_DROPPED);
    for result in ["success", "failure"] {
        CONFIG_RELOADS.with_label_values(&[result]);
    }
    LazyLock::force(&TLS_RELOADS);
    LazyLock::force(&REQUESTS);
    LazyLock::force(&REQUEST_DURATION);
    LazyLock::force(&IN_FLIGHT);
    LazyLock::force(&UPSTREAM_REQUESTS);
    LazyLock::force(&UPSTREAM_DURATION);
    LazyLock::force(&SCRIPT_DURATION);
    LazyLock::force(&SCRIPT_ERRORS);
    LazyLock::force(&INDEX_PAGES);
    LazyLock::force(&INDEX_RESOURCES);
    LazyLock::force(&INDEX_COMPLETE);
    LazyLock::force(&INDEX_LOOKUPS);
}
