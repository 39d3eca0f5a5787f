//! Refuses secrets in the config file: the file gets copied, mailed and committed, so tokens and
//! app secrets come only from the environment or loa's own token store.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A key in the config that looks like it holds a secret.
#[derive(Debug, PartialEq, Eq)]
pub struct SecretKey {
    /// Dotted path of the key, e.g. `facebook.page_token`.
    pub key: String,
    /// Byte span of the key in the file.
    pub span: std::ops::Range<usize>,
    /// The environment variable to use instead.
    pub env: &'static str,
}

/// Finds every key whose name says it holds a secret (`token`, `secret`, `password`).
pub fn find_secret_keys(table: &DeTable<'_>) -> Vec<SecretKey> {
    let mut found = Vec::new();
    walk(table, "", &mut found);
    found
}

fn walk(table: &DeTable<'_>, prefix: &str, found: &mut Vec<SecretKey>) {
    for (key, value) in table {
        let name: &str = key.get_ref();
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        if let DeValue::Table(inner) = value.get_ref() {
            walk(inner, &path, found);
        } else if let DeValue::Array(items) = value.get_ref()
            && items
                .iter()
                .any(|item| matches!(item.get_ref(), DeValue::Table(_)))
        {
            // `[[alerts.email]]`: each section of the list, named `alerts.email[1]` and so on.
            for (i, item) in items.iter().enumerate() {
                if let DeValue::Table(inner) = item.get_ref() {
                    walk(inner, &format!("{path}[{}]", i + 1), found);
                }
            }
            if looks_secret(name) {
                found.push(SecretKey {
                    env: env_for(&path),
                    span: Spanned::span(key),
                    key: path,
                });
            }
        } else if looks_secret(name) {
            found.push(SecretKey {
                env: env_for(&path),
                span: Spanned::span(key),
                key: path,
            });
        }
    }
}

fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["token", "secret", "password", "passwd"]
        .iter()
        .any(|w| name.contains(w))
}

fn env_for(path: &str) -> &'static str {
    let secret = path.contains("secret");
    if path.starts_with("facebook.") {
        if secret {
            "LOA_FACEBOOK_APP_SECRET"
        } else {
            "LOA_FACEBOOK_PAGE_TOKEN"
        }
    } else if path.starts_with("alerts.") {
        if secret || path.starts_with("alerts.webhook") {
            "LOA_WEBHOOK_SECRET"
        } else {
            "LOA_SMTP_PASSWORD"
        }
    } else if path.starts_with("web.") {
        "LOA_WEB_PASSWORD"
    } else if path.starts_with("zalo.") {
        if secret {
            "LOA_ZALO_APP_SECRET"
        } else {
            "LOA_ZALO_REFRESH_TOKEN"
        }
    } else {
        "LOA_FACEBOOK_PAGE_TOKEN / LOA_ZALO_REFRESH_TOKEN"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_secrets_with_their_env_variable() {
        let text = "[facebook]\npage_id = \"1\"\npage_token = \"x\"\n[zalo]\napp_secret = \"y\"\n";
        let table = DeTable::parse(text).unwrap();
        let keys = find_secret_keys(table.get_ref());
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].key, "facebook.page_token");
        assert_eq!(keys[0].env, "LOA_FACEBOOK_PAGE_TOKEN");
        assert_eq!(&text[keys[0].span.clone()], "page_token");
        assert_eq!(keys[1].env, "LOA_ZALO_APP_SECRET");
    }

    #[test]
    fn finds_secrets_inside_lists_of_sections_with_the_alerts_variables() {
        let text = "[alerts]\n[[alerts.email]]\nsmtp_host = \"h\"\npassword = \"x\"\n[[alerts.webhook]]\nurl = \"u\"\nsecret = \"y\"\n";
        let table = DeTable::parse(text).unwrap();
        let keys = find_secret_keys(table.get_ref());
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert_eq!(keys[0].key, "alerts.email[1].password");
        assert_eq!(keys[0].env, "LOA_SMTP_PASSWORD");
        assert_eq!(&text[keys[0].span.clone()], "password");
        assert_eq!(keys[1].key, "alerts.webhook[1].secret");
        assert_eq!(keys[1].env, "LOA_WEBHOOK_SECRET");
    }
}
