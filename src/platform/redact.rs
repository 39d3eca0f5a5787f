//! The one redactor: every text that may be stored, logged or shown and that could quote a
//! request (a platform's error message, a transport error, an auth failure) goes through here,
//! so a token or a secret never reaches a log, the store or the officer's screen.
//!
//! Two things are hidden: the value after any [`SECRET_KEYS`] key (`access_token=…`,
//! `Bearer …`: a quoted URL or header), and any secret loa knows it sent (Facebook quotes a
//! malformed token back with no key before it). Both become [`HIDDEN`].

use crate::publisher::Outcome;

/// What a hidden secret is replaced with.
pub const HIDDEN: &str = "[hidden]";

/// Query parameters, form fields and headers of either platform whose value is a secret.
/// Matched without regard to case.
pub const SECRET_KEYS: [&str; 12] = [
    "access_token=",
    "access_token: ",
    "input_token=",
    "fb_exchange_token=",
    "client_secret=",
    "appsecret_proof=",
    "refresh_token=",
    "refresh_token: ",
    "code_verifier=",
    "secret_key=",
    "secret_key: ",
    "bearer ",
];

/// `text` with the value after every [`SECRET_KEYS`] key hidden.
pub fn scrub(text: &str) -> String {
    redact(text, &SECRET_KEYS)
}

/// `text` with every secret of `secrets` hidden, and then the value after every
/// [`SECRET_KEYS`] key: what loa sent is hidden however the platform quoted it.
pub fn scrub_with(text: &str, secrets: &[&str]) -> String {
    let known = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |text, secret| text.replace(secret, HIDDEN));
    scrub(&known)
}

/// `outcome` with [`scrub_with`] applied to its message: outcomes are stored and shown.
pub fn outcome(mut outcome: Outcome, secrets: &[&str]) -> Outcome {
    match &mut outcome {
        Outcome::Transient { message, .. }
        | Outcome::RateLimited { message, .. }
        | Outcome::AuthExpired { message }
        | Outcome::Permanent { message }
        | Outcome::Ambiguous { message } => *message = scrub_with(message, secrets),
        Outcome::Published { .. } | Outcome::ScheduledOnPlatform { .. } => {}
    }
    outcome
}

/// `value` with [`scrub_with`] applied to every text in it, and every `access_token` key
/// dropped: platforms' raw answers are kept in the store (paging links quote the token).
pub fn json(value: serde_json::Value, secrets: &[&str]) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(scrub_with(&s, secrets)),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| json(v, secrets)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("access_token"))
                .map(|(k, v)| (k, json(v, secrets)))
                .collect(),
        ),
        other => other,
    }
}

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
                out.push_str(HIDDEN);
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
    fn scrub_knows_both_platforms_keys() {
        assert_eq!(
            scrub("GET /v25.0/debug_token?input_token=PT&access_token=EAAG1&fields=id"),
            "GET /v25.0/debug_token?input_token=[hidden]&access_token=[hidden]&fields=id"
        );
        assert_eq!(
            scrub("POST refresh_token=RT1&app_id=1 secret_key: s3cret code_verifier=abc"),
            "POST refresh_token=[hidden]&app_id=1 secret_key: [hidden] code_verifier=[hidden]"
        );
        assert_eq!(
            scrub("client_secret=S&fb_exchange_token=T&appsecret_proof=P ACCESS_TOKEN: Z"),
            "client_secret=[hidden]&fb_exchange_token=[hidden]&appsecret_proof=[hidden] \
             ACCESS_TOKEN: [hidden]"
        );
        let plain = "Chuyển đổi số: token_type bearer-free text, access_token= (empty)";
        assert_eq!(scrub(plain), plain);
    }

    #[test]
    fn scrubbing_twice_changes_nothing() {
        let once = scrub("x?access_token=EAAB&y=1");
        assert_eq!(scrub(&once), once);
    }

    #[test]
    fn known_secrets_are_hidden_without_a_key() {
        assert_eq!(
            scrub_with("Malformed access token EAAsecret123", &["EAAsecret123", ""]),
            "Malformed access token [hidden]"
        );
        assert_eq!(scrub_with("nothing here", &[""]), "nothing here");
    }

    #[test]
    fn outcomes_lose_the_secrets_in_their_message() {
        let hidden = outcome(
            Outcome::AuthExpired {
                message: "Invalid token AT-1 (access_token=AT-2)".into(),
            },
            &["AT-1"],
        );
        assert_eq!(
            hidden,
            Outcome::AuthExpired {
                message: "Invalid token [hidden] (access_token=[hidden])".into()
            }
        );
        let published = Outcome::Published {
            remote_id: "AT-1".into(),
        };
        assert_eq!(outcome(published.clone(), &["AT-1"]), published);
    }
}
