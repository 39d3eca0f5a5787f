//! The post body as a small document tree, built once from pulldown-cmark's events when the
//! post is read, and shared by both renderers.
//!
//! Neither platform takes Markdown: Facebook shows plain text, Zalo a restricted HTML. Walking a
//! tree is simpler and safer than re-walking raw events in each renderer. Raw HTML never enters
//! the tree: it is recorded (so `loa check` can warn) and dropped.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A parsed Markdown body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    /// Top-level blocks in order.
    pub blocks: Vec<Block>,
    /// Every image, in document order, with its byte offset in the body.
    pub images: Vec<ImageRef>,
    /// Byte offsets of raw HTML, which is dropped from the output.
    pub raw_html: Vec<usize>,
}

/// A block of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// `#`..`######`.
    Heading {
        /// 1..=6.
        level: u8,
        /// Heading text.
        content: Vec<Inline>,
    },
    /// A paragraph (also the text of a tight list item).
    Paragraph(Vec<Inline>),
    /// A bullet list (`start` = None) or a numbered list.
    List {
        /// First number of a numbered list.
        start: Option<u64>,
        /// Each item's blocks.
        items: Vec<Vec<Block>>,
    },
    /// `>` quotation.
    Quote(Vec<Block>),
    /// Fenced or indented code, verbatim.
    Code(String),
    /// A pipe table.
    Table {
        /// Header cells.
        head: Vec<Vec<Inline>>,
        /// Body rows of cells.
        rows: Vec<Vec<Vec<Inline>>>,
    },
    /// `---` between paragraphs.
    Rule,
}

/// Inline content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// `code`.
    Code(String),
    /// `**strong**`.
    Strong(Vec<Inline>),
    /// `*emphasis*`.
    Emph(Vec<Inline>),
    /// `~~struck~~`.
    Strike(Vec<Inline>),
    /// A link.
    Link {
        /// Destination as written.
        url: String,
        /// Link text.
        content: Vec<Inline>,
    },
    /// An image (index into [`Document::images`]).
    Image(usize),
    /// A line break inside a paragraph that Markdown joins with a space.
    SoftBreak,
    /// A forced line break (two trailing spaces or `\`).
    HardBreak,
}

/// An image reference in the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Destination as written (`images/a.png`, `https://…`).
    pub url: String,
    /// Alt text.
    pub alt: String,
    /// Byte offset of the `![` in the body.
    pub offset: usize,
}

enum InlineKind {
    Paragraph,
    /// Text directly inside a tight list item.
    ImplicitParagraph,
    Heading,
    Strong,
    Emph,
    Strike,
    Link(String),
    Image(String, usize),
    Cell,
}

/// A table being read: header cells, finished rows, and the row being read.
#[derive(Default)]
struct TableBuilder {
    head: Vec<Vec<Inline>>,
    rows: Vec<Vec<Vec<Inline>>>,
    row: Vec<Vec<Inline>>,
}

struct Builder {
    /// Open block containers: the root, list items, quotes.
    blocks: Vec<Vec<Block>>,
    inlines: Vec<(InlineKind, Vec<Inline>)>,
    lists: Vec<(Option<u64>, Vec<Vec<Block>>)>,
    table: Option<TableBuilder>,
    code: Option<String>,
    in_html_block: bool,
    /// Inside an inline `<script>` or `<style>`: the text between the tags is code, not prose.
    in_inline_script: bool,
    doc: Document,
}

/// Parses a Markdown body (CommonMark plus tables and strikethrough).
pub fn parse(body: &str) -> Document {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut b = Builder {
        blocks: vec![Vec::new()],
        inlines: Vec::new(),
        lists: Vec::new(),
        table: None,
        code: None,
        in_html_block: false,
        in_inline_script: false,
        doc: Document::default(),
    };
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        b.event(event, range.start);
    }
    b.close_implicit_paragraph();
    b.doc.blocks = b.blocks.into_iter().next().unwrap_or_default();
    b.doc
}

