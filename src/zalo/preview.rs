//! What `loa preview` shows of a Zalo article: the exact requests the client sends (create,
//! verify, the broadcast when it is on, and what is sent if Zalo refuses the cover), and the
//! article as followers will see it.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::i18n::tr;
use crate::post::Post;
use crate::render::zalo::{BodyItem, broadcasts, cover_fallback_requests, render, requests};

/// `requests` and `if_cover_refused`, for the JSON preview.
pub fn json(post: &Post, config: &Config) -> Map<String, Value> {
    let article = render(post, config);
    let mut out = Map::new();
    out.insert(
        "requests".into(),
        json!(requests(&article, broadcasts(post, config))),
    );
    out.insert(
        "if_cover_refused".into(),
        json!(cover_fallback_requests(&article, config)),
    );
    out
}

/// The article as followers will see it.
pub fn text(post: &Post, config: &Config, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "══ Zalo ══")?;
    let a = render(post, config);
    writeln!(out, "{}: {}", tr("Title", "Tiêu đề"), a.title)?;
    writeln!(out, "{}: {}", tr("Author", "Tác giả"), a.author)?;
    writeln!(out, "{}: {}", tr("Description", "Mô tả"), a.description)?;
    writeln!(out, "{}: {}", tr("Cover", "Ảnh bìa"), a.cover.photo_url)?;
    let yes_no = if broadcasts(post, config) {
        tr("yes", "có")
    } else {
        tr("no", "không")
    };
    writeln!(
        out,
        "{}: {yes_no}",
        tr("Send to followers", "Gửi tới người quan tâm")
    )?;
    for item in &a.body {
        match item {
            BodyItem::Text { content } => writeln!(out, "[{}] {content}", tr("text", "chữ"))?,
            BodyItem::Image { url, caption } => {
                writeln!(out, "[{}] {url} {caption}", tr("image", "ảnh"))?
            }
        }
    }
    Ok(())
}
