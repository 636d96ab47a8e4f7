//! The `/_testbed` control surface shared by every testbed, and the bookkeeping behind it:
//! pending faults and per-route request counts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::faults::{FaultQueue, FaultRequest};
use crate::seed::Seed;

/// What a testbed application provides to the shared plumbing besides its router.
pub(crate) trait Application: Send + Sync + 'static {
    /// The application's state as a JSON object, for `GET /_testbed/state`.
    fn snapshot(&self) -> Map<String, Value>;
    /// Forgets all data (users, groups, tokens...) but keeps the configuration.
    fn reset(&self);
    /// The application's own answer to an injected status fault (its error body shape).
    fn fault_response(&self, status: StatusCode) -> Response;
    /// Adds pre-existing accounts straight to the state (see [`crate::seed`]); answers how
    /// many of each the application now holds.
    fn seed(&self, seed: &Seed) -> Map<String, Value>;
}

/// Shared by the control routes, the request counter and the fault layer in `server`.
pub(crate) struct Control {
    pub app: Arc<dyn Application>,
    pub faults: FaultQueue,
    requests: Mutex<BTreeMap<String, u64>>,
}

impl Control {
    pub fn new(app: Arc<dyn Application>) -> Arc<Self> {
        Arc::new(Control {
            app,
            faults: FaultQueue::default(),
            requests: Mutex::default(),
        })
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state(&self) -> Value {
        let mut state = self.app.snapshot();
        state.insert("requests".into(), json!(*self.requests()));
        state.insert("faults".into(), json!(self.faults.pending()));
        state.insert("chaos".into(), self.faults.chaos());
        Value::Object(state)
    }
}

/// Wraps a testbed's native router: counts every request that reaches one of its routes, by
/// route template (`"PATCH /v1/users/{id}"`), so that tests can assert which calls were made.
/// Requests answered by an injected fault never reach the router and are not counted.
pub(crate) fn count_requests(native: Router, control: Arc<Control>) -> Router {
    native.route_layer(middleware::from_fn_with_state(control, count))
}

async fn count(State(control): State<Arc<Control>>, request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let key = format!("{} {}", request.method(), route.as_str());
        *control.requests().entry(key).or_default() += 1;
    }
    next.run(request).await
}

/// The `/_testbed/...` routes.
pub(crate) fn router(control: Arc<Control>) -> Router {
    Router::new()
        .route("/_testbed/state", get(state))
        .route("/_testbed/requests", get(requests))
        .route("/_testbed/reset", post(reset))
        .route("/_testbed/faults", post(add_fault).delete(clear_faults))
        .route("/_testbed/seed", post(seed))
        .with_state(control)
}

async fn state(State(control): State<Arc<Control>>) -> Json<Value> {
    Json(control.state())
}

/// Only the request counts (cheap at any directory size): `{"total": n, "by_route": {...}}`.
async fn requests(State(control): State<Arc<Control>>) -> Json<Value> {
    let by_route = control.requests().clone();
    let total: u64 = by_route.values().sum();
    Json(json!({ "total": total, "by_route": by_route }))
}

/// Answers the fresh state, so a caller sees what "reset" left behind (the configuration).
async fn reset(State(control): State<Arc<Control>>) -> Json<Value> {
    control.app.reset();
    control.requests().clear();
    control.faults.reset();
    Json(control.state())
}

/// Queues a fault (or turns chaos on) and answers everything pending; a fault that makes no
/// sense is a 400.
async fn add_fault(State(control): State<Arc<Control>>, body: axum::body::Bytes) -> Response {
    let added = FaultRequest::parse(&body).and_then(|request| match request {
        FaultRequest::Queued(fault) => {
            control.faults.push(fault);
            Ok(())
        }
        FaultRequest::Chaos { chaos } => control.faults.start_chaos(chaos),
    });
    match added {
        Ok(()) => {
            Json(json!({ "faults": control.faults.pending(), "chaos": control.faults.chaos() }))
                .into_response()
        }
        Err(message) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_fault", "message": message })),
        )
            .into_response(),
    }
}

/// Seeds the application (see [`crate::seed`]); a body that is not a seed is a 400.
async fn seed(State(control): State<Arc<Control>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Seed>(&body) {
        Ok(seed) => Json(Value::Object(control.app.seed(&seed))).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_seed", "message": e.to_string() })),
        )
            .into_response(),
    }
}

async fn clear_faults(State(control): State<Arc<Control>>) -> Json<Value> {
    control.faults.clear();
    Json(json!({ "faults": [] }))
}
