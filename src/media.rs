//! Local images as public URLs.
//!
//! Zalo downloads every image itself from a public https URL; it takes no uploads for articles.
//! So the posts folder's images are served at `media.public_base_url` (by the commune's web host
//! or any static file server), and loa maps `posts_dir/images/Ảnh 1.png` to
//! `{public_base_url}images/%E1%BA%A2nh%201.png`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded inside a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The public URL of `rel` (a `/`-separated path under `posts_dir`), under `base` (ending in `/`).
pub fn public_url(base: &str, rel: &str) -> String {
    let encoded: Vec<String> = rel
        .split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect();
    format!("{base}{}", encoded.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_each_segment() {
        assert_eq!(
            public_url("https://x.gov.vn/m/", "images/Ảnh 1.png"),
            "https://x.gov.vn/m/images/%E1%BA%A2nh%201.png"
        );
        assert_eq!(
            public_url("https://x/", "a/b-c_d.e~f.jpg"),
            "https://x/a/b-c_d.e~f.jpg"
        );
    }
}
