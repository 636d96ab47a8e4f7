//! Meta's own SCIM 2.0 endpoint, `/v1/scim/{idp_id}/...`: one base URL per IdP object (SCIM
//! integration), over the same users and groups as the native API. The gateway's proxy mode
//! fronts it, so it is as strict as the vendor, not as lenient as the gateway:
//!
//! - phone numbers must be E.164, given and family names are required, userNames and group
//!   displayNames are unique (ignoring case) — all judged by the native model (`model.rs`),
//!   answered as SCIM 400 `invalidValue` / 409 `uniqueness`;
//! - `emails` and the enterprise `manager` are not accepted (400 `invalidValue`);
//! - none of Entra's dialect is understood: PATCH op names are exactly `add`, `replace` or
//!   `remove` (else 400 `invalidSyntax`), `active` is a JSON boolean (else 400 `invalidValue`),
//!   a pathless PATCH value takes attribute names, not dotted or URN-qualified paths (else 400
//!   `invalidPath`) — see `patch.rs`;
//! - standard RFC 7644 is: PATCH paths with value filters, member removal by value list,
//!   `filter`, `startIndex`/`count`, `attributes`/`excludedAttributes`.
//!
//! Every route takes `Authorization: Bearer <token>` from `/v1/oauth/token` (401 otherwise),
//! and an IdP id the testbed was configured with (`Options::idp_ids`; 404 otherwise). Every
//! answer, errors included, is `application/scim+json`. Injected faults apply as to the
//! native routes.
//!
//! Choices where nothing public says: every IdP of the organisation sees all of its users and
//! groups (there is one organisation per testbed); an object created here records its IdP in
//! `idp_id` and gets `provisioned_by: "SCIM"`; attributes Meta has no field for (`externalId`,
//! `title`, addresses, other enterprise attributes...) are ignored, neither stored nor echoed;
//! `schemas` must name the core schema on POST and PUT (400 `invalidSyntax`); lists return at
//! most [`MAX_RESULTS`] resources per page.

mod discovery;
mod errors;
mod groups;
mod patch;
mod users;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use scimitar_scim::{list_response, page, project, ListQuery, ScimError};
use serde_json::{Map, Value};

use self::errors::{scim_json, Failure};
use super::Meta;
use crate::tokens;

/// Where the endpoint lives: `/v1/scim/{idp_id}`.
const PREFIX: &str = "/v1/scim/";

/// The most resources one list answer holds (`count` above it is capped), as advertised in
/// `/ServiceProviderConfig`.
const MAX_RESULTS: usize = 100;

/// The SCIM routes, behind the bearer-token and IdP checks, to merge into the native router.
pub(super) fn router(meta: Arc<Meta>) -> Router<Arc<Meta>> {
    Router::new()
        .route(
            "/v1/scim/{idp_id}/Users",
            get(users::list).post(users::create),
        )
        .route(
            "/v1/scim/{idp_id}/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route(
            "/v1/scim/{idp_id}/Groups",
            get(groups::list).post(groups::create),
        )
        .route(
            "/v1/scim/{idp_id}/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route(
            "/v1/scim/{idp_id}/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route(
            "/v1/scim/{idp_id}/ResourceTypes",
            get(discovery::resource_types),
        )
        .route(
            "/v1/scim/{idp_id}/ResourceTypes/{name}",
            get(discovery::resource_type),
        )
        .route("/v1/scim/{idp_id}/Schemas", get(discovery::schemas))
        .route("/v1/scim/{idp_id}/Schemas/{urn}", get(discovery::schema))
        .route("/v1/scim/{idp_id}/{*rest}", axum::routing::any(no_endpoint))
        .route_layer(middleware::from_fn_with_state(meta, guard))
}

