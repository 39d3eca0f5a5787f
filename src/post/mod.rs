//! A post: a Markdown file with YAML front matter in `posts_dir`.
//!
//! Reading is parse, then validate, then use: [`load`] reads the file ([`source`]), splits it
//! ([`split`]), parses the front matter ([`front_matter`]) and the Markdown body ([`markdown`]),
//! and checks every value and image. The platforms' own limits are not known here: a caller
//! hands them in ([`load_checked`]; `crate::channels::load` hands in every channel's). It returns
//! every problem it finds, and a [`Post`] only when there is no error.

pub mod discover;
pub mod front_matter;
pub mod images;
pub mod markdown;
pub mod publish_at;
pub mod source;
pub mod split;

use std::path::{Path, PathBuf};

use crate::channel::Channel;
use crate::config::Config;
use crate::diagnostic::{Diagnostic, Problem};
use crate::i18n::tr;
use crate::text::LineIndex;

pub use images::{Image, ImageFormat, LocalImage};
pub use publish_at::PublishAt;

use front_matter::{At, FrontMatter};
use images::UsedBy;
use markdown::Document;

/// A validated post, ready to render.
#[derive(Clone, Debug)]
pub struct Post {
    /// The file, as loa was given it.
    pub path: PathBuf,
    /// The title (NFC, trimmed).
    pub title: String,
    /// When to publish; `None` takes the next free weekly slot.
    pub publish_at: Option<PublishAt>,
    /// The channels this post goes to: those it asks for that the config enables.
    pub channels: Vec<Channel>,
    /// Tags, without a leading `#`.
    pub tags: Vec<String>,
    /// Drafts are checked but never published.
    pub draft: bool,
    /// The front-matter `cover`.
    pub cover: Option<Image>,
    /// Facebook-only settings.
    pub facebook: FacebookOptions,
    /// Zalo-only settings.
    pub zalo: ZaloOptions,
    /// The Markdown body (NFC).
    pub body: String,
    /// The parsed body.
    pub doc: Document,
    /// The body's images, in the order of `doc.images`.
    pub images: Vec<Image>,
}

/// `facebook:` in the front matter.
#[derive(Clone, Debug, Default)]
pub struct FacebookOptions {
    /// The link attachment.
    pub link: Option<String>,
}

/// `zalo:` in the front matter.
#[derive(Clone, Debug, Default)]
pub struct ZaloOptions {
    /// A title for Zalo only (its limit is 150 characters).
    pub title: Option<String>,
    /// The article's description; derived from the body when absent.
    pub description: Option<String>,
    /// The author, overriding `zalo.author` in the config.
    pub author: Option<String>,
    /// The cover, overriding `cover`.
    pub cover: Option<Image>,
    /// Push the article to followers, overriding `zalo.broadcast` in the config.
    pub broadcast: Option<bool>,
}

/// What reading a post found.
#[derive(Debug)]
pub struct Loaded {
    /// The post, when it has no error.
    pub post: Option<Post>,
    /// Every error and warning, in line order.
    pub problems: Vec<Problem>,
}

/// What a caller adds to reading a post: the limits of the channels the post goes to, checked
/// on the post as built (even one with errors, so that every problem is found at once), with
/// the front matter to point at. `post` knows no platform; `crate::channels::check` is the one
/// loa hands in.
pub type ChannelChecks<'a> = &'a dyn Fn(&Post, &FrontMatter, &mut Vec<Diagnostic>);

/// Reads and validates the post at `path`, without any channel's limits (see [`load_checked`]).
pub fn load(path: &Path, config: &Config) -> Loaded {
    load_checked(path, config, &|_, _, _| {})
}

/// Reads and validates the post at `path`, adding the problems `checks` finds.
pub fn load_checked(path: &Path, config: &Config, checks: ChannelChecks<'_>) -> Loaded {
    match source::read_post_bytes(path) {
        Ok(bytes) => load_bytes_checked(path, &bytes, config, checks),
        Err(d) => finish(path, None, vec![d]),
    }
}

