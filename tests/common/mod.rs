//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use loa::config::Config;

/// A config with both channels on, English messages, and a public media URL.
pub const TEST_CONFIG: &str = r#"
timezone = "Asia/Ho_Chi_Minh"
posts_dir = "fixtures/render"
language = "en"
[facebook]
page_id = "123456789012345"
[zalo]
app_id = "1234567890"
author = "UBND xã Thanh Kỳ"
default_cover_url = "https://example.gov.vn/logo.jpg"
[media]
public_base_url = "https://example.gov.vn/loa-media/"
"#;

/// [`TEST_CONFIG`], parsed.
pub fn config() -> Config {
    Config::parse(TEST_CONFIG).expect("the test config is valid")
}

/// Every tag name opened or closed in `html`, lower-cased, with its attribute text.
pub fn tags(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').expect("every < in rendered HTML closes");
        let inner = after[..end].trim_start_matches('/');
        let (name, attrs) = inner.split_once(' ').unwrap_or((inner, ""));
        out.push((name.to_ascii_lowercase(), attrs.to_string()));
        rest = &after[end + 1..];
    }
    out
}
pub mod fake;
pub mod leak;
pub mod metrics;
pub mod proof;
pub mod served;
pub mod smtp;
pub mod world;