impl Builder {
    fn event(&mut self, event: Event<'_>, offset: usize) {
        match event {
            Event::Start(tag) => self.start(tag, offset),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some(code) = &mut self.code {
                    code.push_str(&t);
                } else if !self.in_html_block && !self.in_inline_script {
                    self.inline(Inline::Text(t.into_string()));
                }
            }
            Event::Code(t) => self.inline(Inline::Code(t.into_string())),
            Event::SoftBreak => self.inline(Inline::SoftBreak),
            Event::HardBreak => self.inline(Inline::HardBreak),
            // An HTML block was recorded where it starts; its lines need no record of their own.
            Event::Html(_) if self.in_html_block => {}
            Event::Html(_) => self.doc.raw_html.push(offset),
            Event::InlineHtml(html) => {
                self.doc.raw_html.push(offset);
                let tag = html.trim_start_matches('<').to_ascii_lowercase();
                if tag.starts_with("script") || tag.starts_with("style") {
                    self.in_inline_script = true;
                } else if tag.starts_with("/script") || tag.starts_with("/style") {
                    self.in_inline_script = false;
                }
            }
            Event::Rule => self.block(Block::Rule),
            Event::FootnoteReference(t) => self.inline(Inline::Text(format!("[{t}]"))),
            Event::TaskListMarker(done) => {
                self.inline(Inline::Text(if done { "☑ " } else { "☐ " }.into()))
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.inline(Inline::Text(t.into_string()))
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>, offset: usize) {
        match tag {
            Tag::Paragraph => self.open_inline(InlineKind::Paragraph),
            Tag::Heading { .. } => self.open_inline(InlineKind::Heading),
            Tag::BlockQuote(_) => {
                self.close_implicit_paragraph();
                self.blocks.push(Vec::new());
            }
            Tag::CodeBlock(_) => {
                self.close_implicit_paragraph();
                self.code = Some(String::new());
            }
            Tag::HtmlBlock => {
                self.doc.raw_html.push(offset);
                self.in_html_block = true;
            }
            Tag::List(start) => {
                self.close_implicit_paragraph();
                self.lists.push((start, Vec::new()));
            }
            Tag::Item => self.blocks.push(Vec::new()),
            Tag::Table(_) => self.table = Some(TableBuilder::default()),
            Tag::TableHead | Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.row.clear();
                }
            }
            Tag::TableCell => self.open_inline(InlineKind::Cell),
            Tag::Emphasis => self.open_inline(InlineKind::Emph),
            Tag::Strong => self.open_inline(InlineKind::Strong),
            Tag::Strikethrough => self.open_inline(InlineKind::Strike),
            Tag::Link { dest_url, .. } => {
                self.open_inline(InlineKind::Link(dest_url.into_string()))
            }
            Tag::Image { dest_url, .. } => {
                self.open_inline(InlineKind::Image(dest_url.into_string(), offset))
            }
            // Not enabled in the parser options; their text still flows through.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                if let Some((_, content)) = self.inlines.pop() {
                    self.block(Block::Paragraph(content));
                }
            }
            TagEnd::Heading(level) => {
                if let Some((_, content)) = self.inlines.pop() {
                    self.block(Block::Heading {
                        level: level as u8,
                        content,
                    });
                }
            }
            TagEnd::BlockQuote(_) => {
                self.close_implicit_paragraph();
                if self.blocks.len() > 1 {
                    let inner = self.blocks.pop().unwrap_or_default();
                    self.block(Block::Quote(inner));
                }
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.block(Block::Code(code.trim_end_matches('\n').to_string()));
                }
            }
            TagEnd::HtmlBlock => self.in_html_block = false,
            TagEnd::Item => {
                self.close_implicit_paragraph();
                if self.blocks.len() > 1 {
                    let item = self.blocks.pop().unwrap_or_default();
                    if let Some(list) = self.lists.last_mut() {
                        list.1.push(item);
                    }
                }
            }
            TagEnd::List(_) => {
                if let Some((start, items)) = self.lists.pop() {
                    self.block(Block::List { start, items });
                }
            }
            TagEnd::TableCell => {
                let cell = self.inlines.pop().map(|(_, c)| c).unwrap_or_default();
                if let Some(t) = &mut self.table {
                    t.row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.head = std::mem::take(&mut t.row);
                }
            }
            TagEnd::TableRow => {
                if let Some(t) = &mut self.table {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(TableBuilder { head, rows, .. }) = self.table.take() {
                    self.block(Block::Table { head, rows });
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Link
            | TagEnd::Image => {
                self.close_span();
            }
            _ => {}
        }
    }

    fn close_span(&mut self) {
        let Some((kind, content)) = self.inlines.pop() else {
            return;
        };
        let inline = match kind {
            InlineKind::Strong => Inline::Strong(content),
            InlineKind::Emph => Inline::Emph(content),
            InlineKind::Strike => Inline::Strike(content),
            InlineKind::Link(url) => Inline::Link { url, content },
            InlineKind::Image(url, offset) => {
                self.doc.images.push(ImageRef {
                    url,
                    alt: plain_text(&content, &[]),
                    offset,
                });
                Inline::Image(self.doc.images.len() - 1)
            }
            // Not a span: put it back untouched.
            other => {
                self.inlines.push((other, content));
                return;
            }
        };
        self.inline(inline);
    }

    fn open_inline(&mut self, kind: InlineKind) {
        if matches!(kind, InlineKind::Paragraph | InlineKind::Heading) {
            self.close_implicit_paragraph();
        }
        self.inlines.push((kind, Vec::new()));
    }

    fn inline(&mut self, inline: Inline) {
        if self.inlines.is_empty() {
            // Text straight inside a tight list item has no Paragraph event of its own.
            self.inlines
                .push((InlineKind::ImplicitParagraph, Vec::new()));
        }
        if let Some((_, content)) = self.inlines.last_mut() {
            content.push(inline);
        }
    }

    fn close_implicit_paragraph(&mut self) {
        if matches!(
            self.inlines.last(),
            Some((InlineKind::ImplicitParagraph, _))
        ) && let Some((_, content)) = self.inlines.pop()
        {
            self.block(Block::Paragraph(content));
        }
    }

    fn block(&mut self, block: Block) {
        if let Some(container) = self.blocks.last_mut() {
            container.push(block);
        }
    }
}

