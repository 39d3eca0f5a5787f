//! A post for a Facebook Page: plain text (Facebook shows no Markdown or HTML), photos, and the
//! link attachment.
//!
//! The text keeps the post readable: paragraphs, headings on their own lines, lists as `•` or
//! `1.`, links as `text (url)`, quotes behind `│`, tables as one line per row. Images leave the
//! text and become the post's photos; tags become hashtags.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::post::markdown::{Block, Document, Inline, is_safe_link};
use crate::post::{Image, Post};
use crate::render::request::{Body, Part, Request};

/// What loa publishes on Facebook for one post.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FacebookPost {
    /// The post's text.
    pub message: String,
    /// The link attachment (`facebook.link`), only for posts without photos.
    pub link: Option<String>,
    /// Photos in order: the cover, then the body's images (each once).
    pub photos: Vec<Photo>,
}

/// A photo to attach.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Photo {
    /// Uploaded from disk as multipart `source`.
    File {
        /// The file.
        path: PathBuf,
        /// Its MIME type.
        content_type: &'static str,
        /// Its size.
        bytes: u64,
    },
    /// Fetched by Facebook from a public URL.
    Url(String),
}

/// Renders `post` for Facebook.
pub fn render(post: &Post) -> FacebookPost {
    let photos = photos(post);
    let mut message = post.title.clone();
    let body = plain_text_of(&post.doc);
    if !body.is_empty() {
        message.push_str("\n\n");
        message.push_str(&body);
    }
    let mut link = post.facebook.link.clone();
    // A feed post with photos has no link attachment: the link goes into the text instead.
    if !photos.is_empty()
        && let Some(l) = link.take()
        && !message.contains(&l)
    {
        message.push_str("\n\n");
        message.push_str(&l);
    }
    let hashtags: Vec<String> = post.tags.iter().filter_map(|t| hashtag(t)).collect();
    if !hashtags.is_empty() {
        message.push_str("\n\n");
        message.push_str(&hashtags.join(" "));
    }
    FacebookPost {
        message,
        link,
        photos,
    }
}

/// Facebook's reported limit on a post's text, in characters.
pub const MESSAGE_MAX: usize = 63_206;

fn photos(post: &Post) -> Vec<Photo> {
    let mut out: Vec<Photo> = Vec::new();
    for image in post.cover.iter().chain(&post.images) {
        if let Some(photo) = photo(image)
            && !out.contains(&photo)
        {
            out.push(photo);
        }
    }
    out
}

fn photo(image: &Image) -> Option<Photo> {
    match (&image.local, &image.public_url) {
        (Some(local), _) => Some(Photo::File {
            path: local.path.clone(),
            content_type: local.format.mime(),
            bytes: local.bytes,
        }),
        (None, Some(url)) => Some(Photo::Url(url.clone())),
        (None, None) => None,
    }
}

/// `chinh-quyen-so` → `#ChinhQuyenSo`; `wifi` → `#wifi`. Facebook ends a hashtag at the first
/// character that is not a letter, digit or `_`, so separators are dropped.
pub fn hashtag(tag: &str) -> Option<String> {
    let words: Vec<&str> = tag
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [] => None,
        [one] => Some(format!("#{one}")),
        many => {
            let joined: String = many
                .iter()
                .map(|w| {
                    let mut chars = w.chars();
                    chars
                        .next()
                        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
                })
                .collect();
            Some(format!("#{joined}"))
        }
    }
}

/// Facebook accepts scheduled posts from 10 minutes to (at least) 30 days ahead.
pub const NATIVE_MIN_LEAD: chrono::Duration = chrono::Duration::minutes(10);
/// The longest lead loa uses (sources disagree beyond 30 days).
pub const NATIVE_MAX_LEAD: chrono::Duration = chrono::Duration::days(30);

/// When Facebook's own scheduler is to publish a post due at `due`, if it is sent `now`:
/// with `native_schedule` on and `due` 10 minutes to 30 days ahead. `None`: published at once.
/// The client and `loa preview` both decide with this.
pub fn native_time(
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    native_schedule: bool,
) -> Option<DateTime<Utc>> {
    let lead = due - now;
    (native_schedule && (NATIVE_MIN_LEAD..=NATIVE_MAX_LEAD).contains(&lead)).then_some(due)
}

/// The stand-in for the id of the `n`th uploaded photo (1-based) in the requests that follow the
/// uploads: the client puts the id Facebook gave in its place; `loa preview` shows it as is.
pub fn photo_placeholder(n: usize) -> String {
    format!("{{photo_{n}_id}}")
}

/// The requests that publish `fb` on the config's Page: what `loa preview` shows and, field for
/// field, what the client sends (it adds only the token). `scheduled` is the time Facebook's own
/// scheduler is to publish it at (native scheduling), `None` to publish at once.
pub fn requests(
    fb: &FacebookPost,
    config: &Config,
    scheduled: Option<DateTime<Utc>>,
) -> Vec<Request> {
    requests_for(
        fb,
        &config.facebook.api_version,
        &config.facebook.page_id,
        scheduled,
    )
}

