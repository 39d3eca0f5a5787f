//! A post as a Zalo OA article: title, author, description, cover, and a body of `text` items
//! (HTML limited to what Zalo shows) and `image` items (public URLs).
//!
//! Only tags from [`ALLOWED_TAGS`] are ever written, and every piece of text is HTML-escaped:
//! raw HTML in the Markdown never reaches the article.

use pulldown_cmark_escape::escape_html;
use serde::Serialize;

use crate::config::Config;
use crate::post::markdown::{Block, Document, Inline, first_paragraph, is_safe_link};
use crate::post::{Image, Post};
use crate::render::request::{Body, Request};
use crate::text::truncate_at_word;

/// Zalo rejects a title over 150 characters.
pub const TITLE_MAX: usize = 150;
/// Past this, a title has been seen rejected (exactly 150 was): warn.
pub const TITLE_WARN: usize = 140;
/// Zalo rejects a description over 300 characters.
pub const DESCRIPTION_MAX: usize = 300;
/// A derived description is cut near this length; exactly 300 has been seen rejected.
pub const DESCRIPTION_CUT: usize = 250;

/// The HTML tags a `text` item may contain.
pub const ALLOWED_TAGS: [&str; 14] = [
    "p", "br", "b", "i", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
];

/// The body of `POST /v2.0/article/create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Article {
    /// Always `normal`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// ≤ 150 characters.
    pub title: String,
    /// ≤ 50 characters; left out when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// ≤ 300 characters.
    pub description: String,
    /// The cover photo.
    pub cover: Cover,
    /// Text and image items, in order.
    pub body: Vec<BodyItem>,
    /// `show`: Zalo's default is `hide`.
    pub status: &'static str,
    /// `show`: comments on.
    pub comment: &'static str,
}

/// An article's cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cover {
    /// Always `photo`.
    pub cover_type: &'static str,
    /// Public URL of the picture; empty when the post has none (an error in `loa check`).
    pub photo_url: String,
    /// Always `show`; without it Zalo fails with "create media fail".
    pub status: &'static str,
}

/// One item of an article's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BodyItem {
    /// HTML from [`ALLOWED_TAGS`].
    Text {
        /// The HTML.
        content: String,
    },
    /// A picture Zalo downloads.
    Image {
        /// Public URL.
        url: String,
        /// Alt text from the Markdown.
        #[serde(skip_serializing_if = "String::is_empty")]
        caption: String,
    },
}

/// Renders `post` as a Zalo article.
pub fn render(post: &Post, config: &Config) -> Article {
    let description = match &post.zalo.description {
        Some(d) => d.clone(),
        None => first_paragraph(&post.doc).map_or_else(
            || post.title.clone(),
            |p| truncate_at_word(&p, DESCRIPTION_CUT),
        ),
    };
    Article {
        kind: "normal",
        title: zalo_title(post).to_string(),
        author: post
            .zalo
            .author
            .clone()
            .unwrap_or_else(|| config.zalo.author.clone()),
        description,
        cover: Cover {
            cover_type: "photo",
            photo_url: cover_url(post, config).unwrap_or_default(),
            status: "show",
        },
        body: body(&post.doc, &post.images),
        status: "show",
        comment: "show",
    }
}

/// Whether this post's article is also pushed to followers.
pub fn broadcasts(post: &Post, config: &Config) -> bool {
    post.zalo.broadcast.unwrap_or(config.zalo.broadcast)
}

/// The requests that publish `article` (shown by `loa preview`): create, verify with the token
/// create returns, and the broadcast when it is on.
pub fn requests(article: &Article, broadcast: bool) -> Vec<Request> {
    let mut out = create_and_verify(article);
    if broadcast {
        out.push(Request {
            method: "POST",
            path: "/v2.0/oa/message".into(),
            body: Body::Json(broadcast_body("{article id from verify}")),
        });
    }
    out
}

/// Where an article is created.
pub const CREATE_PATH: &str = "/v2.0/article/create";

/// The body of `POST /v2.0/article/create` for `article`: what the client sends.
pub fn create_body(article: &Article) -> serde_json::Value {
    serde_json::to_value(article).unwrap_or_default()
}