/// The text of inline content without any markup: links keep their text, images their alt text
/// only when `images` is given (it holds the document's images), breaks become spaces.
pub fn plain_text(content: &[Inline], images: &[ImageRef]) -> String {
    let mut out = String::new();
    push_plain(content, images, &mut out);
    out
}

fn push_plain(content: &[Inline], images: &[ImageRef], out: &mut String) {
    for inline in content {
        match inline {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Strong(c)
            | Inline::Emph(c)
            | Inline::Strike(c)
            | Inline::Link { content: c, .. } => {
                push_plain(c, images, out);
            }
            Inline::Image(i) => {
                if let Some(img) = images.get(*i) {
                    out.push_str(&img.alt);
                }
            }
            Inline::SoftBreak | Inline::HardBreak => out.push(' '),
        }
    }
}

/// True when a link destination is safe to show or follow: web, mail and phone links only.
/// `javascript:`, `data:` and the like are dropped, keeping the link's text.
pub fn is_safe_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tel:"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The first paragraph's text, for descriptions and summaries.
pub fn first_paragraph(doc: &Document) -> Option<String> {
    fn find(blocks: &[Block]) -> Option<String> {
        blocks.iter().find_map(|b| match b {
            Block::Paragraph(c) => {
                let text = plain_text(c, &[]);
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                (!text.is_empty()).then_some(text)
            }
            Block::Quote(inner) => find(inner),
            _ => None,
        })
    }
    find(&doc.blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tight_list_items_are_paragraphs() {
        let doc = parse("- a\n- b\n  - c\n");
        let Block::List { items, .. } = &doc.blocks[0] else {
            panic!("{doc:?}")
        };
        assert_eq!(
            items[0],
            vec![Block::Paragraph(vec![Inline::Text("a".into())])]
        );
        assert!(matches!(items[1][1], Block::List { .. }));
    }

    #[test]
    fn raw_html_is_recorded_and_dropped() {
        let doc = parse("<div>x</div>\n\nHi <b>there</b>\n");
        assert_eq!(doc.raw_html.len(), 3);
        assert_eq!(
            doc.blocks,
            vec![Block::Paragraph(vec![
                Inline::Text("Hi ".into()),
                Inline::Text("there".into()),
            ])]
        );
    }

    #[test]
    fn inline_script_content_is_dropped() {
        let doc = parse("a <script>alert(1)</script> b\n");
        assert_eq!(
            plain_text(
                match &doc.blocks[0] {
                    Block::Paragraph(c) => c,
                    _ => panic!(),
                },
                &[]
            ),
            "a  b"
        );
    }

    #[test]
    fn images_are_indexed_with_offsets() {
        let doc = parse("Text\n\n![Ảnh](images/a.png)\n");
        assert_eq!(
            doc.images,
            vec![ImageRef {
                url: "images/a.png".into(),
                alt: "Ảnh".into(),
                offset: 6
            }]
        );
    }
}
