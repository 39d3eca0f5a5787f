//! Keeping secrets out of text that may be shown or stored: platform error messages and
//! transport errors can quote a request, and a token must never reach a log, the store or the
//! officer's screen. Also the JSON readers both platforms' error bodies need.

use serde_json::Value;

/// Hides the value after every key of `keys` (matched without regard to case, e.g.
/// `"access_token="`, `"bearer "`) in `text`.
pub fn redact(text: &str, keys: &[&str]) -> String {
    // ASCII lowercasing keeps every byte offset, so positions found in `lower` apply to `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if let Some(key) = keys
            .iter()
            .find(|key| lower[i..].starts_with(&key.to_ascii_lowercase()))
        {
            out.push_str(&text[i..i + key.len()]);
            i += key.len();
            let end = text[i..].find(ends_secret).map_or(text.len(), |n| i + n);
            if end > i {
                out.push_str("[hidden]");
            }
            i = end;
        } else {
            let Some(ch) = text[i..].chars().next() else {
                break;
            };
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Where a secret value ends in a URL, a header or a sentence.
fn ends_secret(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '&' | '"' | '\'' | '<' | '>' | '(' | ')' | ',' | ';' | '\\'
        )
}

/// An integer given as a number (`-216`, `-216.0`) or a string (`"-216"`): both platforms send
/// codes and ids either way.
pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-empty, trimmed string field.
pub fn text_field(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_values_after_secret_keys() {
        let keys = ["access_token=", "bearer "];
        assert_eq!(
            redact("GET /x?access_token=EAAB123&limit=1", &keys),
            "GET /x?access_token=[hidden]&limit=1"
        );
        assert_eq!(
            redact("Authorization: Bearer abc.def", &keys),
            "Authorization: Bearer [hidden]"
        );
        assert_eq!(redact("Lỗi: không có token", &keys), "Lỗi: không có token");
    }

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(integer(&serde_json::json!(-216)), Some(-216));
        assert_eq!(integer(&serde_json::json!(-216.0)), Some(-216));
        assert_eq!(integer(&serde_json::json!("-216")), Some(-216));
        assert_eq!(integer(&serde_json::json!(null)), None);
        assert_eq!(text_field(&serde_json::json!("  x ")), Some("x".into()));
        assert_eq!(text_field(&serde_json::json!("  ")), None);
    }
}
