//! SCIM filters (RFC 7644 §3.4.2.2): parsing, canonical printing, evaluation, and the JSON
//! form adapters inspect.
//!
//! ```
//! use scimitar_scim::filter::parse;
//! let f = parse(r#"userName Eq "bjensen" and emails[type eq "work"].value co "@example.com""#).unwrap();
//! assert_eq!(
//!     f.to_string(),
//!     r#"userName eq "bjensen" and emails[type eq "work" and value co "@example.com"]"#
//! );
//! ```
//!
//! # JSON form (`Serialize`)
//!
//! Adapters receive filters as JSON objects, keyed by `op`:
//!
//! | filter                        | JSON |
//! |-------------------------------|------|
//! | `userName eq "x"`             | `{"op":"eq","attribute":"userName","value":"x"}` (likewise `ne co sw ew gt ge lt le`) |
//! | `title pr`                    | `{"op":"pr","attribute":"title"}` |
//! | `a and b and c`               | `{"op":"and","filters":[a,b,c]}` (chains of one connective are flattened) |
//! | `a or b`                      | `{"op":"or","filters":[a,b]}` |
//! | `not (a)`                     | `{"op":"not","filter":a}` |
//! | `emails[type eq "work"]`      | `{"op":"valuePath","attribute":"emails","filter":{"op":"eq","attribute":"type","value":"work"}}` |
//!
//! `attribute` is the canonical path text: `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`. Paths inside a
//! `valuePath` filter are relative to the element. Entra's
//! `emails[type eq "work"].value eq "x"` arrives as
//! `{"op":"valuePath","attribute":"emails","filter":{"op":"and","filters":[{"op":"eq","attribute":"type","value":"work"},{"op":"eq","attribute":"value","value":"x"}]}}`
//! (see [`Filter`] for why).

mod ast;
pub(crate) mod eval;
mod json;
mod parse;

pub use ast::{AttrPath, CompareOp, Filter};
pub(crate) use eval::{get_ci, matches_in};
pub(crate) use parse::parse_patch_path;
pub use parse::{parse, MAX_DEPTH, MAX_LEN};

#[cfg(test)]
mod tests;
