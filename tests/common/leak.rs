//! The secret grep of the security proof: known secret values, and every form in which one could
//! slip into an output (as is, URL-encoded, JSON-escaped). Reusable for any output to come (the
//! dashboard's pages): hand each page's text to [`Leaks::assert_none_in`].

use std::path::Path;

/// The secret values to look for, each with the forms it could take in an output.
#[derive(Clone, Debug, Default)]
pub struct Leaks {
    /// (the value as planted, every form to grep for).
    secrets: Vec<(String, Vec<String>)>,
}

impl Leaks {
    /// Adds a secret value (ignored when blank or already known).
    pub fn add(&mut self, value: &str) {
        if value.trim().is_empty() || self.secrets.iter().any(|(v, _)| v == value) {
            return;
        }
        let mut forms = vec![value.to_string(), url_encoded(value)];
        if let Ok(json) = serde_json::to_string(value) {
            forms.push(json.trim_matches('"').to_string());
        }
        forms.sort();
        forms.dedup();
        self.secrets.push((value.to_string(), forms));
    }

    /// Adds every secret value in a `tokens.json` as loa wrote it (the values loa really holds).
    pub fn add_token_store(&mut self, path: &Path) -> usize {
        let raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("tokens.json")).unwrap();
        let mut found = 0;
        for (platform, key) in [
            ("facebook", "page_token"),
            ("zalo", "access_token"),
            ("zalo", "refresh_token"),
            ("zalo", "pkce_verifier"),
        ] {
            if let Some(value) = raw[platform][key].as_str() {
                self.add(value);
                found += 1;
            }
        }
        found
    }

    /// How many values are known.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Panics, naming the place and the secret's first characters only, if any form of any
    /// secret occurs in `text`.
    pub fn assert_none_in(&self, place: &str, text: &str) {
        for (value, forms) in &self.secrets {
            for form in forms {
                assert!(
                    !text.contains(form.as_str()),
                    "a secret ({}…) appears in {place}",
                    value.chars().take(6).collect::<String>()
                );
            }
        }
    }

    /// [`Leaks::assert_none_in`] over every file under `dir` (bytes read lossily), except the
    /// files named in `skip` (the token store, whose job is to hold them).
    pub fn assert_none_under(&self, dir: &Path, skip: &[&Path]) -> usize {
        let mut files = 0;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if !skip.contains(&path.as_path()) {
                    let bytes = std::fs::read(&path).unwrap_or_default();
                    self.assert_none_in(
                        &path.display().to_string(),
                        &String::from_utf8_lossy(&bytes),
                    );
                    files += 1;
                }
            }
        }
        files
    }
}

/// `value` percent-encoded as a query string would carry it (unreserved characters kept).
pub fn url_encoded(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
