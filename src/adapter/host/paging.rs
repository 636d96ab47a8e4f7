//! Paging of native lists, the loop every adapter would otherwise write:
//!
//! - `native_page(request, query, paging)`: the page a SCIM list asks for (`query` is
//!   `list_users`'s), as `#{ resources, total, next }` of native items;
//! - `native_list(request, paging)`: every item, page after page (for a filter that finds
//!   a few — never a whole directory on a request's path);
//! - `page_of(items, query)`: the page of a list the API cannot page, read whole;
//!   `page_of(items, query, |item| …)` converts the page's items only.
//!
//! `request` is what `http(...)` takes (a GET unless it says otherwise); `paging` describes
//! the API once per adapter:
//!
//! - `size`: the query parameter of the page size, and `max_size` the largest the API
//!   allows (100 if not said; a shorter page means the list has ended);
//! - `offset`: the parameter counting the items to skip (from 0), or
//! - `cursor`: the parameter taking the cursor of the next page, and `next` the path of that
//!   cursor in the answer (absent on the last page);
//! - `items`: the path of the list in the answer (the answer itself if not said);
//! - `total`: the path of the total count in the answer, or `total_header` its header;
//! - `answers`: how the API answers (see `native_data`); each page goes through it.
//!
//! With a cursor, a page further on starts from the cursor the gateway kept from the page
//! before (`query.cursor`); without one (a client jumping ahead), the pages before are read.

use super::answers::{at, Answers, Description};
use super::HostResult;
use rhai::{Array, Dynamic, Engine, FnPtr, Map, NativeCallContext, INT};

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "native_page",
        |request: Map, query: Map, paging: Map| -> HostResult<Map> {
            Paging::parse(&paging)?.page(&request, &query)
        },
    );
    engine.register_fn(
        "native_list",
        |request: Map, paging: Map| -> HostResult<Array> { Paging::parse(&paging)?.all(&request) },
    );
    engine.register_fn("page_of", |items: Array, query: Map| -> HostResult<Map> {
        let (resources, total) = page_of(items, &query);
        Ok(page(resources, total, Dynamic::UNIT))
    });
    engine.register_fn(
        "page_of",
        |call: NativeCallContext, items: Array, query: Map, convert: FnPtr| -> HostResult<Map> {
            let (resources, total) = page_of(items, &query);
            let converted: Array = resources
                .into_iter()
                .map(|item| convert.call_within_context(&call, (item,)))
                .collect::<HostResult<_>>()?;
            Ok(page(converted, total, Dynamic::UNIT))
        },
    );
}

/// The items of `items` (the whole list) on the page `query` asks for, and the total.
fn page_of(items: Array, query: &Map) -> (Array, Dynamic) {
    let (start, count) = asked(query);
    let total = Dynamic::from_int(items.len() as INT);
    (
        items.into_iter().skip(start - 1).take(count).collect(),
        total,
    )
}

/// The page a list function's `query` asks for: its 1-based start and its size.
fn asked(query: &Map) -> (usize, usize) {
    let int = |key: &str| query.get(key).and_then(|v| v.as_int().ok()).unwrap_or(0);
    (
        int("start_index").max(1) as usize,
        int("count").max(0) as usize,
    )
}

enum Style {
    Offset(String),
    Cursor { param: String, next: String },
}

struct Paging {
    style: Style,
    size: Option<String>,
    max_size: usize,
    items: Option<String>,
    total: Option<String>,
    total_header: Option<String>,
    answers: Answers,
}

const KEYS: &[&str] = &[
    "size",
    "max_size",
    "offset",
    "cursor",
    "next",
    "items",
    "total",
    "total_header",
    "answers",
];

/// One native page: its items, the total the API reports, the cursor of the next page.
struct NativePage {
    items: Array,
    total: Dynamic,
    next: Dynamic,
}

impl Paging {
    fn parse(map: &Map) -> HostResult<Self> {
        let spec = Description::new(map, "paging", KEYS)?;
        let style = match (
            spec.text("offset")?,
            spec.text("cursor")?,
            spec.text("next")?,
        ) {
            (Some(offset), None, None) => Style::Offset(offset),
            (None, Some(param), Some(next)) => Style::Cursor { param, next },
            _ => {
                return Err(
                    "paging: say how the API pages, with `offset` (the parameter of \
                            items to skip) or with `cursor` and `next` (the parameter taking the \
                            next page's cursor, and where the answer has it)"
                        .into(),
                )
            }
        };
        let answers = match spec.get("answers") {
            None => Answers::parse(&Map::new())?,
            Some(answers) => {
                let answers = answers
                    .read_lock::<Map>()
                    .ok_or("paging: `answers` must be a map (see native_data)")?;
                Answers::parse(&answers)?
            }
        };
        let max_size = match spec.get("max_size") {
            None => 100,
            Some(n) => {
                n.as_int()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("paging: `max_size` must be a number above 0")? as usize
            }
        };
        Ok(Self {
            style,
            size: spec.text("size")?,
            max_size,
            items: spec.text("items")?,
            total: spec.text("total")?,
            total_header: spec.text("total_header")?.map(|h| h.to_ascii_lowercase()),
            answers,
        })
    }

