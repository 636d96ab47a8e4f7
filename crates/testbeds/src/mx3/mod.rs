//! The MX3 Diagnostics testbed: users with tags under `/v1`, several organisations each
//! behind its own API key, as described in `targets.md` §3.
//!
//! Choices where `targets.md` is silent:
//! - a write is checked whole before anything changes: one bad item of a `POST /v1/users`
//!   array fails the request (the first failure's status and message) and writes nothing;
//! - a user object is `{user_id, email, name_first, name_last, external_id, active, tags}`;
//!   fields left out of an update are untouched, `null` clears `name_first`, `name_last`,
//!   `external_id` and `tags`; `email` (required on create, must hold `@`) and `active`
//!   (default true) cannot be null; unknown fields and wrong JSON types are 400s;
//! - emails are unique per organisation ignoring case (409); tags are kept in the order given,
//!   without duplicates, and compared exactly (`?tag=` too); `GET /v1/tags` answers
//!   `[{"name","count"}]` sorted by name;
//! - `POST /v1/users/{id}` answers the updated user, `DELETE` answers `{"user_id"}`;
//! - another organisation's user is a 404, exactly like an unknown id;
//! - injected status faults answer `{"status":false,"error":"<reason phrase>"}`.

mod api;
mod users;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use self::users::User;
use crate::control::Application;
use crate::seed::Seed;
use crate::store::Collection;
use crate::{random, server, Testbed};

/// One customer of MX3: its API key opens its users and no one else's.
#[derive(Clone, Debug)]
pub struct Organisation {
    pub name: String,
    pub api_key: String,
}

/// How an MX3 testbed is configured.
#[derive(Clone, Debug)]
pub struct Options {
    pub organisations: Vec<Organisation>,
}

impl Default for Options {
    /// Two organisations with fresh random API keys: MX3's one SCIM URL serves several.
    fn default() -> Self {
        let organisation = |name: &str| Organisation {
            name: name.into(),
            api_key: random::alphanumeric(40),
        };
        Options {
            organisations: vec![organisation("org-1"), organisation("org-2")],
        }
    }
}

/// Starts an MX3 testbed on `bind` (`127.0.0.1:0` for a free port) on the current tokio
/// runtime. Its credentials are `{"api_key"}` of the first organisation, plus
/// `"organisations": [{"name","api_key"}, ...]` describing them all.
pub async fn start(bind: SocketAddr, options: Options) -> std::io::Result<Testbed> {
    let organisations: Vec<_> = options
        .organisations
        .iter()
        .map(|o| json!({ "name": o.name, "api_key": o.api_key }))
        .collect();
    let credentials = json!({
        "api_key": options.organisations.first().map(|o| o.api_key.as_str()),
        "organisations": organisations,
    });
    let mx3 = Arc::new(Mx3 {
        db: Mutex::new(Db::new(options.organisations.len())),
        options,
    });
    server::start("mx3", bind, router(mx3.clone()), mx3, credentials).await
}

fn router(mx3: Arc<Mx3>) -> Router {
    Router::new()
        .route("/v1/users", get(users::list).post(users::write_many))
        .route(
            "/v1/users/{id}",
            get(users::get).post(users::write_one).delete(users::delete),
        )
        .route("/v1/tags", get(users::tags))
        .route_layer(middleware::from_fn_with_state(
            mx3.clone(),
            api::require_token,
        ))
        .fallback(api::unknown_route)
        .with_state(mx3)
}

/// The testbed's configuration and data.
struct Mx3 {
    options: Options,
    db: Mutex<Db>,
}

/// Everything `POST /_testbed/reset` forgets: each organisation's users, in the order of
/// `Options::organisations`.
struct Db {
    organisations: Vec<Collection<User>>,
    /// Users and tags seeded so far (into the first organisation), so that a second seed
    /// numbers on.
    seeded: (usize, usize),
}

impl Db {
    fn new(organisations: usize) -> Self {
        Db {
            organisations: (0..organisations).map(|_| Collection::default()).collect(),
            seeded: (0, 0),
        }
    }
}

impl Mx3 {
    /// The data, locked; never held across an `.await`, and usable after a panic elsewhere.
    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Application for Mx3 {
    fn snapshot(&self) -> Map<String, Value> {
        let db = self.db();
        let organisations: Vec<_> = self
            .options
            .organisations
            .iter()
            .zip(&db.organisations)
            .map(|(org, users)| {
                json!({ "name": org.name, "users": users.values().collect::<Vec<_>>() })
            })
            .collect();
        Map::from_iter([("organisations".to_owned(), json!(organisations))])
    }

    fn reset(&self) {
        *self.db() = Db::new(self.options.organisations.len());
    }

    /// Into the first organisation; a group is a tag its members carry (MX3 has no groups),
    /// so the seeded groups exist as tags only.
    fn seed(&self, seed: &Seed) -> Map<String, Value> {
        let mut db = self.db();
        let (first_user, first_group) = db.seeded;
        let mut tags: Vec<Vec<String>> = vec![Vec::new(); seed.users];
        for (name, members) in seed.groups(first_group) {
            for member in members {
                tags[member].push(name.clone());
            }
        }
        let Some(users) = db.organisations.first_mut() else {
            return Map::new();
        };
        for (i, tags) in (first_user..first_user + seed.users).zip(tags) {
            let user = User::seeded(Seed::user(i), tags);
            users.insert(user.id().to_owned(), user);
        }
        let count = users.len();
        db.seeded = (first_user + seed.users, first_group + seed.groups);
        Map::from_iter([("users".to_owned(), json!(count))])
    }

    fn fault_response(&self, status: StatusCode) -> Response {
        api::ApiError::new(status, status.canonical_reason().unwrap_or("Error")).into_response()
    }
}
