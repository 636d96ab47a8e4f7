//! A recursive-descent parser for RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths.
//!
//! Hostile input is bounded twice: the input length ([`MAX_LEN`]) and the nesting of
//! parentheses, `not` and value filters ([`MAX_DEPTH`]), so recursion can never exhaust the
//! stack. `and`/`or` chains are parsed by loops, not recursion.

use serde_json::Value;

use super::ast::{AttrPath, CompareOp, Filter};
use crate::error::ScimError;
use crate::urn;

/// Longest filter accepted, in bytes.
pub const MAX_LEN: usize = 8 * 1024;
/// Deepest nesting of `(`, `not (` and `[` accepted.
pub const MAX_DEPTH: usize = 64;

/// Parses a filter expression.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser::new(input, ScimError::invalid_filter)?;
    let filter = parser.filter(false)?;
    parser.skip_ws();
    parser.end()?;
    Ok(filter)
}

/// Parses a PATCH path: `attrPath` or `valuePath [ "." subAttr ]`. Errors are `invalidPath`.
pub(crate) fn parse_patch_path(
    input: &str,
) -> Result<(AttrPath, Option<Filter>, Option<String>), ScimError> {
    let mut parser = Parser::new(input, ScimError::invalid_path)?;
    parser.skip_ws();
    let attr = parser.attr_path()?;
    let (filter, sub) = if parser.eat('[') {
        if attr.sub_attr.is_some() {
            return Err(parser.error("a value filter cannot follow a sub-attribute"));
        }
        let filter = parser.bracketed()?;
        let sub = if parser.eat('.') {
            Some(parser.name()?)
        } else {
            None
        };
        (Some(filter), sub)
    } else {
        (None, None)
    };
    parser.skip_ws();
    parser.end()?;
    Ok((attr, filter, sub))
}

/// Parses `[urn:]attr[.sub]` with nothing around it.
pub(crate) fn parse_attr_path(input: &str) -> Result<AttrPath, ScimError> {
    let mut parser = Parser::new(input, ScimError::invalid_path)?;
    let path = parser.attr_path()?;
    parser.end()?;
    Ok(path)
}

/// A JSON number. Floats are re-read with the standard library, which rounds exactly (serde_json
/// without its `float_roundtrip` feature may be off by one ulp), so printed floats round-trip.
fn number(token: &str) -> Option<serde_json::Number> {
    let number = serde_json::from_str::<serde_json::Number>(token).ok()?;
    if number.is_f64() {
        serde_json::Number::from_f64(token.parse().ok()?)
    } else {
        Some(number)
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    /// Which SCIM error a syntax error becomes (`invalidFilter` or `invalidPath`).
    error_kind: fn(String) -> ScimError,
}

/// Characters of an attribute path word (names, URNs, dots, `$ref`).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '.')
}

