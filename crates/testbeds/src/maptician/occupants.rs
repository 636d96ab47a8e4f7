//! The bulk occupant endpoint `POST /json/occupants/`, and the reads under `/ext/v1/`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::ApiError;
use super::model::{blank, email, merged, Fields, Occupant};
use super::{Db, Maptician};
use crate::extract::{JsonBody, Params};
use crate::random;

/// What a bulk item asks for.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    Create,
    Update,
    Upsert,
    Delete,
}

impl Action {
    fn parse(value: Option<Value>) -> Result<Action, String> {
        match value {
            None | Some(Value::Null) => Ok(Action::Upsert),
            Some(Value::String(name)) => match name.as_str() {
                "create" => Ok(Action::Create),
                "update" => Ok(Action::Update),
                "upsert" => Ok(Action::Upsert),
                "delete" => Ok(Action::Delete),
                other => Err(format!("unknown action '{other}'")),
            },
            Some(_) => Err("'action' must be a string".into()),
        }
    }
}

/// `POST /json/occupants/` with an array of occupants: each item is applied on its own, in
/// order, and gets its own result; the answer is 200 even when items fail.
pub(super) async fn bulk(
    State(maptician): State<Arc<Maptician>>,
    JsonBody(items): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let Value::Array(items) = items else {
        return Err(ApiError::bad_request("Expected a list of items."));
    };
    let mut db = maptician.db();
    let results: Vec<Value> = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| apply(&mut db, index, item))
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// One item's result: `{"index","action","userID","status","error"}`.
fn apply(db: &mut Db, index: usize, item: Value) -> Value {
    let Value::Object(mut fields) = item else {
        return result(
            index,
            "upsert",
            None,
            Err("an item must be an object".into()),
        );
    };
    let action = Action::parse(fields.remove("action"));
    let name = match &action {
        Ok(Action::Create) => "create",
        Ok(Action::Update) => "update",
        Ok(Action::Delete) => "delete",
        Ok(Action::Upsert) | Err(_) => "upsert",
    };
    // `deleted` is Maptician's to set; ignored like any read-only field sent back.
    fields.remove("deleted");
    let user_id = match fields.remove("userID") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => return result(index, name, None, Err("'userID' must be a string".into())),
    };
    let outcome = action.and_then(|action| perform(db, action, user_id.as_deref(), fields));
    let reported = match &outcome {
        Ok(id) => Some(id.clone()),
        // A failed item reports the occupant it named, if that one exists.
        Err(_) => user_id.filter(|id| db.occupants.contains(id)),
    };
    result(index, name, reported, outcome.map(|_| ()))
}

/// Applies one item's action; answers the occupant's `userID`.
fn perform(
    db: &mut Db,
    action: Action,
    user_id: Option<&str>,
    fields: Fields,
) -> Result<String, String> {
    match (action, db.find(user_id, email(&fields))) {
        (Action::Create, Some(_)) => Err("occupant already exists".into()),
        (Action::Create, None) if user_id.is_some() => {
            Err("userID is assigned by Maptician".into())
        }
        (Action::Create | Action::Upsert, None) if user_id.is_none() => db.create(fields),
        (_, None) => Err("occupant not found".into()),
        (Action::Delete, Some(id)) => {
            db.occupant_mut(&id).deleted = true;
            Ok(id)
        }
        (_, Some(id)) => db.update(&id, fields),
    }
}

fn result(
    index: usize,
    action: &str,
    user_id: Option<String>,
    outcome: Result<(), String>,
) -> Value {
    let (status, error) = match outcome {
        Ok(()) => ("ok", None),
        Err(message) => ("error", Some(message)),
    };
    json!({ "index": index, "action": action, "userID": user_id, "status": status, "error": error })
}

impl Db {
    /// The live occupant an item is about: by `userID` when it names one, else by `email`
    /// (ignoring case). Soft-deleted occupants match nothing.
    fn find(&self, user_id: Option<&str>, wanted: Option<&str>) -> Option<String> {
        let live = self.occupants.values().filter(|o| !o.deleted);
        let mut live = live.map(|o| (&o.user_id, email(&o.fields)));
        let found = match (user_id, wanted) {
            (Some(id), _) => live.find(|(other, _)| *other == id),
            (None, Some(wanted)) => live.find(|(_, e)| same_email(*e, wanted)),
            (None, None) => None,
        };
        found.map(|(id, _)| id.clone())
    }

    fn create(&mut self, changes: Fields) -> Result<String, String> {
        let fields = merged(&blank(), changes)?;
        let user_id = loop {
            let id = random::uuid_v4();
            if !self.occupants.contains(&id) {
                break id;
            }
        };
        let occupant = Occupant {
            user_id: user_id.clone(),
            fields,
            deleted: false,
        };
        self.occupants.insert(user_id.clone(), occupant);
        Ok(user_id)
    }

    /// Another live occupant's email is refused.
    fn update(&mut self, id: &str, changes: Fields) -> Result<String, String> {
        let fields = merged(&self.occupant_mut(id).fields, changes)?;
        let taken = self.occupants.values().any(|o| {
            !o.deleted
                && o.user_id != id
                && same_email(email(&o.fields), email(&fields).unwrap_or_default())
        });
        if taken {
            return Err("email already in use".into());
        }
        self.occupant_mut(id).fields = fields;
        Ok(id.to_owned())
    }

    fn occupant_mut(&mut self, id: &str) -> &mut Occupant {
        self.occupants
            .get_mut(id)
            .expect("the caller found this occupant under the same lock")
    }
}

fn same_email(email: Option<&str>, wanted: &str) -> bool {
    email.is_some_and(|e| e.to_lowercase() == wanted.to_lowercase())
}

/// `?page=&pageSize=&includeDeleted=`, kept as text so that a bad value is a `{"detail"}` 400.
#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
    #[serde(rename = "includeDeleted")]
    include_deleted: Option<String>,
}

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 500;

/// `GET /ext/v1/occupants/global/` → `{"occupants":[...],"total":n}`, in creation order;
/// `page` counts from 1.
pub(super) async fn list(
    State(maptician): State<Arc<Maptician>>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let number = |text: &Option<String>, default: usize, max: usize, name: &str| match text {
        None => Ok(default),
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be 1 to {max}"))),
    };
    let page = number(&query.page, 1, usize::MAX, "page")?;
    let size = number(
        &query.page_size,
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        "pageSize",
    )?;
    let include_deleted = flag(&query.include_deleted)?;
    let db = maptician.db();
    let matching: Vec<&Occupant> = db
        .occupants
        .values()
        .filter(|o| include_deleted || !o.deleted)
        .collect();
    let total = matching.len();
    let occupants: Vec<_> = matching
        .into_iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .collect();
    Ok(Json(json!({ "occupants": occupants, "total": total })))
}

#[derive(Deserialize)]
pub(super) struct GetQuery {
    #[serde(rename = "includeDeleted")]
    include_deleted: Option<String>,
}

/// `GET /ext/v1/occupants/{userID}/`; a soft-deleted occupant is a 404 unless
/// `includeDeleted=true`.
pub(super) async fn get(
    State(maptician): State<Arc<Maptician>>,
    Path(user_id): Path<String>,
    Params(query): Params<GetQuery>,
) -> Result<Json<Occupant>, ApiError> {
    let include_deleted = flag(&query.include_deleted)?;
    maptician
        .db()
        .occupants
        .get(&user_id)
        .filter(|o| include_deleted || !o.deleted)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Not found."))
}

fn flag(text: &Option<String>) -> Result<bool, ApiError> {
    match text.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "includeDeleted must be true or false",
        )),
    }
}
