//! Injected faults: what `POST /_testbed/faults` accepts, and the queue that hands them out one
//! native request at a time.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// What happens to a request once its fault's delay (if any) has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Perform the request normally (a pure delay fault).
    Forward,
    /// Answer this status with the testbed's own error body, without performing the request.
    Respond {
        status: StatusCode,
        retry_after: Option<u64>,
    },
    /// Close the connection without answering.
    Drop,
    /// Answer a redirect (3xx with `Location`) without performing the request: a target
    /// sending its clients elsewhere.
    Redirect {
        status: StatusCode,
        location: String,
    },
    /// Answer 200 with a JSON body of this many bytes, streamed, without performing the
    /// request: a target answering far more than any page.
    Oversize { bytes: u64 },
}

/// One queued fault, applied to the next `remaining` native requests.
///
/// The wire form is the one in `targets.md`: `{"status":503,"count":3}`,
/// `{"status":429,"retry_after":2,"count":5}`, `{"delay_ms":2000,"count":1}`,
/// `{"drop":true,"count":1}`, `{"redirect":"http://elsewhere/x","status":307}` (307 unless
/// said), `{"body_bytes":100000000}`. `delay_ms` may also accompany the others (wait, then fail),
/// because a slow failure is a realistic case that costs nothing to allow. `count` defaults to 1.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(try_from = "FaultSpec", into = "FaultSpec")]
pub(crate) struct Fault {
    pub delay: Duration,
    pub outcome: Outcome,
    remaining: u32,
}

/// The JSON shape of a [`Fault`], validated on the way in.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    drop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_bytes: Option<u64>,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

impl TryFrom<FaultSpec> for Fault {
    type Error = String;

    fn try_from(spec: FaultSpec) -> Result<Self, String> {
        if spec.count == 0 {
            return Err("count must be at least 1".into());
        }
        if spec.retry_after.is_some() && spec.status.is_none() {
            return Err("retry_after needs a status".into());
        }
        let answers = [
            spec.drop,
            spec.redirect.is_some(),
            spec.body_bytes.is_some(),
        ];
        if answers.iter().filter(|a| **a).count() > 1 {
            return Err("a fault has one of drop, redirect and body_bytes".into());
        }
        if let Some(location) = spec.redirect {
            let code = spec.status.unwrap_or(307);
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_redirection())
                .ok_or_else(|| format!("status {code} is not a 3xx status"))?;
            return Ok(Fault {
                delay: Duration::from_millis(spec.delay_ms.unwrap_or(0)),
                outcome: Outcome::Redirect { status, location },
                remaining: spec.count,
            });
        }
        if let Some(bytes) = spec.body_bytes {
            if spec.status.is_some() {
                return Err("body_bytes answers 200; it takes no status".into());
            }
            return Ok(Fault {
                delay: Duration::from_millis(spec.delay_ms.unwrap_or(0)),
                outcome: Outcome::Oversize { bytes },
                remaining: spec.count,
            });
        }
        let outcome = match (spec.status, spec.drop) {
            (Some(_), true) => return Err("a fault cannot both answer a status and drop".into()),
            (Some(code), false) => Outcome::Respond {
                status: StatusCode::from_u16(code)
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .ok_or_else(|| format!("status {code} is not a 4xx or 5xx status"))?,
                retry_after: spec.retry_after,
            },
            (None, true) => Outcome::Drop,
            (None, false) if spec.delay_ms.is_some() => Outcome::Forward,
            (None, false) => return Err("a fault needs status, delay_ms or drop".into()),
        };
        Ok(Fault {
            delay: Duration::from_millis(spec.delay_ms.unwrap_or(0)),
            outcome,
            remaining: spec.count,
        })
    }
}

impl From<Fault> for FaultSpec {
    fn from(fault: Fault) -> Self {
        let (mut status, mut retry_after, mut redirect, mut body_bytes) = (None, None, None, None);
        match &fault.outcome {
            Outcome::Respond {
                status: code,
                retry_after: after,
            } => (status, retry_after) = (Some(code.as_u16()), *after),
            Outcome::Redirect {
                status: code,
                location,
            } => (status, redirect) = (Some(code.as_u16()), Some(location.clone())),
            Outcome::Oversize { bytes } => body_bytes = Some(*bytes),
            Outcome::Forward | Outcome::Drop => {}
        }
        FaultSpec {
            status,
            retry_after,
            delay_ms: (!fault.delay.is_zero()).then_some(fault.delay.as_millis() as u64),
            drop: fault.outcome == Outcome::Drop,
            redirect,
            body_bytes,
            count: fault.remaining,
        }
    }
}