/// Create `article`, then verify with the token the create returns.
fn create_and_verify(article: &Article) -> Vec<Request> {
    vec![
        Request {
            method: "POST",
            path: CREATE_PATH.into(),
            body: Body::Json(create_body(article)),
        },
        Request {
            method: "POST",
            path: "/v2.0/article/verify".into(),
            body: Body::Json(serde_json::json!({ "token": "{token from create}" })),
        },
    ]
}

/// `article` with the configured default cover, when there is one and it differs: what loa
/// creates once more if Zalo cannot fetch the article's own cover.
pub fn with_default_cover(article: &Article, config: &Config) -> Option<Article> {
    let default = config.zalo.default_cover_url.as_ref()?;
    (*default != article.cover.photo_url).then(|| {
        let mut fallback = article.clone();
        fallback.cover.photo_url = default.clone();
        fallback
    })
}

/// The requests sent if Zalo refuses the article's cover (error -200 at verify): the article
/// created once more with the default cover, and verified. Empty when there is no other cover.
pub fn cover_fallback_requests(article: &Article, config: &Config) -> Vec<Request> {
    with_default_cover(article, config)
        .map(|a| create_and_verify(&a))
        .unwrap_or_default()
}

/// The body of `POST /v2.0/oa/message` that sends article `id` to every follower.
pub fn broadcast_body(id: &str) -> serde_json::Value {
    serde_json::json!({
        "recipient": { "target": {} },
        "message": { "attachment": { "type": "template", "payload": {
            "template_type": "media",
            "elements": [{ "media_type": "article", "attachment_id": id }]
        }}}
    })
}

fn zalo_title(post: &Post) -> &str {
    post.zalo.title.as_deref().unwrap_or(&post.title)
}

/// `zalo.cover`, else `cover`, else the first body image, else the configured default.
fn cover_url(post: &Post, config: &Config) -> Option<String> {
    let url = |i: &Option<Image>| i.as_ref().and_then(|i| i.public_url.clone());
    url(&post.zalo.cover)
        .or_else(|| url(&post.cover))
        .or_else(|| post.images.iter().find_map(|i| i.public_url.clone()))
        .or_else(|| config.zalo.default_cover_url.clone())
}

/// The article body: consecutive blocks share one `text` item; each image becomes an `image`
/// item where it stands (images nested in lists, quotes or links follow their block).
pub fn body(doc: &Document, images: &[Image]) -> Vec<BodyItem> {
    let mut w = Writer {
        images,
        items: Vec::new(),
        html: String::new(),
        pending: Vec::new(),
    };
    for b in &doc.blocks {
        match b {
            Block::Paragraph(content) => w.paragraph(content),
            other => w.block(other),
        }
        w.flush_pending();
    }
    w.flush_text();
    w.items
}

struct Writer<'a> {
    images: &'a [Image],
    items: Vec<BodyItem>,
    html: String,
    /// Images met inside a block, placed after it.
    pending: Vec<usize>,
}

