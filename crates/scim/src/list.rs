//! List queries (RFC 7644 §3.4.2): query-string parsing, paging and the ListResponse.

use serde_json::{json, Value};

use crate::error::ScimError;
use crate::filter::{self, Filter};
use crate::urn::LIST_RESPONSE;

/// The parameters of `GET /Users?...` (or `/Groups`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based index of the first result; values below 1 are read as 1 (RFC 7644 §3.4.2.4).
    pub start_index: usize,
    /// Maximum results per page; `None` when the client did not ask.
    pub count: Option<usize>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
    pub sort_by: Option<String>,
    /// `ascending` or `descending`, lowercased.
    pub sort_order: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: None,
            start_index: 1,
            count: None,
            attributes: Vec::new(),
            excluded_attributes: Vec::new(),
            sort_by: None,
            sort_order: None,
        }
    }
}

impl ListQuery {
    /// Parses an `application/x-www-form-urlencoded` query string (with or without the leading
    /// `?`). `+` and `%20` both decode to spaces, as Entra sends both; parameter names are
    /// case-insensitive; unknown parameters, including Entra's bare `aadOptscim062020` flag,
    /// are ignored. A negative or non-numeric `count` or `startIndex` is `400 invalidValue`.
    pub fn from_query_string(qs: &str) -> Result<ListQuery, ScimError> {
        let mut query = ListQuery::default();
        for (name, value) in form_urlencoded::parse(qs.trim_start_matches('?').as_bytes()) {
            query.set(&name, &value)?;
        }
        Ok(query)
    }

    /// Parses a `POST /.search` body (RFC 7644 §3.4.3) with the same rules as
    /// [`ListQuery::from_query_string`]; attribute lists may be JSON arrays or comma-separated
    /// strings. A `schemas` member, if present, is not checked: the endpoint already says what
    /// the body is.
    pub fn from_search_request(body: &Value) -> Result<ListQuery, ScimError> {
        let Value::Object(members) = body else {
            return Err(ScimError::invalid_syntax(
                "a SearchRequest must be a JSON object",
            ));
        };
        let mut query = ListQuery::default();
        for (name, value) in members {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            query.set(name, &text)?;
        }
        Ok(query)
    }

    /// Sets one parameter from its text; names are case-insensitive, unknown names ignored.
    fn set(&mut self, name: &str, value: &str) -> Result<(), ScimError> {
        match name.to_ascii_lowercase().as_str() {
            "filter" if value.trim().is_empty() => self.filter = None,
            "filter" => self.filter = Some(filter::parse(value.trim())?),
            "startindex" => {
                self.start_index = usize::try_from(parse_integer("startIndex", value)?)
                    .unwrap_or(1)
                    .max(1)
            }
            "count" => {
                let count = parse_integer("count", value)?;
                // RFC 7644 reads a negative count as 0; a client sending one has a bug worth surfacing.
                let count = usize::try_from(count).map_err(|_| {
                    ScimError::invalid_value(format!("\"count\" must not be negative, not {count}"))
                })?;
                self.count = Some(count);
            }
            "attributes" => self.attributes = split_list(value),
            "excludedattributes" => self.excluded_attributes = split_list(value),
            "sortby" => self.sort_by = Some(value.trim().to_owned()).filter(|s| !s.is_empty()),
            "sortorder" => self.sort_order = Some(parse_sort_order(value)?),
            _ => {}
        }
        Ok(())
    }

    /// The page size to use: the client's `count`, capped at `max` (the server's
    /// `filter.maxResults`), or `max` when the client did not ask.
    pub fn capped_count(&self, max: usize) -> usize {
        self.count.map_or(max, |c| c.min(max))
    }
}

fn parse_integer(name: &str, value: &str) -> Result<i64, ScimError> {
    value.trim().parse().map_err(|_| {
        ScimError::invalid_value(format!("\"{name}\" must be an integer, not \"{value}\""))
    })
}

