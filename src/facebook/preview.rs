//! What `loa preview` shows of a Facebook post: the exact requests the client sends when the post
//! goes out at its due time (handed to Facebook's scheduler when it is 10 minutes to 30 days
//! ahead), and the text, photos and link as people will see them.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::i18n::tr;
use crate::post::Post;
use crate::render::facebook::{Photo, native_time, render, requests};

/// When Facebook's own scheduler publishes a post due at `due`, if loa sends it `now`.
fn scheduled(
    config: &Config,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    due.and_then(|due| native_time(due, now, config.facebook.native_schedule))
}

/// `native_scheduling` and `requests`, for the JSON preview.
pub fn json(
    post: &Post,
    config: &Config,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    let at = scheduled(config, due, now);
    let mut out = Map::new();
    out.insert("native_scheduling".into(), json!(at.is_some()));
    out.insert(
        "requests".into(),
        json!(requests(&render(post), config, at)),
    );
    out
}

/// The post as people will see it on the Page.
pub fn text(
    post: &Post,
    config: &Config,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "══ Facebook ══")?;
    if let Some(at) = scheduled(config, due, now) {
        let at = at.with_timezone(&config.timezone);
        writeln!(
            out,
            "{}",
            tr(
                format!(
                    "Handed to Facebook now, which publishes it itself at {} ({})",
                    at.format("%Y-%m-%d %H:%M"),
                    config.timezone.name()
                ),
                format!(
                    "Giao cho Facebook ngay, Facebook tự đăng lúc {} ({})",
                    at.format("%d/%m/%Y %H:%M"),
                    config.timezone.name()
                ),
            )
        )?;
    }
    let fb = render(post);
    writeln!(out, "{}", fb.message)?;
    for photo in &fb.photos {
        match photo {
            Photo::File { path, bytes, .. } => writeln!(
                out,
                "[{}] {} ({})",
                tr("photo", "ảnh"),
                crate::paths::display(path).display(),
                crate::post::source::human_size(*bytes)
            )?,
            Photo::Url(url) => writeln!(out, "[{}] {url}", tr("photo", "ảnh"))?,
        }
    }
    if let Some(link) = &fb.link {
        writeln!(out, "[{}] {link}", tr("link", "liên kết"))?;
    }
    Ok(())
}
