//! The JSON form of a filter handed to adapters (shapes documented in the module above).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::ast::Filter;

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Filter::Compare { path, op, value } => {
                map.serialize_entry("op", op.as_str())?;
                map.serialize_entry("attribute", &path.to_string())?;
                map.serialize_entry("value", value)?;
            }
            Filter::Present { path } => {
                map.serialize_entry("op", "pr")?;
                map.serialize_entry("attribute", &path.to_string())?;
            }
            Filter::And(..) | Filter::Or(..) => {
                let is_and = matches!(self, Filter::And(..));
                map.serialize_entry("op", if is_and { "and" } else { "or" })?;
                let mut operands = Vec::new();
                collect_operands(self, is_and, &mut operands);
                map.serialize_entry("filters", &operands)?;
            }
            Filter::Not(inner) => {
                map.serialize_entry("op", "not")?;
                map.serialize_entry("filter", inner)?;
            }
            Filter::ValuePath { attr, filter } => {
                map.serialize_entry("op", "valuePath")?;
                map.serialize_entry("attribute", &attr.to_string())?;
                map.serialize_entry("filter", filter)?;
            }
        }
        map.end()
    }
}

/// Flattens a chain of the same connective (`a and b and c`) into one operand list, so
/// adapters see `{"op":"and","filters":[a,b,c]}` rather than nested pairs. The walk is
/// iterative down the left spine, where the parser builds long chains.
fn collect_operands<'a>(filter: &'a Filter, is_and: bool, out: &mut Vec<&'a Filter>) {
    let mut rights = Vec::new();
    let mut node = filter;
    while let (Filter::And(a, b), true) | (Filter::Or(a, b), false) = (node, is_and) {
        rights.push(b.as_ref());
        node = a;
    }
    out.push(node);
    while let Some(right) = rights.pop() {
        match (right, is_and) {
            (Filter::And(..), true) | (Filter::Or(..), false) => {
                collect_operands(right, is_and, out)
            }
            _ => out.push(right),
        }
    }
}