/// Validates a post whose file content is `bytes`, without any channel's limits; `path` names
/// it and anchors its images.
pub fn load_bytes(path: &Path, bytes: &[u8], config: &Config) -> Loaded {
    load_bytes_checked(path, bytes, config, &|_, _, _| {})
}

/// [`load_bytes`], adding the problems `checks` finds.
pub fn load_bytes_checked(
    path: &Path,
    bytes: &[u8],
    config: &Config,
    checks: ChannelChecks<'_>,
) -> Loaded {
    match from_bytes(path, bytes, config, checks) {
        Ok((post, diags)) => finish(path, Some(post), diags),
        Err(diags) => finish(path, None, diags),
    }
}

fn finish(path: &Path, post: Option<Post>, mut diags: Vec<Diagnostic>) -> Loaded {
    let shown = crate::paths::display(path);
    diags.sort_by_key(|d| (d.line, d.col, d.severity));
    diags.dedup();
    let problems: Vec<Problem> = diags.into_iter().map(|d| d.in_file(&shown)).collect();
    let post = post.filter(|_| !problems.iter().any(Problem::is_error));
    Loaded { post, problems }
}

fn from_bytes(
    path: &Path,
    bytes: &[u8],
    config: &Config,
    checks: ChannelChecks<'_>,
) -> Result<(Post, Vec<Diagnostic>), Vec<Diagnostic>> {
    let text = source::decode(bytes).map_err(|d| vec![d])?;
    let parts = split::split(&text).map_err(|d| vec![d])?;
    let fm = front_matter::parse(parts.front_matter, parts.front_matter_line)?;
    let mut diags = Vec::new();
    let post = build(path, &fm, parts.body, parts.body_line, config, &mut diags);
    checks(&post, &fm, &mut diags);
    Ok((post, diags))
}