/// Random faults, for soak runs: `{"chaos": {"probability": 0.1, "max_delay_ms": 500}}`
/// makes each native request, with that probability, meet one of a 503, a 429 with
/// `Retry-After: 1`, a delay of up to `max_delay_ms` (then the request is performed), or a
/// dropped connection — each as likely as the others, and each before the request is
/// performed, so that a failed answer always means nothing was done.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Chaos {
    probability: f64,
    #[serde(default = "default_max_delay_ms")]
    max_delay_ms: u64,
}

fn default_max_delay_ms() -> u64 {
    500
}

/// What `POST /_testbed/faults` takes: one fault for the next requests, or chaos.
pub(crate) enum FaultRequest {
    Chaos { chaos: Chaos },
    Queued(Fault),
}

impl FaultRequest {
    /// Reads a request body, with the error of whichever form it is meant as.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ChaosBody {
            chaos: Chaos,
        }
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if value.get("chaos").is_some() {
            let ChaosBody { chaos } = serde_json::from_value(value).map_err(|e| e.to_string())?;
            Ok(FaultRequest::Chaos { chaos })
        } else {
            serde_json::from_value(value)
                .map(FaultRequest::Queued)
                .map_err(|e| e.to_string())
        }
    }
}

/// How many faults chaos injected, by kind, for `/_testbed/state`.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Injected {
    status_503: u64,
    status_429: u64,
    delay: u64,
    drop: u64,
}

#[derive(Default)]
struct Faults {
    queue: VecDeque<Fault>,
    chaos: Option<Chaos>,
    injected: Injected,
}

/// Pending faults in the order they were posted — the front fault serves its `count`
/// requests before the next one starts — and, when nothing is queued, chaos if it is on.
#[derive(Default)]
pub(crate) struct FaultQueue(Mutex<Faults>);

impl FaultQueue {
    pub fn push(&self, fault: Fault) {
        self.lock().queue.push_back(fault);
    }

    /// Turns chaos on (it stays on until the faults are cleared).
    pub fn start_chaos(&self, chaos: Chaos) -> Result<(), String> {
        if !(0.0..=1.0).contains(&chaos.probability) {
            return Err("chaos.probability must be between 0 and 1".into());
        }
        self.lock().chaos = Some(chaos);
        Ok(())
    }

    /// Forgets what is queued and stops chaos.
    pub fn clear(&self) {
        let mut faults = self.lock();
        faults.queue.clear();
        faults.chaos = None;
    }

    /// Forgets everything, the counts of injected faults too.
    pub fn reset(&self) {
        *self.lock() = Faults::default();
    }

    /// The fault for the request now arriving, if any, counting it down.
    pub fn next(&self) -> Option<Fault> {
        let mut faults = self.lock();
        if let Some(front) = faults.queue.front_mut() {
            front.remaining -= 1;
            let fault = front.clone();
            if front.remaining == 0 {
                faults.queue.pop_front();
            }
            return Some(fault);
        }
        let chaos = faults.chaos.clone()?;
        let mut rng = rand::thread_rng();
        if !rng.gen_bool(chaos.probability) {
            return None;
        }
        let (outcome, delay) = match rng.gen_range(0..4) {
            0 => {
                faults.injected.status_503 += 1;
                (respond(StatusCode::SERVICE_UNAVAILABLE, None), 0)
            }
            1 => {
                faults.injected.status_429 += 1;
                (respond(StatusCode::TOO_MANY_REQUESTS, Some(1)), 0)
            }
            2 => {
                faults.injected.delay += 1;
                (Outcome::Forward, rng.gen_range(0..=chaos.max_delay_ms))
            }
            _ => {
                faults.injected.drop += 1;
                (Outcome::Drop, 0)
            }
        };
        Some(Fault {
            delay: Duration::from_millis(delay),
            outcome,
            remaining: 1,
        })
    }

