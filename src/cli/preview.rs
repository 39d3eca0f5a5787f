//! `loa preview FILE [--format text|json]`: what each channel would receive. Sends nothing.

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;

use crate::app::preview::{DueFrom, Timing};
use crate::cli::PreviewFormat;
use crate::config::Config;
use crate::i18n::tr;
use crate::post::{self, Post, PublishAt};

/// Previews `file`. Exit code 1 when the post has errors (they are printed instead).
pub fn run(
    config: &Config,
    file: &Path,
    format: PreviewFormat,
    at: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let at = match at.map(|s| post::publish_at::parse_publish_at(s, config.timezone)) {
        None => None,
        Some(Ok(PublishAt::At(t))) => Some(t.with_timezone(&chrono::Utc)),
        Some(Ok(PublishAt::Now)) => Some(chrono::Utc::now()),
        Some(Err(e)) => {
            writeln!(
                err,
                "--at: {} — {}: {}",
                e.message,
                tr("fix", "cách sửa"),
                e.fix
            )?;
            return Ok(2);
        }
    };
    let loaded = crate::channels::load(file, config);
    for p in &loaded.problems {
        writeln!(err, "{p}")?;
    }
    let Some(post) = loaded.post else {
        writeln!(
            err,
            "{}",
            tr(
                "fix the errors above, then preview again",
                "sửa các lỗi trên rồi xem trước lại"
            )
        )?;
        return Ok(1);
    };
    let timing = crate::app::preview::timing(&post, config, chrono::Utc::now(), at);
    match format {
        PreviewFormat::Json => {
            let doc = json_preview(&post, config, &timing);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
        }
        PreviewFormat::Text => text_preview(&post, config, &timing, out)?,
    }
    Ok(0)
}

/// The JSON document: the post's identity and, per channel, when it goes out and the exact
/// requests the client will send then (a Zalo article also shows what is sent if Zalo refuses
/// its cover).
pub fn json_preview(post: &Post, config: &Config, timing: &Timing) -> serde_json::Value {
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&config.timezone).to_rfc3339();
    let mut channels = serde_json::Map::new();
    for channel in &post.channels {
        let (due, from) = timing
            .due
            .get(channel)
            .copied()
            .unwrap_or((None, DueFrom::NextSlot));
        let mut entry = serde_json::Map::new();
        entry.insert("due_at".into(), json!(due.map(local)));
        entry.insert("due_from".into(), json!(from));
        if let Some(spec) = crate::channels::spec(*channel) {
            entry.extend(spec.preview_json(post, config, due, timing.now));
        }
        let entry = serde_json::Value::Object(entry);
        channels.insert(channel.name().into(), entry);
    }
    json!({
        "file": crate::paths::display(&post.path),
        "title": post.title,
        "publish_at": publish_at_json(post.publish_at),
        "timezone": config.timezone.name(),
        "draft": post.draft,
        "channels": channels,
    })
}

fn publish_at_json(at: Option<PublishAt>) -> serde_json::Value {
    match at {
        None => serde_json::Value::Null,
        Some(PublishAt::Now) => json!("now"),
        Some(PublishAt::At(t)) => json!(t.to_rfc3339()),
    }
}

fn text_preview(
    post: &Post,
    config: &Config,
    timing: &Timing,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{} — {}",
        crate::paths::display(&post.path).display(),
        post.title
    )?;
    let local = |t: chrono::DateTime<chrono::Utc>| {
        let t = t.with_timezone(&config.timezone);
        format!(
            "{} ({})",
            tr(
                t.format("%Y-%m-%d %H:%M").to_string(),
                t.format("%d/%m/%Y %H:%M").to_string()
            ),
            config.timezone.name()
        )
    };
    // Every channel goes out at the same time unless the queue gave them different slots.
    let dues: Vec<_> = timing.due.values().collect();
    let due = dues
        .first()
        .map(|d| d.0)
        .filter(|t| dues.iter().all(|d| d.0 == *t));
    let why = match (dues.first().map(|d| d.1), post.publish_at) {
        (Some(DueFrom::Asked), _) => Some(tr("asked with --at", "theo --at").to_string()),
        (_, None) => {
            let slots: Vec<String> = config
                .schedule
                .slots
                .iter()
                .map(ToString::to_string)
                .collect();
            Some(tr(
                format!("weekly slot ({})", slots.join(", ")),
                format!("khung giờ hằng tuần ({})", slots.join(", ")),
            ))
        }
        (_, Some(PublishAt::Now)) => Some(tr("now", "ngay").to_string()),
        (_, Some(PublishAt::At(_))) => None,
    };
    let when = match (due.flatten(), why) {
        (Some(t), Some(why)) => format!("{} — {why}", local(t)),
        (Some(t), None) => local(t),
        (None, Some(why)) => why,
        (None, None) => tr("no free slot", "không còn khung giờ trống").to_string(),
    };
    writeln!(out, "{}: {when}", tr("Publish", "Đăng lúc"))?;
    if post.draft {
        writeln!(
            out,
            "{}",
            tr(
                "Draft: checked, never published",
                "Bản nháp: được kiểm tra, không đăng"
            )
        )?;
    }
    if post.channels.is_empty() {
        writeln!(
            out,
            "{}",
            tr(
                "No enabled channel: nothing will be published.",
                "Không có kênh nào đang bật: bài sẽ không được đăng."
            )
        )?;
    }
    for channel in &post.channels {
        writeln!(out)?;
        let due = timing.due.get(channel).and_then(|d| d.0);
        if let Some(spec) = crate::channels::spec(*channel) {
            spec.preview_text(post, config, due, timing.now, out)?;
        }
    }
    Ok(())
}
