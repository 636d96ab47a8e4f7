//! The Rhombus Systems testbed: RPC-style `POST /api/<service>/<method>` calls with API-key
//! headers, users and permission groups of one organisation, as described in `targets.md` §2.
//!
//! Choices where `targets.md` is silent:
//! - every RPC answer carries `"error":false` on success; domain failures are HTTP 200
//!   `{"error":true,"errorMsg":"..."}`; `createUser` failures carry both that and their
//!   `responseStatus` (`USER_EXISTS` for a duplicate email, ignoring case; `BAD_INPUT` for a
//!   blank name, an email without `@` or an unknown `permissionGroupUuid`), with `userUuid: null`;
//! - request bodies are strict: a body that is not a JSON object, a field of the wrong JSON
//!   type, an unknown field or an unknown `status` is the 400 `{"msg":...}`;
//! - `createUser` splits `name` at its first whitespace: `firstName` is the first word,
//!   `lastName` the rest (null when there is none); `name` on reads is `firstName lastName`;
//! - new users are `PENDING` (invited, not yet joined); `updateUserSelective` accepts
//!   `email, firstName, lastName, permissionGroupUuid, status`; only `firstName`/`lastName`
//!   may be cleared with null, a null elsewhere is a domain error; it answers `{"error":false}`;
//! - `deleteUser`/`updateUserSelective` of an unknown uuid: `errorMsg` `"User not found"`;
//! - a wrong or missing `x-auth-apikey`, or an `x-auth-scheme` other than `api-token`, is
//!   401 `{"error":true,"errorMsg":"Unauthorized"}`, checked before the rate limit;
//! - the rate limit counts every authenticated request; `POST /_testbed/reset` keeps the
//!   bucket's level and the seeded permission groups (they are configuration);
//! - injected status faults answer `{"error":true,"errorMsg":"<reason phrase>"}`, except
//!   429, which answers the rate limit's own text body.

mod api;
mod model;
mod users;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{json, Map, Value};

use self::model::{PermissionGroup, User};
use crate::control::Application;
use crate::seed::Seed;
use crate::store::Collection;
use crate::{random, server, Testbed};

/// How a Rhombus testbed is configured.
#[derive(Clone, Debug)]
pub struct Options {
    pub api_key: String,
    /// The organisation's token bucket; `None` turns rate limiting off.
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: `per_second` requests refill each second, up to `burst` at once.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    /// Rhombus's limit as `targets.md` fixes it: 20 requests per second, bursts of 50.
    fn default() -> Self {
        RateLimit {
            per_second: NonZeroU32::new(20).expect("not zero"),
            burst: NonZeroU32::new(50).expect("not zero"),
        }
    }
}

impl Default for Options {
    /// A fresh random API key and the default rate limit.
    fn default() -> Self {
        Options {
            api_key: random::alphanumeric(32),
            rate_limit: Some(RateLimit::default()),
        }
    }
}

/// Starts a Rhombus testbed on `bind` (`127.0.0.1:0` for a free port) on the current tokio
/// runtime. Its credentials are `{"api_key"}`.
pub async fn start(bind: SocketAddr, options: Options) -> std::io::Result<Testbed> {
    let credentials = json!({ "api_key": options.api_key });
    let rhombus = Arc::new(Rhombus {
        bucket: options.rate_limit.map(|limit| {
            RateLimiter::direct(Quota::per_second(limit.per_second).allow_burst(limit.burst))
        }),
        permission_groups: PermissionGroup::seeded(),
        options,
        db: Mutex::default(),
    });
    server::start(
        "rhombus",
        bind,
        router(rhombus.clone()),
        rhombus,
        credentials,
    )
    .await
}

fn router(rhombus: Arc<Rhombus>) -> Router {
    Router::new()
        .route("/api/user/getUsersInOrg", post(users::list))
        .route("/api/user/createUser", post(users::create))
        .route("/api/user/updateUserSelective", post(users::update))
        .route("/api/user/deleteUser", post(users::delete))
        .route("/api/user/findUserByEmail", post(users::find_by_email))
        .route(
            "/api/permission/getPermissionGroups",
            post(users::permission_groups),
        )
        // Outermost last: authenticate, then spend a token of the organisation's bucket.
        .route_layer(middleware::from_fn_with_state(
            rhombus.clone(),
            api::rate_limit,
        ))
        .route_layer(middleware::from_fn_with_state(
            rhombus.clone(),
            api::require_api_key,
        ))
        .fallback(api::unknown_method)
        .with_state(rhombus)
}

/// The testbed's configuration and data.
struct Rhombus {
    options: Options,
    /// The organisation's token bucket (one organisation per testbed).
    bucket: Option<DefaultDirectRateLimiter>,
    permission_groups: Vec<PermissionGroup>,
    db: Mutex<Db>,
}

/// Everything `POST /_testbed/reset` forgets.
#[derive(Default)]
struct Db {
    users: Collection<User>,
    /// Users seeded so far, so that a second seed numbers on.
    seeded: usize,
}

impl Rhombus {
    /// The data, locked; never held across an `.await`, and usable after a panic elsewhere.
    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Application for Rhombus {
    fn snapshot(&self) -> Map<String, Value> {
        let users: Vec<_> = self.db().users.values().cloned().collect();
        Map::from_iter([
            ("users".to_owned(), json!(users)),
            (
                "permission_groups".to_owned(),
                json!(self.permission_groups),
            ),
        ])
    }

    fn reset(&self) {
        *self.db() = Db::default();
    }

    /// Users (joined, in the `Member` permission group) only: Rhombus has no groups.
    fn seed(&self, seed: &Seed) -> Map<String, Value> {
        let member = self
            .permission_groups
            .iter()
            .find(|g| g.name == "Member")
            .map(|g| g.uuid.clone())
            .unwrap_or_default();
        let mut db = self.db();
        let first = db.seeded;
        for i in first..first + seed.users {
            let account = Seed::user(i);
            let name = format!("{} {}", account.given, account.family);
            let mut user = User::new(model::new_uuid(), account.email, &name, member.clone());
            user.status = model::Status::Joined;
            db.users.insert(user.uuid.clone(), user);
        }
        db.seeded = first + seed.users;
        Map::from_iter([("users".to_owned(), json!(db.users.len()))])
    }

    fn fault_response(&self, status: StatusCode) -> Response {
        api::status_response(status)
    }
}