/// [`requests`] for Page `page_id` on Graph API version `api_version`.
///
/// - Text or link: one `POST /feed`.
/// - One photo, published now: one `POST /photos` with the text as caption (its `post_id` is
///   the post).
/// - Several photos, or any photo post Facebook holds for later: each photo uploaded
///   unpublished (`temporary` when scheduled, as Facebook requires), then one `POST /feed`
///   attaching them.
///
/// Held for later, the post carries `published=false` and `scheduled_publish_time`.
pub fn requests_for(
    fb: &FacebookPost,
    api_version: &str,
    page_id: &str,
    scheduled: Option<DateTime<Utc>>,
) -> Vec<Request> {
    let base = format!("/{api_version}/{page_id}");
    let photo_part = |p: &Photo| match p {
        Photo::File {
            path,
            content_type,
            bytes,
        } => (
            "source".to_string(),
            Part::File {
                file: crate::paths::display(path).display().to_string(),
                content_type,
                bytes: *bytes,
                path: path.clone(),
            },
        ),
        Photo::Url(url) => ("url".to_string(), Part::Text(url.clone())),
    };
    let feed = |attached: usize| {
        let mut form = vec![("message".to_string(), fb.message.clone())];
        if let Some(link) = &fb.link {
            form.push(("link".into(), link.clone()));
        }
        for i in 0..attached {
            form.push((
                format!("attached_media[{i}]"),
                serde_json::json!({ "media_fbid": photo_placeholder(i + 1) }).to_string(),
            ));
        }
        if let Some(at) = scheduled {
            form.push(("published".into(), "false".into()));
            form.push(("scheduled_publish_time".into(), at.timestamp().to_string()));
        }
        Request {
            method: "POST",
            path: format!("{base}/feed"),
            body: Body::Form(form),
        }
    };
    match (fb.photos.as_slice(), scheduled) {
        ([], _) => vec![feed(0)],
        ([one], None) => vec![Request {
            method: "POST",
            path: format!("{base}/photos"),
            body: Body::Multipart(vec![
                photo_part(one),
                ("caption".into(), Part::Text(fb.message.clone())),
            ]),
        }],
        (photos, _) => {
            // Uploads are not posts: repeating one is harmless, so they go first.
            let mut out: Vec<Request> = photos
                .iter()
                .map(|p| {
                    let mut parts = vec![
                        photo_part(p),
                        ("published".into(), Part::Text("false".into())),
                    ];
                    if scheduled.is_some() {
                        parts.push(("temporary".into(), Part::Text("true".into())));
                    }
                    Request {
                        method: "POST",
                        path: format!("{base}/photos"),
                        body: Body::Multipart(parts),
                    }
                })
                .collect();
            out.push(feed(photos.len()));
            out
        }
    }
}

/// The body as readable plain text.
pub fn plain_text_of(doc: &Document) -> String {
    let chunks = blocks(&doc.blocks, doc, 0);
    let text = chunks.join("\n\n");
    // Dropped images and HTML can leave blank runs behind.
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

const BULLETS: [&str; 3] = ["•", "◦", "▪"];

fn blocks(blocks: &[Block], doc: &Document, depth: usize) -> Vec<String> {
    blocks
        .iter()
        .map(|b| block(b, doc, depth))
        .filter(|s| !s.trim().is_empty())
        .collect()
}

fn block(b: &Block, doc: &Document, depth: usize) -> String {
    match b {
        Block::Paragraph(content) | Block::Heading { content, .. } => {
            squeeze_spaces(&inlines(content))
        }
        Block::List { start, items } => {
            let mut lines = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let marker = match start {
                    Some(n) => format!("{}.", n + i as u64),
                    None => BULLETS[depth % BULLETS.len()].to_string(),
                };
                let pad = " ".repeat(marker.chars().count() + 1);
                let text = blocks(item, doc, depth + 1).join("\n");
                for (j, line) in text.lines().enumerate() {
                    if j == 0 {
                        lines.push(format!("{marker} {line}"));
                    } else if line.is_empty() {
                        lines.push(String::new());
                    } else {
                        lines.push(format!("{pad}{line}"));
                    }
                }
                if text.is_empty() {
                    lines.push(marker);
                }
            }
            lines.join("\n")
        }
        Block::Quote(inner) => blocks(inner, doc, depth)
            .join("\n\n")
            .lines()
            .map(|l| {
                if l.is_empty() {
                    "│".to_string()
                } else {
                    format!("│ {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Code(code) => code.clone(),
        Block::Table { head, rows } => table(head, rows),
        Block::Rule => "———".into(),
    }
}

/// Dropped images and HTML leave double spaces behind; prose never needs them.
fn squeeze_spaces(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn table(head: &[Vec<Inline>], rows: &[Vec<Vec<Inline>>]) -> String {
    let head: Vec<String> = head.iter().map(|c| inlines(c).trim().to_string()).collect();
    let has_head = head.iter().any(|h| !h.is_empty());
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let cell = inlines(c).trim().to_string();
                    match head.get(i) {
                        Some(h) if has_head && !h.is_empty() => format!("{h}: {cell}"),
                        _ => cell,
                    }
                })
                .collect();
            format!("• {}", cells.join("; "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn inlines(content: &[Inline]) -> String {
    let mut out = String::new();
    for inline in content {
        match inline {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Strong(c) | Inline::Emph(c) | Inline::Strike(c) => out.push_str(&inlines(c)),
            Inline::Link { url, content } => out.push_str(&link(url, content)),
            // Images become photos, not text.
            Inline::Image(_) => {}
            Inline::SoftBreak => out.push(' '),
            Inline::HardBreak => out.push('\n'),
        }
    }
    out
}

fn link(url: &str, content: &[Inline]) -> String {
    let text = inlines(content).trim().to_string();
    if !is_safe_link(url) {
        return text;
    }
    let shown = url
        .strip_prefix("mailto:")
        .or_else(|| url.strip_prefix("tel:"))
        .unwrap_or(url);
    let bare = |s: &str| {
        s.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    };
    if text.is_empty() || text == shown || bare(&text) == bare(shown) {
        shown.to_string()
    } else {
        format!("{text} ({shown})")
    }
}
