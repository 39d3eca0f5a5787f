//! Property tests: no input, however broken, makes the post reader or the renderers panic, and
//! the Zalo HTML never holds a tag outside the allowed set.

mod common;

use std::path::Path;

use proptest::prelude::*;

use loa::post;
use loa::render::{facebook, markdown, zalo};

/// Pieces that Markdown, YAML and HTML give meaning to, mixed with Vietnamese and emoji.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("---\n".to_string()),
        Just("title: ".to_string()),
        Just("\"".to_string()),
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just("# ".to_string()),
        Just("> ".to_string()),
        Just("- ".to_string()),
        Just("  - ".to_string()),
        Just("1. ".to_string()),
        Just("**".to_string()),
        Just("_".to_string()),
        Just("`".to_string()),
        Just("```\n".to_string()),
        Just("[".to_string()),
        Just("](".to_string()),
        Just(")".to_string()),
        Just("![".to_string()),
        Just("https://example.gov.vn/a_(b)".to_string()),
        Just("javascript:alert(1)".to_string()),
        Just("| a | b |\n|---|---|\n| c | d |\n".to_string()),
        Just("<script>".to_string()),
        Just("</div>".to_string()),
        Just("<!--".to_string()),
        Just("&amp;".to_string()),
        Just("\t".to_string()),
        Just("\r\n".to_string()),
        Just("Việt Nam".to_string()),
        Just("Vie\u{302}\u{323}t".to_string()),
        Just("📢👨‍👩‍👧".to_string()),
        "[a-zđơư ]{0,12}".prop_map(String::from),
    ]
}

fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let loaded = post::load_bytes(Path::new("random.md"), &bytes, &common::config());
        prop_assert!(loaded.post.is_some() || !loaded.problems.is_empty());
    }

    #[test]
    fn random_posts_never_panic(body in markdownish(), fm in markdownish()) {
        let text = format!("---\n{fm}\n---\n{body}");
        let _ = post::load_bytes(Path::new("random.md"), text.as_bytes(), &common::config());
        let _ = post::load_bytes(Path::new("random.md"), fm.as_bytes(), &common::config());
    }

    #[test]
    fn random_markdown_renders_safely(body in markdownish()) {
        let text = format!("---\ntitle: \"Thử\"\n---\n{body}");
        let loaded = post::load_bytes(Path::new("random.md"), text.as_bytes(), &common::config());
        if let Some(post) = loaded.post {
            let _ = facebook::render(&post);
            let article = zalo::render(&post, &common::config());
            for item in &article.body {
                if let zalo::BodyItem::Text { content } = item {
                    for (tag, _) in common::tags(content) {
                        prop_assert!(zalo::ALLOWED_TAGS.contains(&tag.as_str()), "<{}> in {}", tag, content);
                    }
                }
            }
        }
        // The plain-text renderer works on any document, not only on valid posts.
        let _ = facebook::plain_text_of(&markdown::parse(&body));
    }
}
