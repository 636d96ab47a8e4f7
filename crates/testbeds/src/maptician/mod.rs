//! The Maptician testbed: a bearer API token, the bulk occupant endpoint and the occupant
//! reads, as described in `targets.md` §5.
//!
//! Choices where `targets.md` is silent:
//! - an item with a `userID` is matched by it alone; one without, by `email` (ignoring case);
//!   soft-deleted occupants match nothing, so an email can be used again after a delete;
//! - `create` with a `userID` is an error (Maptician assigns it), and so is `upsert` with a
//!   `userID` that matches nothing; `delete` needs a match; an unknown `action` is an error;
//! - item errors are `occupant already exists`, `occupant not found`, `email already in use`,
//!   `email is required`, `unknown field '<name>'`, `'<name>' must be a string|boolean`;
//!   `deleted` and `userID` in an item are not written; `active` defaults to true, and
//!   `active: null` puts it back to true;
//! - a body that is not a JSON array is a 400 `{"detail"}`;
//! - occupants list in creation order; `page` counts from 1, `pageSize` defaults to 100 and
//!   must be 1 to 500; `GET /ext/v1/occupants/{userID}/` hides soft-deleted occupants unless
//!   `includeDeleted=true`;
//! - injected 429s always carry `Retry-After` (1 s unless the fault says otherwise); injected
//!   status faults answer `{"detail":"<reason phrase>"}`.

mod api;
mod model;
mod occupants;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use self::api::ApiError;
use self::model::Occupant;
use crate::control::Application;
use crate::seed::Seed;
use crate::store::Collection;
use crate::{random, server, Testbed};

/// How a Maptician testbed is configured.
#[derive(Clone, Debug)]
pub struct Options {
    /// The API token clients send as `Authorization: Bearer <api token>`.
    pub api_token: String,
}

impl Default for Options {
    /// A fresh random token, so that no test relies on a well-known secret.
    fn default() -> Self {
        Options {
            api_token: random::alphanumeric(40),
        }
    }
}

/// Starts a Maptician testbed on `bind` (`127.0.0.1:0` for a free port) on the current tokio
/// runtime. Its credentials are `{"api_token"}`.
pub async fn start(bind: SocketAddr, options: Options) -> std::io::Result<Testbed> {
    let credentials = json!({ "api_token": options.api_token });
    let maptician = Arc::new(Maptician {
        options,
        db: Mutex::default(),
    });
    server::start(
        "maptician",
        bind,
        router(maptician.clone()),
        maptician,
        credentials,
    )
    .await
}

fn router(maptician: Arc<Maptician>) -> Router {
    Router::new()
        .route("/json/occupants/", post(occupants::bulk))
        .route("/ext/v1/occupants/global/", get(occupants::list))
        .route("/ext/v1/occupants/{user_id}/", get(occupants::get))
        .route_layer(middleware::from_fn_with_state(
            maptician.clone(),
            api::require_token,
        ))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not found.") })
        .with_state(maptician)
}

/// The testbed's configuration and data.
struct Maptician {
    options: Options,
    db: Mutex<Db>,
}

/// Everything `POST /_testbed/reset` forgets.
#[derive(Default)]
struct Db {
    /// Keyed by `userID`, soft-deleted ones included.
    occupants: Collection<Occupant>,
    /// Occupants seeded so far, so that a second seed numbers on.
    seeded: usize,
}

impl Maptician {
    /// The data, locked. Handlers never hold it across an `.await`; a panic while holding it
    /// fails one test request, so a poisoned lock is still used.
    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Application for Maptician {
    fn snapshot(&self) -> Map<String, Value> {
        let db = self.db();
        let occupants: Vec<_> = db.occupants.values().collect();
        Map::from_iter([("occupants".to_owned(), json!(occupants))])
    }

    fn reset(&self) {
        *self.db() = Db::default();
    }

    /// Occupants only: Maptician has no groups.
    fn seed(&self, seed: &Seed) -> Map<String, Value> {
        let mut db = self.db();
        let first = db.seeded;
        for i in first..first + seed.users {
            let account = Seed::user(i);
            let mut fields = model::blank();
            fields.insert("email".into(), json!(account.email));
            fields.insert("firstName".into(), json!(account.given));
            fields.insert("lastName".into(), json!(account.family));
            fields.insert("externalId".into(), json!(account.external_id));
            let user_id = random::uuid_v4();
            let occupant = Occupant {
                user_id: user_id.clone(),
                fields,
                deleted: false,
            };
            db.occupants.insert(user_id, occupant);
        }
        db.seeded = first + seed.users;
        Map::from_iter([("occupants".to_owned(), json!(db.occupants.len()))])
    }

    fn fault_response(&self, status: StatusCode) -> Response {
        let mut response =
            ApiError::new(status, status.canonical_reason().unwrap_or("Error")).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The fault layer replaces this when the fault names its own Retry-After.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        response
    }
}
