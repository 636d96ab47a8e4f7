//! `/api/teams`: teams are names only; who belongs to one is on the employees.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::{ok, page, ApiError};
use super::{AcmeHr, Db};
use crate::extract::{JsonBody, Params};

#[derive(Clone, Serialize)]
pub(super) struct Team {
    pub id: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamBody {
    name: String,
}

/// `name`, unless another team than `id` has it (ignoring case) or it is empty.
fn free_name(db: &Db, id: &str, name: String) -> Result<String, ApiError> {
    if name.is_empty() {
        return Err(ApiError::invalid("name must not be empty"));
    }
    if db
        .teams
        .values()
        .any(|team| team.id != id && team.name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::duplicate("a team with this name exists"));
    }
    Ok(name)
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    name: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

pub(super) async fn list(
    State(acme): State<Arc<AcmeHr>>,
    Params(query): Params<ListQuery>,
) -> Result<Response, ApiError> {
    let db = acme.db();
    let matching = db.teams.values().filter(|team| {
        query
            .name
            .as_ref()
            .is_none_or(|name| team.name.eq_ignore_ascii_case(name))
    });
    let (teams, total) = page(matching, query.offset, query.limit)?;
    Ok(ok(json!({ "teams": teams, "total": total })))
}

pub(super) async fn get(
    State(acme): State<Arc<AcmeHr>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let db = acme.db();
    let team = db.teams.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(ok(json!(team)))
}

pub(super) async fn create(
    State(acme): State<Arc<AcmeHr>>,
    JsonBody(body): JsonBody<TeamBody>,
) -> Result<Response, ApiError> {
    let mut db = acme.db();
    let name = free_name(&db, "", body.name)?;
    let id = db.new_id('T');
    let team = Team {
        id: id.clone(),
        name,
    };
    let answer = json!(team);
    db.teams.insert(id, team);
    Ok(ok(answer))
}

/// `POST /api/teams/{id}`: a rename.
pub(super) async fn update(
    State(acme): State<Arc<AcmeHr>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TeamBody>,
) -> Result<Response, ApiError> {
    let mut db = acme.db();
    if !db.teams.contains(&id) {
        return Err(not_found(&id));
    }
    let name = free_name(&db, &id, body.name)?;
    let team = db.teams.get_mut(&id).ok_or_else(|| not_found(&id))?;
    team.name = name;
    Ok(ok(json!(team)))
}

/// Deletes the team and takes it off every employee.
pub(super) async fn delete(
    State(acme): State<Arc<AcmeHr>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut db = acme.db();
    db.teams.remove(&id).ok_or_else(|| not_found(&id))?;
    for employee in db.employees.values_mut() {
        employee.teams.retain(|team| *team != id);
    }
    Ok(ok(Value::Null))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("team {id} not found"))
}