fn parse_sort_order(value: &str) -> Result<String, ScimError> {
    let order = value.trim().to_ascii_lowercase();
    match order.as_str() {
        "ascending" | "descending" => Ok(order),
        _ => Err(ScimError::invalid_value(format!(
            "\"sortOrder\" must be \"ascending\" or \"descending\", not \"{value}\""
        ))),
    }
}

/// A comma-separated attribute list, trimmed, without empty entries.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One page of `items`: from the 1-based `start_index`, at most `count` items (all when `None`).
pub fn page<T>(items: Vec<T>, start_index: usize, count: Option<usize>) -> Vec<T> {
    items
        .into_iter()
        .skip(start_index.max(1) - 1)
        .take(count.unwrap_or(usize::MAX))
        .collect()
}

/// The RFC 7644 §3.4.2 ListResponse for one page of resources.
pub fn list_response(resources: Vec<Value>, total_results: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total_results,
        "startIndex": start_index.max(1),
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::AttrPath;

    #[test]
    fn entra_plus_encoded_filter_with_the_compliance_flag() {
        let q = ListQuery::from_query_string(
            "?filter=userName+eq+%22a%2Bb%40x.com%22&aadOptscim062020",
        )
        .unwrap();
        let (path, value) = q.filter.as_ref().unwrap().simple_eq().unwrap();
        assert_eq!(
            (path, value),
            (&AttrPath::new("userName"), &json!("a+b@x.com"))
        );
        assert_eq!(q.start_index, 1);
    }

    #[test]
    fn percent_20_spaces_and_case_insensitive_names() {
        let q = ListQuery::from_query_string(
            "EXCLUDEDATTRIBUTES=members&Filter=displayName%20eq%20%22Group%201%22&StartIndex=0&COUNT=5&attributes=id,%20displayName,,",
        )
        .unwrap();
        assert_eq!(q.filter.unwrap().to_string(), r#"displayName eq "Group 1""#);
        assert_eq!(q.excluded_attributes, vec!["members"]);
        assert_eq!(q.attributes, vec!["id", "displayName"]);
        assert_eq!((q.start_index, q.count), (1, Some(5)));
    }

    #[test]
    fn bad_numbers_and_filters_are_client_errors() {
        for (qs, scim_type) in [
            ("count=-1", "invalidValue"),
            ("count=ten", "invalidValue"),
            ("startIndex=x", "invalidValue"),
            ("sortOrder=up", "invalidValue"),
            ("filter=userName+eq", "invalidFilter"),
        ] {
            let err = ListQuery::from_query_string(qs).unwrap_err();
            assert_eq!(
                (err.status, err.scim_type.as_deref()),
                (400, Some(scim_type)),
                "{qs}"
            );
        }
    }

    #[test]
    fn search_request_bodies() {
        let q = ListQuery::from_search_request(&json!({
            "schemas": [crate::urn::SEARCH_REQUEST],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": "members",
            "filter": "displayName sw \"smith\"",
            "startIndex": 3,
            "count": 10
        }))
        .unwrap();
        assert_eq!(q.attributes, vec!["displayName", "userName"]);
        assert_eq!(q.excluded_attributes, vec!["members"]);
        assert_eq!((q.start_index, q.count), (3, Some(10)));
        assert!(q.filter.is_some());
        assert_eq!(
            ListQuery::from_search_request(&json!({"count": -2}))
                .unwrap_err()
                .scim_type
                .as_deref(),
            Some("invalidValue")
        );
    }

    #[test]
    fn paging_and_caps() {
        assert_eq!(page((1..=12).collect(), 11, Some(5)), vec![11, 12]);
        assert_eq!(page((1..=3).collect(), 0, None), vec![1, 2, 3]);
        assert_eq!(
            page((1..=3).collect::<Vec<_>>(), 9, Some(5)),
            Vec::<i32>::new()
        );
        let q = ListQuery {
            count: Some(500),
            ..ListQuery::default()
        };
        assert_eq!(q.capped_count(100), 100);
        assert_eq!(ListQuery::default().capped_count(100), 100);
    }

    #[test]
    fn empty_list_response_for_test_connection() {
        assert_eq!(
            list_response(vec![], 0, 1),
            json!({"schemas": [LIST_RESPONSE], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
        );
    }
}