fn build(
    path: &Path,
    fm: &FrontMatter,
    body: &str,
    body_line: usize,
    config: &Config,
    diags: &mut Vec<Diagnostic>,
) -> Post {
    let title = match &fm.title {
        Some(t) if !t.value.trim().is_empty() => t.value.trim().to_string(),
        Some(t) => {
            diags.push(
                Diagnostic::error(
                    t.line,
                    t.col,
                    tr("the title is empty", "tiêu đề đang trống"),
                )
                .fix(tr(
                    "write the title in quotes: title: \"…\"",
                    "ghi tiêu đề trong ngoặc kép: title: \"…\"",
                )),
            );
            String::new()
        }
        None => {
            diags.push(
                Diagnostic::error(
                    1,
                    1,
                    tr("the post has no title", "bài viết chưa có tiêu đề"),
                )
                .fix(tr(
                    "add a line title: \"…\" to the front matter",
                    "thêm dòng title: \"…\" vào phần đầu",
                )),
            );
            String::new()
        }
    };
    let publish_at = fm.publish_at.as_ref().and_then(|p| {
        match publish_at::parse_publish_at(&p.value, config.timezone) {
            Ok(t) => Some(t),
            Err(e) => {
                diags.push(Diagnostic::error(p.line, p.col, e.message).fix(e.fix));
                None
            }
        }
    });
    let channels = channels(fm.channels.as_ref(), config, diags);
    let tags = fm.tags.as_ref().map_or_else(Vec::new, |t| {
        t.value
            .iter()
            .map(|s| s.trim().trim_start_matches('#').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let draft = fm.draft.as_ref().is_some_and(|d| d.value);
    let link = fm.facebook_link.as_ref().map(|l| {
        let link = l.value.trim().to_string();
        if !markdown::is_safe_link(&link) || link.starts_with("mailto:") || link.starts_with("tel:")
        {
            diags.push(
                Diagnostic::error(
                    l.line,
                    l.col,
                    tr(
                        format!("facebook.link `{link}` is not a web address"),
                        format!("facebook.link `{link}` không phải địa chỉ web"),
                    ),
                )
                .fix(tr(
                    "write the full address, starting with https://",
                    "ghi đủ địa chỉ, bắt đầu bằng https://",
                )),
            );
        }
        link
    });

    let on = |c: Channel| channels.contains(&c);
    let both = UsedBy {
        facebook: on(Channel::Facebook),
        zalo: on(Channel::Zalo),
    };
    let image_at = |a: &At<String>, used: UsedBy, diags: &mut Vec<Diagnostic>| {
        images::resolve(&a.value, "", (a.line, a.col), path, config, used, diags)
    };
    let cover = fm.cover.as_ref().map(|c| image_at(c, both, diags));
    let zalo_cover = fm.zalo_cover.as_ref().map(|c| {
        image_at(
            c,
            UsedBy {
                facebook: false,
                zalo: both.zalo,
            },
            diags,
        )
    });

    let doc = markdown::parse(body);
    let index = LineIndex::new(body);
    let locate = |offset: usize| {
        let (line, col) = index.locate(offset);
        (line + body_line - 1, col)
    };
    let body_images = doc
        .images
        .iter()
        .map(|img| {
            images::resolve(
                &img.url,
                &img.alt,
                locate(img.offset),
                path,
                config,
                both,
                diags,
            )
        })
        .collect();
    let mut html_lines: Vec<usize> = Vec::new();
    for &offset in &doc.raw_html {
        let (line, col) = locate(offset);
        if !html_lines.contains(&line) {
            html_lines.push(line);
            diags.push(Diagnostic::warning(line, col, tr("raw HTML is not published (Facebook shows plain text, Zalo allows only simple formatting)", "mã HTML sẽ bị bỏ khi đăng (Facebook chỉ hiện chữ, Zalo chỉ cho định dạng đơn giản)")).fix(tr("write it in Markdown: **bold**, *italic*, [text](https://…), - lists", "viết bằng Markdown: **đậm**, *nghiêng*, [chữ](https://…), - danh sách")));
        }
    }

    let text = |a: &Option<At<String>>| {
        a.as_ref()
            .map(|a| a.value.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Post {
        path: path.to_path_buf(),
        title,
        publish_at,
        channels,
        tags,
        draft,
        cover,
        facebook: FacebookOptions { link },
        zalo: ZaloOptions {
            title: text(&fm.zalo_title),
            description: text(&fm.zalo_description),
            author: text(&fm.zalo_author),
            cover: zalo_cover,
            broadcast: fm.zalo_broadcast.as_ref().map(|b| b.value),
        },
        body: body.to_string(),
        doc,
        images: body_images,
    }
}

fn channels(
    requested: Option<&At<Vec<String>>>,
    config: &Config,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Channel> {
    let enabled = config.enabled_channels();
    let Some(req) = requested else { return enabled };
    let known = Channel::ALL.map(Channel::name).join(", ");
    let mut out = Vec::new();
    for name in &req.value {
        match Channel::parse(name) {
            None => diags.push(
                Diagnostic::error(
                    req.line,
                    req.col,
                    tr(
                        format!("unknown channel `{name}`"),
                        format!("kênh `{name}` không có"),
                    ),
                )
                .fix(tr(
                    format!("the channels are: {known}"),
                    format!("các kênh: {known}"),
                )),
            ),
            Some(c) if !enabled.contains(&c) => diags.push(Diagnostic::warning(
                req.line,
                req.col,
                tr(
                    format!(
                        "channel `{c}` is disabled in the config, so this post will not go there"
                    ),
                    format!("kênh `{c}` đang tắt trong cấu hình nên bài sẽ không đăng lên đó"),
                ),
            )),
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
        }
    }
    if req.value.is_empty() {
        diags.push(Diagnostic::error(req.line, req.col, tr("channels is empty", "channels đang trống")).fix(tr(format!("list where to publish, e.g. channels: [{known}], or delete the line to use every enabled channel"), format!("ghi nơi đăng, ví dụ channels: [{known}], hoặc xóa dòng để đăng lên mọi kênh đang bật"))));
    }
    out.sort();
    out
}

impl Post {
    /// Whether this post goes to `channel`.
    pub fn goes_to(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }
}

#[cfg(test)]
pub(crate) mod tests;