/// RFC 7643 §2.1 `ATTRNAME = ALPHA *(nameChar)`, plus `$ref`.
fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '$');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, error_kind: fn(String) -> ScimError) -> Result<Self, ScimError> {
        if src.len() > MAX_LEN {
            return Err(error_kind(format!("longer than {MAX_LEN} bytes")));
        }
        Ok(Self {
            src,
            pos: 0,
            depth: 0,
            error_kind,
        })
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, expected: &str) -> ScimError {
        let found: String = self.rest().chars().take(20).collect();
        let found = if found.is_empty() {
            "end of input".to_owned()
        } else {
            format!("\"{found}\"")
        };
        (self.error_kind)(format!("at byte {}: {expected}, found {found}", self.pos))
    }

    fn skip_ws(&mut self) -> bool {
        let trimmed = self.rest().trim_start();
        let skipped = self.rest().len() - trimmed.len();
        self.pos += skipped;
        skipped > 0
    }

    fn eat(&mut self, c: char) -> bool {
        let matched = self.peek() == Some(c);
        if matched {
            self.pos += c.len_utf8();
        }
        matched
    }

    fn expect(&mut self, c: char) -> Result<(), ScimError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn end(&self) -> Result<(), ScimError> {
        if self.pos == self.src.len() {
            Ok(())
        } else {
            Err(self.error("expected end of input"))
        }
    }

    /// The word at the cursor, without consuming it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        &rest[..rest.find(|c| !is_word_char(c)).unwrap_or(rest.len())]
    }

    fn word(&mut self) -> &'a str {
        let word = self.peek_word();
        self.pos += word.len();
        word
    }

    /// Consumes `keyword` (case-insensitive) if it is the next whole word.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let matched = self.peek_word().eq_ignore_ascii_case(keyword);
        if matched {
            self.pos += keyword.len();
        }
        matched
    }

    fn nest<T>(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<T, ScimError>,
    ) -> Result<T, ScimError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    /// `filter = and *("or" and)`. `in_brackets` forbids nested value filters (RFC `valFilter`).
    fn filter(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        let mut left = self.conjunction(in_brackets)?;
        while self.next_keyword("or") {
            let right = self.conjunction(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn conjunction(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        let mut left = self.unary(in_brackets)?;
        while self.next_keyword("and") {
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// Consumes whitespace, `keyword` and whitespace if the keyword is next; otherwise leaves
    /// the cursor before the whitespace.
    fn next_keyword(&mut self, keyword: &str) -> bool {
        let start = self.pos;
        if self.skip_ws() && self.eat_keyword(keyword) && self.skip_ws() {
            return true;
        }
        self.pos = start;
        false
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        self.skip_ws();
        if self.eat('(') {
            let inner = self.nest(|p| p.filter(in_brackets))?;
            self.skip_ws();
            self.expect(')')?;
            return Ok(inner);
        }
        let start = self.pos;
        if self.eat_keyword("not") {
            self.skip_ws();
            if self.eat('(') {
                let inner = self.nest(|p| p.filter(in_brackets))?;
                self.skip_ws();
                self.expect(')')?;
                return Ok(Filter::Not(Box::new(inner)));
            }
            self.pos = start; // an attribute called `not`
        }
        self.attr_expr(in_brackets)
    }

    fn attr_expr(&mut self, in_brackets: bool) -> Result<Filter, ScimError> {
        let path = self.attr_path()?;
        if self.peek() != Some('[') {
            return self.comparison(path);
        }
        if in_brackets {
            return Err(self.error("value filters cannot be nested"));
        }
        if path.sub_attr.is_some() {
            return Err(self.error("a value filter cannot follow a sub-attribute"));
        }
        self.pos += 1;
        let mut filter = self.bracketed()?;
        if self.eat('.') {
            let sub = AttrPath::new(self.name()?);
            filter = Filter::And(Box::new(filter), Box::new(self.comparison(sub)?));
        }
        Ok(Filter::ValuePath {
            attr: path,
            filter: Box::new(filter),
        })
    }

    /// The inside of `[...]` after the `[`, and the closing `]`.
    fn bracketed(&mut self) -> Result<Filter, ScimError> {
        let filter = self.nest(|p| p.filter(true))?;
        self.skip_ws();
        self.expect(']')?;
        Ok(filter)
    }

    /// `SP "pr"` or `SP compareOp SP compValue` after a path.
    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        if !self.skip_ws() {
            return Err(self.error("expected an operator after the attribute path"));
        }
        let word = self.word();
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present { path });
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            self.pos -= word.len();
            return Err(self.error("expected an operator (eq ne co sw ew gt ge lt le pr)"));
        };
        if !self.skip_ws() {
            return Err(self.error("expected a value after the operator"));
        }
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue = false / null / true / number / string` (JSON literals; keywords in any case).
    fn value(&mut self) -> Result<Value, ScimError> {
        if self.peek() == Some('"') {
            return self.string();
        }
        let rest = self.rest();
        let token = &rest[..rest
            .find(|c: char| c.is_whitespace() || c == ')' || c == ']')
            .unwrap_or(rest.len())];
        let value = match token.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            _ => match number(token) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(self.error("expected a value (string, number, true, false or null)"))
                }
            },
        };
        self.pos += token.len();
        Ok(value)
    }

    fn string(&mut self) -> Result<Value, ScimError> {
        let rest = self.rest();
        let mut escaped = false;
        let close = rest.char_indices().skip(1).find(|&(_, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes
        });
        let Some((close, _)) = close else {
            return Err(self.error("unterminated string"));
        };
        let literal = &rest[..=close];
        let value = serde_json::from_str::<String>(literal)
            .map_err(|e| self.error(&format!("a valid JSON string ({e})")))?;
        self.pos += literal.len();
        Ok(Value::String(value))
    }

    /// An attribute name (a sub-attribute after `].`).
    fn name(&mut self) -> Result<String, ScimError> {
        let start = self.pos;
        let rest = self.rest();
        let name = &rest[..rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$')))
            .unwrap_or(rest.len())];
        if !is_attr_name(name) {
            self.pos = start;
            return Err(self.error("expected an attribute name"));
        }
        self.pos += name.len();
        Ok(name.to_owned())
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr`.
    fn attr_path(&mut self) -> Result<AttrPath, ScimError> {
        let start = self.pos;
        let word = self.word();
        let (urn, local) = match urn::split_qualified(word) {
            Some((urn, local)) => (Some(urn), local),
            None => (None, word),
        };
        let (attr, sub_attr) = match local.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (local, None),
        };
        if !is_attr_name(attr) || !sub_attr.is_none_or(is_attr_name) {
            self.pos = start;
            return Err(self.error("expected an attribute path"));
        }
        Ok(AttrPath {
            urn,
            attr: attr.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        })
    }
}
