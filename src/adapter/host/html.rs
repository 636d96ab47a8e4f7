//! `html_unescape(value)`: for targets that store and answer text HTML-escaped (`O&#39;Brien`,
//! `R&amp;D`), so that what reaches Entra is the text it sent.

use rhai::{Dynamic, Engine};

pub fn register(engine: &mut Engine) {
    engine.register_fn("html_unescape", unescape);
}

/// Every string in `value` with its HTML character references decoded (named, decimal and
/// hexadecimal, as HTML5 reads them): a string, or each string of a map or array, at any
/// depth, so a whole native object is decoded in one call. Anything else is left as it is.
pub(super) fn unescape(value: Dynamic) -> Dynamic {
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return match html_escape::decode_html_entities(text.as_str()) {
            std::borrow::Cow::Borrowed(_) => value.clone(),
            std::borrow::Cow::Owned(decoded) => decoded.into(),
        };
    }
    if value.is_map() {
        let map = value.cast::<rhai::Map>();
        return map
            .into_iter()
            .map(|(key, item)| (key, unescape(item)))
            .collect::<rhai::Map>()
            .into();
    }
    if value.is_array() {
        let array = value.cast::<rhai::Array>();
        return array
            .into_iter()
            .map(unescape)
            .collect::<rhai::Array>()
            .into();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(script: &str) -> String {
        let mut engine = Engine::new();
        register(&mut engine);
        engine
            .eval::<Dynamic>(script)
            .map(|v| v.to_string())
            .unwrap()
    }

    #[test]
    fn references_are_decoded_at_any_depth() {
        assert_eq!(
            eval(r#"html_unescape("O&#39;Brien &amp; R&#x26;D &lt;3 &eacute;")"#),
            "O'Brien & R&D <3 é"
        );
        assert_eq!(
            eval(r#"html_unescape(#{ name: "A&amp;B", tags: ["&quot;x&quot;", 1], n: 2 })"#),
            r#"#{"n": 2, "name": "A&B", "tags": ["\"x\"", 1]}"#
        );
        assert_eq!(eval(r#"html_unescape("plain & simple")"#), "plain & simple");
    }
}