    /// What is still pending, in wire form.
    pub fn pending(&self) -> Vec<Fault> {
        self.lock().queue.iter().cloned().collect()
    }

    /// Chaos (if on) and what it injected so far.
    pub fn chaos(&self) -> serde_json::Value {
        let faults = self.lock();
        serde_json::json!({ "settings": faults.chaos, "injected": faults.injected })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        // A panic elsewhere cannot leave the queue half-updated, so a poisoned lock is usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn respond(status: StatusCode, retry_after: Option<u64>) -> Outcome {
    Outcome::Respond {
        status,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Fault, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn parses_every_documented_form() {
        let status = parse(r#"{"status":429,"retry_after":2,"count":5}"#).unwrap();
        assert_eq!(
            status.outcome,
            Outcome::Respond {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(2)
            }
        );
        assert_eq!(status.remaining, 5);
        let delay = parse(r#"{"delay_ms":2000}"#).unwrap();
        assert_eq!(
            (delay.outcome, delay.delay, delay.remaining),
            (Outcome::Forward, Duration::from_secs(2), 1)
        );
        assert_eq!(
            parse(r#"{"drop":true,"count":1}"#).unwrap().outcome,
            Outcome::Drop
        );
    }

    #[test]
    fn parses_hostile_answers() {
        let redirect = parse(r#"{"redirect":"http://elsewhere/x"}"#).unwrap();
        assert_eq!(
            redirect.outcome,
            Outcome::Redirect {
                status: StatusCode::TEMPORARY_REDIRECT,
                location: "http://elsewhere/x".into()
            }
        );
        let permanent = parse(r#"{"redirect":"/x","status":308,"count":2}"#).unwrap();
        assert_eq!(
            (
                permanent.remaining,
                serde_json::to_value(&permanent).unwrap()["status"].clone()
            ),
            (2, serde_json::json!(308))
        );
        assert_eq!(
            parse(r#"{"body_bytes":1000}"#).unwrap().outcome,
            Outcome::Oversize { bytes: 1000 }
        );
    }

    #[test]
    fn rejects_meaningless_faults() {
        for bad in [
            r#"{}"#,
            r#"{"count":2}"#,
            r#"{"status":200}"#,
            r#"{"status":503,"drop":true}"#,
            r#"{"retry_after":1,"drop":true}"#,
            r#"{"status":503,"count":0}"#,
            r#"{"status":503,"bogus":1}"#,
            r#"{"redirect":"http://x/","status":503}"#,
            r#"{"redirect":"http://x/","drop":true}"#,
            r#"{"body_bytes":10,"status":200}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn chaos_injects_at_its_rate_and_counts_what_it_did() {
        let queue = FaultQueue::default();
        let chaos = FaultRequest::parse(br#"{"chaos":{"probability":0.5,"max_delay_ms":10}}"#);
        let Ok(FaultRequest::Chaos { chaos }) = chaos else {
            panic!("not read as chaos");
        };
        queue.start_chaos(chaos).unwrap();
        let faults = (0..2000).filter_map(|_| queue.next()).count();
        assert!((800..1200).contains(&faults), "{faults} of 2000");
        let injected = &queue.chaos()["injected"];
        let counted: u64 = ["status_503", "status_429", "delay", "drop"]
            .iter()
            .map(|k| injected[k].as_u64().unwrap())
            .sum();
        assert_eq!(counted, faults as u64);
        queue.clear();
        assert!(queue.next().is_none(), "clearing stops chaos");
        assert!(queue
            .start_chaos(Chaos {
                probability: 2.0,
                max_delay_ms: 1
            })
            .is_err());
    }

    #[test]
    fn queue_counts_down_in_order_and_round_trips() {
        let queue = FaultQueue::default();
        queue.push(parse(r#"{"status":503,"count":2}"#).unwrap());
        queue.push(parse(r#"{"drop":true}"#).unwrap());
        assert_eq!(
            serde_json::to_value(queue.pending()).unwrap(),
            serde_json::json!([{"status":503,"count":2},{"drop":true,"count":1}])
        );
        let outcomes: Vec<_> = std::iter::from_fn(|| queue.next())
            .map(|f| f.outcome)
            .collect();
        let unavailable = Outcome::Respond {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
        };
        assert_eq!(outcomes, [unavailable.clone(), unavailable, Outcome::Drop]);
    }
}
