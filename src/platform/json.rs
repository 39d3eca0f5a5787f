//! Reading JSON fields the way platforms really send them: Facebook and Zalo send codes, ids
//! and counts as numbers one day and as strings the next (and ids beyond 2^53), so every
//! reader accepts both, and none fails on a field of the wrong type: it is simply absent.

use serde_json::Value;

/// An integer given as a number (`-216`, `-216.0`) or a string (`"-216"`): error codes, both
/// platforms.
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

/// A non-empty, trimmed string field: words, names, types.
pub fn text_field(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An id, given as a non-empty string or a number. Ids are kept as text: a Zalo id can exceed
/// 2^53, and a Graph id is compared with the one loa stored, character for character.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A count or a number of seconds: a non-negative number (a fraction is cut off) or a numeric
/// string. A negative or non-numeric value is `None`.
pub fn number_of(value: &Value) -> Option<u64> {
    let whole = |f: f64| (f.is_finite() && f >= 0.0).then_some(f as u64);
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(whole))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(integer(&json!(-216)), Some(-216));
        assert_eq!(integer(&json!(-216.0)), Some(-216));
        assert_eq!(integer(&json!("-216")), Some(-216));
        assert_eq!(integer(&json!(" 190 ")), Some(190));
        assert_eq!(integer(&json!(2.5)), None);
        assert_eq!(integer(&json!(null)), None);
        assert_eq!(integer(&json!([1])), None);
    }

    #[test]
    fn text_is_trimmed_and_never_empty() {
        assert_eq!(text_field(&json!("  x ")), Some("x".into()));
        assert_eq!(text_field(&json!("  ")), None);
        assert_eq!(text_field(&json!(5)), None);
    }

    #[test]
    fn ids_from_strings_and_numbers_keep_every_digit() {
        assert_eq!(id_of(&json!("1_2")), Some("1_2".into()));
        assert_eq!(
            id_of(&json!(9_007_199_254_740_993_u64)),
            Some("9007199254740993".into())
        );
        assert_eq!(id_of(&json!("")), None);
        assert_eq!(id_of(&json!(null)), None);
        assert_eq!(id_of(&json!({"id": "1"})), None);
    }

    #[test]
    fn numbers_from_numbers_fractions_and_strings() {
        assert_eq!(number_of(&json!(5_183_944)), Some(5_183_944));
        assert_eq!(number_of(&json!("5183944")), Some(5_183_944));
        assert_eq!(number_of(&json!(" 12 ")), Some(12));
        assert_eq!(number_of(&json!(5_183_944.0)), Some(5_183_944));
        assert_eq!(number_of(&json!("7.9")), Some(7));
        assert_eq!(number_of(&json!(-1)), None);
        assert_eq!(number_of(&json!("-1")), None);
        assert_eq!(number_of(&json!("soon")), None);
        assert_eq!(number_of(&json!(null)), None);
    }
}