/// A live bearer token (401), then a known IdP id (404), before the body is read. The token is
/// checked first so that IdP ids cannot be probed without credentials.
async fn guard(
    State(meta): State<Arc<Meta>>,
    request: Request,
    next: Next,
) -> Result<Response, Failure> {
    let live = tokens::bearer(request.headers()).map(|token| meta.db().tokens.check(token));
    match live {
        None => return Err(ScimError::unauthorized("missing bearer token").into()),
        Some(false) => {
            return Err(ScimError::unauthorized("the access token is invalid or expired").into())
        }
        Some(true) => {}
    }
    let idp_id = idp_of(request.uri().path()).unwrap_or_default();
    if !meta.options.idp_ids.iter().any(|known| known == idp_id) {
        return Err(ScimError::not_found(format!("IdP {idp_id} not found")).into());
    }
    Ok(next.run(request).await)
}

async fn no_endpoint() -> Failure {
    ScimError::not_found("no such SCIM endpoint").into()
}

/// The IdP id in `/v1/scim/{idp_id}/...`.
fn idp_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(PREFIX)?;
    Some(rest.split_once('/').map_or(rest, |(idp, _)| idp))
}

/// The IdP a request is for and the absolute base URL of its endpoint, for `Location` and
/// `meta.location` (built from the `Host` the client used).
struct Endpoint {
    pub idp_id: String,
    pub base: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Endpoint {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Failure> {
        let idp_id = idp_of(parts.uri.path())
            .ok_or_else(|| ScimError::not_found("no such SCIM endpoint"))?
            .to_owned();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        Ok(Endpoint {
            base: format!("http://{host}{PREFIX}{idp_id}"),
            idp_id,
        })
    }
}

/// The query of a GET: `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`
/// (400 `invalidFilter` / `invalidValue` when malformed).
fn list_query(raw: Option<&str>) -> Result<ListQuery, Failure> {
    Ok(ListQuery::from_query_string(raw.unwrap_or(""))?)
}

/// A ListResponse of the `resources` (in creation order) that pass the query's filter, one
/// page of them, projected.
fn list_answer(resources: Vec<Value>, query: &ListQuery) -> Response {
    let matching: Vec<Value> = resources
        .into_iter()
        .filter(|resource| query.filter.as_ref().is_none_or(|f| f.matches(resource)))
        .collect();
    let total = matching.len();
    let count = Some(query.capped_count(MAX_RESULTS));
    let shown = page(matching, query.start_index, count)
        .into_iter()
        .map(|resource| projected(resource, query))
        .collect();
    scim_json(
        StatusCode::OK,
        list_response(shown, total, query.start_index),
    )
}

/// `resource` with `attributes` / `excludedAttributes` applied.
fn projected(mut resource: Value, query: &ListQuery) -> Value {
    project(&mut resource, &query.attributes, &query.excluded_attributes);
    resource
}

/// 201 with `Location` and the new resource.
fn created(resource: Value) -> Response {
    let location = resource["meta"]["location"].as_str().map(str::to_owned);
    let mut response = scim_json(StatusCode::CREATED, resource);
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// 200 with the resource.
fn ok(resource: Value) -> Response {
    scim_json(StatusCode::OK, resource)
}

/// 204, for DELETE.
fn no_content() -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// A member of a SCIM object, by name ignoring case (attribute names are case-insensitive);
/// an explicit `null` counts as absent.
fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}

/// An optional string attribute: absent or `null` is `None`, anything but a string is a 400
/// `invalidValue`.
fn string_attr<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    shown_as: &str,
) -> Result<Option<&'a str>, Failure> {
    match member(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(ScimError::invalid_value(format!(
            "`{shown_as}` must be a string, not {other}"
        ))
        .into()),
    }
}

/// The request body as an object whose `schemas` name `core` (POST and PUT).
fn resource_object<'a>(body: &'a Value, core: &str) -> Result<&'a Map<String, Value>, Failure> {
    let Value::Object(object) = body else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object").into());
    };
    let names_core = member(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core)))
        });
    if !names_core {
        return Err(ScimError::invalid_syntax(format!("`schemas` must contain \"{core}\"")).into());
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idp_ids_come_from_the_path() {
        assert_eq!(idp_of("/v1/scim/idp-1/Users/x"), Some("idp-1"));
        assert_eq!(idp_of("/v1/scim/idp-1"), Some("idp-1"));
        assert_eq!(idp_of("/v1/users"), None);
    }
}
