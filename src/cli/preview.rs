//! `loa preview FILE [--format text|json]`: what each channel would receive. Sends nothing.

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;

use crate::channel::Channel;
use crate::cli::PreviewFormat;
use crate::config::Config;
use crate::i18n::tr;
use crate::post::{self, Post, PublishAt};
use crate::render::{facebook, zalo};

/// Previews `file`. Exit code 1 when the post has errors (they are printed instead).
pub fn run(
    config: &Config,
    file: &Path,
    format: PreviewFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
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
    match format {
        PreviewFormat::Json => {
            let doc = json_preview(&post, config);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
        }
        PreviewFormat::Text => text_preview(&post, config, out)?,
    }
    Ok(0)
}

/// The JSON document: the post's identity and, per channel, the exact requests.
pub fn json_preview(post: &Post, config: &Config) -> serde_json::Value {
    let mut channels = serde_json::Map::new();
    for channel in &post.channels {
        let requests = match channel {
            Channel::Facebook => facebook::requests(&facebook::render(post), config),
            Channel::Zalo => {
                zalo::requests(&zalo::render(post, config), zalo::broadcasts(post, config))
            }
        };
        channels.insert(channel.name().into(), json!({ "requests": requests }));
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

fn text_preview(post: &Post, config: &Config, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} — {}",
        crate::paths::display(&post.path).display(),
        post.title
    )?;
    let when = match post.publish_at {
        None => {
            let slots: Vec<String> = config
                .schedule
                .slots
                .iter()
                .map(ToString::to_string)
                .collect();
            tr(
                format!("next free slot ({})", slots.join(", ")),
                format!("khung giờ trống kế tiếp ({})", slots.join(", ")),
            )
        }
        Some(PublishAt::Now) => tr("now".into(), "ngay".into()),
        Some(PublishAt::At(t)) => format!(
            "{} ({})",
            t.format("%Y-%m-%d %H:%M"),
            config.timezone.name()
        ),
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
        match channel {
            Channel::Facebook => {
                writeln!(out, "══ Facebook ══")?;
                let fb = facebook::render(post);
                writeln!(out, "{}", fb.message)?;
                for photo in &fb.photos {
                    match photo {
                        facebook::Photo::File { path, bytes, .. } => writeln!(
                            out,
                            "[{}] {} ({})",
                            tr("photo", "ảnh"),
                            crate::paths::display(path).display(),
                            post::source::human_size(*bytes)
                        )?,
                        facebook::Photo::Url(url) => {
                            writeln!(out, "[{}] {url}", tr("photo", "ảnh"))?
                        }
                    }
                }
                if let Some(link) = &fb.link {
                    writeln!(out, "[{}] {link}", tr("link", "liên kết"))?;
                }
            }
            Channel::Zalo => {
                writeln!(out, "══ Zalo ══")?;
                let a = zalo::render(post, config);
                writeln!(out, "{}: {}", tr("Title", "Tiêu đề"), a.title)?;
                writeln!(out, "{}: {}", tr("Author", "Tác giả"), a.author)?;
                writeln!(out, "{}: {}", tr("Description", "Mô tả"), a.description)?;
                writeln!(out, "{}: {}", tr("Cover", "Ảnh bìa"), a.cover.photo_url)?;
                let yes_no = if zalo::broadcasts(post, config) {
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
                        zalo::BodyItem::Text { content } => {
                            writeln!(out, "[{}] {content}", tr("text", "chữ"))?
                        }
                        zalo::BodyItem::Image { url, caption } => {
                            writeln!(out, "[{}] {url} {caption}", tr("image", "ảnh"))?
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
