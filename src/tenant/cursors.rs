//! Native paging cursors, by where they lead. An adapter whose target pages by cursor
//! (Meta's `page_token`) answers each page with the cursor of the one after; the gateway
//! keeps it under the start index it leads to, so that a client paging on — as Entra and
//! the SCIM validator do, page after page — costs one native call per page.

use scimitar_scim::ResourceKind;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// Cursors kept at most; past it the oldest paging sessions start over from the first page.
const KEPT: usize = 1024;

#[derive(Default)]
pub struct Cursors(Mutex<HashMap<(ResourceKind, String, usize), Value>>);

impl Cursors {
    /// The cursor of the page of `kind` filtered by `filter` (its text) at `start_index`.
    pub fn get(&self, kind: ResourceKind, filter: &str, start_index: usize) -> Value {
        self.lock()
            .get(&(kind, filter.to_string(), start_index))
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn put(&self, kind: ResourceKind, filter: &str, start_index: usize, cursor: Value) {
        let mut cursors = self.lock();
        if cursors.len() >= KEPT {
            cursors.clear();
        }
        cursors.insert((kind, filter.to_string(), start_index), cursor);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ResourceKind, String, usize), Value>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