impl Writer<'_> {
    /// A top-level paragraph is split around its images so they stand where they were written.
    fn paragraph(&mut self, content: &[Inline]) {
        let mut run: Vec<Inline> = Vec::new();
        for inline in content {
            if let Inline::Image(i) = inline {
                self.p(&run);
                run.clear();
                self.flush_text();
                self.image(*i);
            } else {
                run.push(inline.clone());
            }
        }
        self.p(&run);
    }

    fn p(&mut self, content: &[Inline]) {
        let mut html = String::new();
        self.inlines(content, &mut html);
        let trimmed = trim_breaks(&html);
        if !trimmed.is_empty() {
            self.html.push_str("<p>");
            self.html.push_str(trimmed);
            self.html.push_str("</p>");
        }
    }

    fn block(&mut self, b: &Block) {
        let mut html = std::mem::take(&mut self.html);
        self.block_into(b, &mut html);
        self.html = html;
    }

    fn block_into(&mut self, b: &Block, out: &mut String) {
        match b {
            Block::Paragraph(content) => {
                let mut html = String::new();
                self.inlines(content, &mut html);
                let t = trim_breaks(&html);
                if !t.is_empty() {
                    out.push_str(&format!("<p>{t}</p>"));
                }
            }
            Block::Heading { level, content } => {
                let mut html = String::new();
                self.inlines(content, &mut html);
                let t = trim_breaks(&html);
                if !t.is_empty() {
                    out.push_str(&format!("<h{level}>{t}</h{level}>"));
                }
            }
            Block::List { start, items } => {
                let tag = if start.is_some() { "ol" } else { "ul" };
                out.push_str(&format!("<{tag}>"));
                for item in items {
                    out.push_str("<li>");
                    self.item(item, out);
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>"));
            }
            Block::Quote(inner) => {
                for b in inner {
                    match b {
                        Block::Paragraph(content) => {
                            let mut html = String::new();
                            self.inlines(content, &mut html);
                            let t = trim_breaks(&html);
                            if !t.is_empty() {
                                out.push_str(&format!("<p><i>{t}</i></p>"));
                            }
                        }
                        other => self.block_into(other, out),
                    }
                }
            }
            Block::Code(code) => {
                let lines: Vec<String> = code.lines().map(escape).collect();
                out.push_str(&format!("<p>{}</p>", lines.join("<br>")));
            }
            Block::Table { head, rows } => {
                out.push_str("<ul>");
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .enumerate()
                        .map(|(i, cell)| {
                            let mut c = String::new();
                            self.inlines(cell, &mut c);
                            let mut h = String::new();
                            if let Some(hc) = head.get(i) {
                                self.inlines(hc, &mut h);
                            }
                            if h.trim().is_empty() {
                                c.trim().to_string()
                            } else {
                                format!("<b>{}:</b> {}", h.trim(), c.trim())
                            }
                        })
                        .collect();
                    out.push_str(&format!("<li>{}</li>", cells.join("; ")));
                }
                out.push_str("</ul>");
            }
            Block::Rule => out.push_str("<p>———</p>"),
        }
    }

    /// A list item's blocks: paragraphs are joined by `<br>` (no `<p>` inside `<li>`), nested
    /// lists follow.
    fn item(&mut self, blocks: &[Block], out: &mut String) {
        let mut first = true;
        for b in blocks {
            match b {
                Block::Paragraph(content) => {
                    let mut html = String::new();
                    self.inlines(content, &mut html);
                    let t = trim_breaks(&html);
                    if !t.is_empty() {
                        if !first {
                            out.push_str("<br>");
                        }
                        out.push_str(t);
                        first = false;
                    }
                }
                other => self.block_into(other, out),
            }
        }
    }

    fn inlines(&mut self, content: &[Inline], out: &mut String) {
        for inline in content {
            match inline {
                Inline::Text(t) | Inline::Code(t) => out.push_str(&escape(t)),
                Inline::Strong(c) => self.wrap("b", c, out),
                Inline::Emph(c) => self.wrap("i", c, out),
                Inline::Strike(c) => self.inlines(c, out),
                Inline::Link { url, content } => {
                    let mut text = String::new();
                    self.inlines(content, &mut text);
                    if is_safe_link(url) {
                        let text = if text.trim().is_empty() {
                            escape(url)
                        } else {
                            text
                        };
                        out.push_str(&format!("<a href=\"{}\">{text}</a>", escape(url.trim())));
                    } else {
                        out.push_str(&text);
                    }
                }
                Inline::Image(i) => self.pending.push(*i),
                Inline::SoftBreak => out.push(' '),
                Inline::HardBreak => out.push_str("<br>"),
            }
        }
    }

    fn wrap(&mut self, tag: &str, content: &[Inline], out: &mut String) {
        let mut inner = String::new();
        self.inlines(content, &mut inner);
        if !inner.is_empty() {
            out.push_str(&format!("<{tag}>{inner}</{tag}>"));
        }
    }

    fn image(&mut self, i: usize) {
        if let Some(img) = self.images.get(i)
            && let Some(url) = &img.public_url
        {
            self.items.push(BodyItem::Image {
                url: url.clone(),
                caption: img.alt.clone(),
            });
        }
    }

    fn flush_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.flush_text();
        for i in std::mem::take(&mut self.pending) {
            self.image(i);
        }
    }

    fn flush_text(&mut self) {
        if !self.html.is_empty() {
            self.items.push(BodyItem::Text {
                content: std::mem::take(&mut self.html),
            });
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Writing into a String cannot fail.
    let _ = escape_html(&mut out, s);
    out
}

fn trim_breaks(html: &str) -> &str {
    let mut t = html.trim();
    loop {
        let before = t;
        t = t.strip_prefix("<br>").unwrap_or(t).trim_start();
        t = t.strip_suffix("<br>").unwrap_or(t).trim_end();
        if t == before {
            return t;
        }
    }
}
