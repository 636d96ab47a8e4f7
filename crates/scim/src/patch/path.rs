//! PATCH paths: `attrPath`, or `valuePath` optionally followed by `.subAttr` (RFC 7644 §3.5.2).

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::ScimError;
use crate::filter::{parse_patch_path, AttrPath, Filter};

/// A PATCH target.
///
/// The sub-attribute always lives in `sub_attr`, whether it was written `name.givenName` or
/// `emails[type eq "work"].value`; `attr.sub_attr` is always `None`. One place for it means
/// one code path when applying.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub value_filter: Option<Filter>,
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// Parses a path as written (no schema canonicalisation; see `parse_patch` for that).
    pub fn parse(input: &str) -> Result<Self, ScimError> {
        let (mut attr, value_filter, trailing) = parse_patch_path(input)?;
        let sub_attr = trailing.or(attr.sub_attr.take());
        Ok(Self {
            attr,
            value_filter,
            sub_attr,
        })
    }

    /// Whether the path is exactly the core attribute `name`, without filter or sub-attribute.
    pub fn is(&self, name: &str) -> bool {
        self.value_filter.is_none() && self.sub_attr.is_none() && self.attr.is(name)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl Serialize for PatchPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