    /// The page `query` asks for.
    fn page(&self, request: &Map, query: &Map) -> HostResult<Map> {
        let (start, count) = asked(query);
        // (A count of 0 asks for the total only: one item is read for it.)
        let size = count.clamp(1, self.max_size);
        match &self.style {
            Style::Offset(_) => {
                let mut found = self.fetch(request, start - 1, size, &Dynamic::UNIT)?;
                found.items.truncate(count);
                Ok(page(found.items, found.total, Dynamic::UNIT))
            }
            Style::Cursor { .. } => {
                let mut cursor = query.get("cursor").cloned().unwrap_or(Dynamic::UNIT);
                let mut skip = if cursor.is_unit() { start - 1 } else { 0 };
                while skip > 0 {
                    let before = self.fetch(request, 0, skip.min(self.max_size), &cursor)?;
                    skip = skip.saturating_sub(before.items.len());
                    cursor = before.next;
                    if cursor.is_unit() {
                        return Ok(page(Array::new(), before.total, Dynamic::UNIT));
                    }
                }
                let mut found = self.fetch(request, 0, size, &cursor)?;
                found.items.truncate(count);
                Ok(page(found.items, found.total, found.next))
            }
        }
    }

    /// Every item, page after page.
    fn all(&self, request: &Map) -> HostResult<Array> {
        let mut items = Array::new();
        let mut cursor = Dynamic::UNIT;
        loop {
            let found = self.fetch(request, items.len(), self.max_size, &cursor)?;
            let short = found.items.len() < self.max_size;
            items.extend(found.items);
            let ended = match &self.style {
                Style::Offset(_) => {
                    short || found.total.as_int().is_ok_and(|t| items.len() as INT >= t)
                }
                Style::Cursor { .. } => {
                    if !found.next.is_unit() && found.next.to_string() == cursor.to_string() {
                        return Err("native_list: the target answered the same cursor twice".into());
                    }
                    found.next.is_unit()
                }
            };
            if ended {
                return Ok(items);
            }
            cursor = found.next;
        }
    }

    /// One native page of `size` items from `offset` (offset paging) or `cursor`.
    fn fetch(
        &self,
        request: &Map,
        offset: usize,
        size: usize,
        cursor: &Dynamic,
    ) -> HostResult<NativePage> {
        let mut request = request.clone();
        let mut params = match request.get("query") {
            Some(q) if !q.is_unit() => q
                .read_lock::<Map>()
                .ok_or("paging: the request's `query` must be a map")?
                .clone(),
            _ => Map::new(),
        };
        if let Some(size_param) = &self.size {
            params.insert(size_param.into(), Dynamic::from_int(size as INT));
        }
        match &self.style {
            Style::Offset(param) => {
                params.insert(param.into(), Dynamic::from_int(offset as INT));
            }
            Style::Cursor { param, .. } if !cursor.is_unit() => {
                params.insert(param.into(), cursor.clone());
            }
            Style::Cursor { .. } => {}
        }
        request.insert("query".into(), params.into());
        let resp = super::http::send(super::http::parse_request(request)?)?;
        let data = self.answers.data(&resp)?;
        let items = match &self.items {
            Some(path) => at(&data, path),
            None => data.clone(),
        };
        let items = items.try_cast::<Array>().ok_or_else(|| {
            format!(
                "paging: the answer has no list at `{}`",
                self.items.as_deref().unwrap_or("(the answer itself)")
            )
        })?;
        let total = match (&self.total, &self.total_header) {
            (Some(path), _) => at(&data, path),
            (None, Some(header)) => at(
                &resp.get("headers").cloned().unwrap_or(Dynamic::UNIT),
                header,
            )
            .into_string()
            .ok()
            .and_then(|t| t.trim().parse::<INT>().ok())
            .map_or(Dynamic::UNIT, Dynamic::from_int),
            (None, None) => Dynamic::UNIT,
        };
        let next = match &self.style {
            Style::Cursor { next, .. } => at(&data, next),
            Style::Offset(_) => Dynamic::UNIT,
        };
        Ok(NativePage { items, total, next })
    }
}

fn page(resources: Array, total: Dynamic, next: Dynamic) -> Map {
    let mut map = Map::new();
    map.insert("resources".into(), resources.into());
    map.insert("total".into(), total);
    map.insert("next".into(), next);
    map
}
