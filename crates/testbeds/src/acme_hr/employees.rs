//! `/api/employees`: employees, with their team memberships and a write-only password.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::api::{ok, page, ApiError};
use super::{AcmeHr, Db};
use crate::extract::{JsonBody, Params};
use crate::random;
use crate::seed::SeedUser;

const ACTIVE: &str = "active";
const INACTIVE: &str = "inactive";

#[derive(Clone, Serialize)]
pub(super) struct Employee {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    /// `"active"` or `"inactive"`.
    pub status: String,
    /// Ids of the teams the employee belongs to: membership lives here, not on the team.
    pub teams: Vec<String>,
    #[serde(skip)]
    password: String,
}

impl Employee {
    pub fn seeded(id: &str, account: &SeedUser) -> Self {
        Employee {
            id: id.to_owned(),
            email: account.email.clone(),
            first_name: Some(account.given.to_owned()),
            last_name: Some(account.family.clone()),
            title: None,
            department: None,
            status: ACTIVE.into(),
            teams: Vec::new(),
            password: random::alphanumeric(16),
        }
    }

    /// For `/_testbed/state`: what the API answers, and whether a password is set.
    pub fn snapshot(&self) -> Value {
        let mut value = json!(self);
        value["has_password"] = json!(!self.password.is_empty());
        value
    }

    /// Writes the fields of a create or update body.
    fn write(&mut self, body: Map<String, Value>, db: &Db) -> Result<(), ApiError> {
        for (field, value) in body {
            match field.as_str() {
                "email" => match value {
                    Value::String(email) if !email.is_empty() => self.email = email,
                    _ => return Err(ApiError::invalid("email must be a non-empty string")),
                },
                "first_name" => self.first_name = optional_text(&field, value)?,
                "last_name" => self.last_name = optional_text(&field, value)?,
                "title" => self.title = optional_text(&field, value)?,
                "department" => self.department = optional_text(&field, value)?,
                "status" => match value {
                    Value::String(status) if status == ACTIVE || status == INACTIVE => {
                        self.status = status
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            "status must be \"active\" or \"inactive\"",
                        ))
                    }
                },
                "teams" => self.teams = team_ids(value, db)?,
                "password" => match value {
                    Value::String(password) if password.chars().count() >= 12 => {
                        self.password = password
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            "password must be a string of at least 12 characters",
                        ))
                    }
                },
                "id" => return Err(ApiError::invalid("id cannot be written")),
                other => return Err(ApiError::invalid(format!("unknown field '{other}'"))),
            }
        }
        Ok(())
    }
}

fn optional_text(field: &str, value: Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        _ => Err(ApiError::invalid(format!(
            "{field} must be a string or null"
        ))),
    }
}

fn team_ids(value: Value, db: &Db) -> Result<Vec<String>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::invalid("teams must be a list of team ids"));
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(id) = item else {
            return Err(ApiError::invalid("teams must be a list of team ids"));
        };
        if !db.teams.contains(&id) {
            return Err(ApiError::invalid(format!("unknown team '{id}'")));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid("the body must be a JSON object")),
    }
}

/// Refuses `employee`'s e-mail when another employee has it, ignoring case.
fn unique_email(db: &Db, employee: &Employee) -> Result<(), ApiError> {
    let taken = db
        .employees
        .values()
        .any(|other| other.id != employee.id && other.email.eq_ignore_ascii_case(&employee.email));
    if taken {
        return Err(ApiError::duplicate("email already in use"));
    }
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    email: Option<String>,
    team: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

pub(super) async fn list(
    State(acme): State<Arc<AcmeHr>>,
    Params(query): Params<ListQuery>,
) -> Result<Response, ApiError> {
    let db = acme.db();
    let matching = db.employees.values().filter(|employee| {
        query
            .email
            .as_ref()
            .is_none_or(|email| employee.email.eq_ignore_ascii_case(email))
            && query
                .team
                .as_ref()
                .is_none_or(|team| employee.teams.contains(team))
    });
    let (employees, total) = page(matching, query.offset, query.limit)?;
    Ok(ok(json!({ "employees": employees, "total": total })))
}

pub(super) async fn get(
    State(acme): State<Arc<AcmeHr>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let db = acme.db();
    let employee = db.employees.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(ok(json!(employee)))
}

pub(super) async fn create(
    State(acme): State<Arc<AcmeHr>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let mut db = acme.db();
    let mut employee = Employee {
        id: String::new(),
        email: String::new(),
        first_name: None,
        last_name: None,
        title: None,
        department: None,
        status: ACTIVE.into(),
        teams: Vec::new(),
        password: String::new(),
    };
    employee.write(object(body)?, &db)?;
    if employee.email.is_empty() {
        return Err(ApiError::invalid("email is required"));
    }
    if employee.password.is_empty() {
        return Err(ApiError::invalid("password is required"));
    }
    unique_email(&db, &employee)?;
    employee.id = db.new_id('E');
    let answer = json!(employee);
    db.employees.insert(employee.id.clone(), employee);
    Ok(ok(answer))
}

/// `POST /api/employees/{id}`: the fields the body names change, the others stay.
pub(super) async fn update(
    State(acme): State<Arc<AcmeHr>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let mut db = acme.db();
    let mut employee = db.employees.get(&id).ok_or_else(|| not_found(&id))?.clone();
    employee.write(object(body)?, &db)?;
    unique_email(&db, &employee)?;
    let answer = json!(employee);
    if let Some(stored) = db.employees.get_mut(&id) {
        *stored = employee;
    }
    Ok(ok(answer))
}

pub(super) async fn delete(
    State(acme): State<Arc<AcmeHr>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    acme.db()
        .employees
        .remove(&id)
        .ok_or_else(|| not_found(&id))?;
    Ok(ok(Value::Null))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("employee {id} not found"))
}
