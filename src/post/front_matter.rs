//! Step two of reading a post: the front matter's YAML into typed fields, each kept with its
//! place in the file so that validation can point at the exact line.
//!
//! The YAML library only reads the text into a tree of values with their places
//! ([`Node`]); every key and type is checked here, against [`KEYS`], so that each problem is
//! told in the officer's language with its exact dotted key (`zalo.broadcast`, `tags[2]`), and
//! never in the library's English. The library's own words are used only to tell apart its
//! syntax errors, each of which loa says again in its own words.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostic;
use crate::i18n::tr;

/// A front-matter value with its 1-based line and column in the post file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// Line in the post file.
    pub line: usize,
    /// Column in the post file.
    pub col: usize,
}

/// The front matter with places in the file, ready for validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontMatter {
    /// `title`.
    pub title: Option<At<String>>,
    /// `publish_at`, as written.
    pub publish_at: Option<At<String>>,
    /// `channels`, as written.
    pub channels: Option<At<Vec<String>>>,
    /// `tags`.
    pub tags: Option<At<Vec<String>>>,
    /// `cover`, a path relative to the post or a URL.
    pub cover: Option<At<String>>,
    /// `draft`.
    pub draft: Option<At<bool>>,
    /// `facebook.link`.
    pub facebook_link: Option<At<String>>,
    /// `zalo.title`: a shorter title for Zalo's 150-character limit.
    pub zalo_title: Option<At<String>>,
    /// `zalo.description`.
    pub zalo_description: Option<At<String>>,
    /// `zalo.author`, overriding the config's.
    pub zalo_author: Option<At<String>>,
    /// `zalo.cover`, overriding `cover` on Zalo.
    pub zalo_cover: Option<At<String>>,
    /// `zalo.broadcast`, overriding the config's.
    pub zalo_broadcast: Option<At<bool>>,
}

/// What a front-matter key holds.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// One value, read as text (`title: 2026` is the text "2026").
    Text,
    /// A list: `[a, b]`, a block list, or one text `a, b`.
    List,
    /// `true` or `false`.
    Bool,
    /// A group of keys: `zalo: { broadcast: true }`.
    Group(&'static [(&'static str, Kind)]),
}

/// The keys of `facebook:`.
const FACEBOOK_KEYS: &[(&str, Kind)] = &[("link", Kind::Text)];

/// The keys of `zalo:`.
const ZALO_KEYS: &[(&str, Kind)] = &[
    ("title", Kind::Text),
    ("description", Kind::Text),
    ("author", Kind::Text),
    ("cover", Kind::Text),
    ("broadcast", Kind::Bool),
];

/// Every front-matter key loa knows, with what it holds (the contract's post format).
const KEYS: &[(&str, Kind)] = &[
    ("title", Kind::Text),
    ("publish_at", Kind::Text),
    ("channels", Kind::List),
    ("tags", Kind::List),
    ("cover", Kind::Text),
    ("draft", Kind::Bool),
    ("facebook", Kind::Group(FACEBOOK_KEYS)),
    ("zalo", Kind::Group(ZALO_KEYS)),
];

/// A YAML value as the library read it, before loa gives it a meaning.
#[derive(Debug)]
enum Node {
    /// A text, a number or a date, as text.
    Text(String),
    /// `true` / `false`.
    Bool(bool),
    /// An empty value (`key:` with nothing after it, `~`, `null`).
    Null,
    /// A list.
    List(Vec<Spanned<Node>>),
    /// A group of keys, in the order written.
    Map(Vec<(String, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    out.push(item);
                }
                Ok(Node::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Node>()? {
                    let key = match key {
                        Node::Text(s) => s,
                        Node::Bool(b) => b.to_string(),
                        Node::Null => String::new(),
                        Node::List(_) | Node::Map(_) => "[…]".to_string(),
                    };
                    out.push((key, map.next_value::<Spanned<Node>>()?));
                }
                Ok(Node::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A value that passed its key's check.
enum Value {
    Text(String),
    List(Vec<String>),
    Bool(bool),
}

/// Parses front-matter YAML that starts on line `first_line` of the post file, returning every
/// problem of its keys and values at once.
pub fn parse(yaml: &str, first_line: usize) -> Result<FrontMatter, Vec<Diagnostic>> {
    if let Some(d) = find_tab_indent(yaml, first_line) {
        return Err(vec![d]);
    }
    // A front matter with nothing but comments is an empty mapping, not a YAML null.
    if yaml
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(FrontMatter::default());
    }
    let root: Spanned<Node> =
        serde_saphyr::from_str(yaml).map_err(|e| vec![yaml_error(&e, yaml, first_line)])?;
    let mut walk = Walk {
        yaml,
        first_line,
        values: Vec::new(),
        problems: Vec::new(),
    };
    match root.value {
        Node::Map(entries) => walk.group("", KEYS, entries),
        Node::Null => {}
        _ => {
            let (line, col) = walk.place(&root.referenced);
            walk.problems.push(
                Diagnostic::error(
                    line,
                    col,
                    tr(
                        "the front matter must be `key: value` lines",
                        "phần đầu phải gồm các dòng `khóa: giá trị`",
                    ),
                )
                .fix(tr(
                    "write e.g. title: \"…\" on its own line",
                    "ví dụ ghi title: \"…\" trên một dòng",
                )),
            );
        }
    }
    if !walk.problems.is_empty() {
        return Err(walk.problems);
    }
    Ok(walk.front_matter())
}

/// The walk over the tree: values kept under their dotted keys, problems in the officer's words.
struct Walk<'a> {
    yaml: &'a str,
    first_line: usize,
    values: Vec<(String, At<Value>)>,
    problems: Vec<Diagnostic>,
}

impl Walk<'_> {
    /// A library location as a place in the post file.
    fn place(&self, loc: &serde_saphyr::Location) -> (usize, usize) {
        let line = usize::try_from(loc.line()).unwrap_or(1).max(1);
        let col = usize::try_from(loc.column()).unwrap_or(1).max(1);
        (line + self.first_line - 1, col)
    }

    /// The place of `key` written on the line of its value (the key's column when it is found
    /// there, the value's otherwise).
    fn key_place(&self, key: &str, value: &serde_saphyr::Location) -> (usize, usize) {
        let (line, col) = self.place(value);
        let text = self.yaml.lines().nth(line - self.first_line).unwrap_or("");
        let before: String = text.chars().take(col.saturating_sub(1)).collect();
        match before.rfind(key) {
            Some(byte) => (line, before[..byte].chars().count() + 1),
            None => (line, col),
        }
    }

    fn group(
        &mut self,
        prefix: &str,
        keys: &[(&str, Kind)],
        entries: Vec<(String, Spanned<Node>)>,
    ) {
        for (key, value) in entries {
            let dotted = format!("{prefix}{key}");
            match keys.iter().find(|(k, _)| *k == key) {
                Some((_, kind)) => self.value(&dotted, *kind, value),
                None => self.unknown(prefix, keys, &key, &dotted, &value.referenced),
            }
        }
    }

    fn unknown(
        &mut self,
        prefix: &str,
        keys: &[(&str, Kind)],
        key: &str,
        dotted: &str,
        at: &serde_saphyr::Location,
    ) {
        let (line, col) = self.key_place(key, at);
        let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        // A key of `facebook:` or `zalo:` written at the top, or misspelt there.
        let nested = |word: &str| {
            KEYS.iter().find_map(|(group, kind)| match kind {
                Kind::Group(inner) => {
                    let inner_names: Vec<&str> = inner.iter().map(|(k, _)| *k).collect();
                    crate::diagnostic::closest(word, &inner_names).map(|k| format!("{group}.{k}"))
                }
                _ => None,
            })
        };
        let guess = crate::diagnostic::closest(key, &names)
            .map(|k| format!("{prefix}{k}"))
            .or_else(|| if prefix.is_empty() { nested(key) } else { None });
        let list = names.join(", ");
        let fix = match guess {
            Some(g) => match g.split_once('.') {
                Some((group, inner)) if prefix.is_empty() => tr(
                    format!(
                        "did you mean `{g}`? write it under {group}: {group}: {{ {inner}: … }}"
                    ),
                    format!(
                        "có phải ý bạn là `{g}`? ghi nó trong {group}: {group}: {{ {inner}: … }}"
                    ),
                ),
                _ => tr(
                    format!("did you mean `{g}`? the keys here are: {list}"),
                    format!("có phải ý bạn là `{g}`? các khóa ở đây: {list}"),
                ),
            },
            None => tr(
                format!("the keys here are: {list}; correct the spelling or delete the line"),
                format!("các khóa ở đây: {list}; sửa chính tả hoặc xóa dòng này"),
            ),
        };
        self.problems.push(
            Diagnostic::error(
                line,
                col,
                tr(
                    format!("unknown key `{dotted}`"),
                    format!("khóa `{dotted}` không có trong định dạng bài viết"),
                ),
            )
            .fix(fix),
        );
    }

    fn value(&mut self, dotted: &str, kind: Kind, node: Spanned<Node>) {
        let (line, col) = self.place(&node.referenced);
        let keep = |this: &mut Self, value: Value| {
            this.values
                .push((dotted.to_string(), At { value, line, col }));
        };
        match (kind, node.value) {
            (Kind::Text, Node::Text(s)) => keep(self, Value::Text(s)),
            (Kind::Text, Node::Bool(b)) => keep(self, Value::Text(b.to_string())),
            // `title:` with nothing after it is an empty title (said so), any other is unset.
            (Kind::Text, Node::Null) if dotted == "title" => keep(self, Value::Text(String::new())),
            (_, Node::Null) if matches!(kind, Kind::List) => keep(self, Value::List(Vec::new())),
            (_, Node::Null) => {}
            (Kind::Text, Node::List(_) | Node::Map(_)) => self.problems.push(
                Diagnostic::error(
                    line,
                    col,
                    tr(
                        format!("`{dotted}` takes one value, not a list or a group of keys"),
                        format!(
                            "`{dotted}` chỉ nhận một giá trị, không phải danh sách hay nhóm khóa"
                        ),
                    ),
                )
                .fix(tr(
                    format!("write it as {dotted}: \"…\" on one line"),
                    format!("ghi dạng {dotted}: \"…\" trên một dòng"),
                )),
            ),
            (Kind::List, Node::Text(s)) => keep(
                self,
                Value::List(
                    s.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ),
            ),
            (Kind::List, Node::List(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    match item.value {
                        Node::Text(s) => out.push(s),
                        Node::Bool(b) => out.push(b.to_string()),
                        Node::Null => {}
                        Node::List(_) | Node::Map(_) => {
                            let (l, c) = self.place(&item.referenced);
                            self.problems.push(
                                Diagnostic::error(
                                    l,
                                    c,
                                    tr(
                                        format!("`{dotted}[{}]` must be one name, not a list or a group of keys", i + 1),
                                        format!("`{dotted}[{}]` phải là một tên, không phải danh sách hay nhóm khóa", i + 1),
                                    ),
                                )
                                .fix(tr(
                                    format!("write the list on one line, e.g. {dotted}: [a, b]"),
                                    format!("ghi danh sách trên một dòng, ví dụ {dotted}: [a, b]"),
                                )),
                            );
                        }
                    }
                }
                keep(self, Value::List(out));
            }
            (Kind::List, Node::Bool(_) | Node::Map(_)) => self.problems.push(
                Diagnostic::error(
                    line,
                    col,
                    tr(
                        format!("`{dotted}` must be a list"),
                        format!("`{dotted}` phải là một danh sách"),
                    ),
                )
                .fix(tr(
                    format!("write it as {dotted}: [a, b]"),
                    format!("ghi dạng {dotted}: [a, b]"),
                )),
            ),
            (Kind::Bool, Node::Bool(b)) => keep(self, Value::Bool(b)),
            (Kind::Bool, other) => {
                let written = match &other {
                    Node::Text(s) => s.clone(),
                    _ => String::new(),
                };
                let message = if written.is_empty() {
                    tr(
                        format!("`{dotted}` must be true or false"),
                        format!("`{dotted}` phải là true hoặc false"),
                    )
                } else {
                    tr(
                        format!("`{dotted}` must be true or false, not `{written}`"),
                        format!("`{dotted}` phải là true hoặc false, không phải `{written}`"),
                    )
                };
                self.problems
                    .push(Diagnostic::error(line, col, message).fix(tr(
                        format!("write {dotted}: true or {dotted}: false, without quotes"),
                        format!("ghi {dotted}: true hoặc {dotted}: false, không có ngoặc kép"),
                    )));
            }
            (Kind::Group(keys), Node::Map(entries)) => {
                self.group(&format!("{dotted}."), keys, entries)
            }
            (Kind::Group(keys), _) => {
                let first = keys.first().map_or("", |(k, _)| *k);
                self.problems.push(
                    Diagnostic::error(
                        line,
                        col,
                        tr(
                            format!("`{dotted}` must be a group of keys"),
                            format!("`{dotted}` phải là một nhóm khóa"),
                        ),
                    )
                    .fix(tr(
                        format!("write it as {dotted}: {{ {first}: … }}"),
                        format!("ghi dạng {dotted}: {{ {first}: … }}"),
                    )),
                );
            }
        }
    }

    /// The checked values as the typed front matter.
    fn front_matter(self) -> FrontMatter {
        let mut fm = FrontMatter::default();
        for (key, at) in self.values {
            let At { value, line, col } = at;
            let text = |v: Value| match v {
                Value::Text(s) => Some(At {
                    value: s,
                    line,
                    col,
                }),
                _ => None,
            };
            match key.as_str() {
                "title" => fm.title = text(value),
                "publish_at" => fm.publish_at = text(value),
                "cover" => fm.cover = text(value),
                "facebook.link" => fm.facebook_link = text(value),
                "zalo.title" => fm.zalo_title = text(value),
                "zalo.description" => fm.zalo_description = text(value),
                "zalo.author" => fm.zalo_author = text(value),
                "zalo.cover" => fm.zalo_cover = text(value),
                "channels" | "tags" => {
                    if let Value::List(v) = value {
                        let list = Some(At {
                            value: v,
                            line,
                            col,
                        });
                        if key == "tags" {
                            fm.tags = list;
                        } else {
                            fm.channels = list;
                        }
                    }
                }
                "draft" | "zalo.broadcast" => {
                    if let Value::Bool(b) = value {
                        let flag = Some(At {
                            value: b,
                            line,
                            col,
                        });
                        if key == "draft" {
                            fm.draft = flag;
                        } else {
                            fm.zalo_broadcast = flag;
                        }
                    }
                }
                _ => {}
            }
        }
        fm
    }
}

fn find_tab_indent(yaml: &str, first_line: usize) -> Option<Diagnostic> {
    yaml.lines().enumerate().find_map(|(i, line)| {
        let indent: &str = &line[..line.len() - line.trim_start().len()];
        indent.find('\t').map(|pos| {
            Diagnostic::error(
                first_line + i,
                pos + 1,
                tr(
                    "a tab is used for indentation; YAML allows only spaces",
                    "dùng phím Tab để thụt lề; YAML chỉ cho phép dấu cách",
                ),
            )
            .fix(tr("replace the tab with spaces", "thay Tab bằng dấu cách"))
        })
    })
}

/// A YAML syntax error in loa's words. The library's message is only looked at to tell the
/// kinds apart; what the officer reads is always loa's own sentence, at the library's place.
fn yaml_error(e: &serde_saphyr::Error, yaml: &str, first_line: usize) -> Diagnostic {
    let (rel_line, col) = e.location().map_or((1, 1), |loc| {
        let line = usize::try_from(loc.line()).unwrap_or(1).max(1);
        let col = usize::try_from(loc.column()).unwrap_or(1).max(1);
        (line, col)
    });
    let line = rel_line + first_line - 1;
    let raw = e.without_snippet().to_string().to_lowercase();
    // The key written on the offending line, to name it in the message.
    let key = yaml
        .lines()
        .nth(rel_line - 1)
        .and_then(|l| l.split_once(':'))
        .map(|(k, _)| k.trim().trim_start_matches("- ").to_string())
        .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
    let key = key.as_deref().unwrap_or("?");
    let (message, fix): (String, &str) = if raw.contains("duplicate") {
        (
            tr(
                format!("the key `{key}` appears twice"),
                format!("khóa `{key}` xuất hiện hai lần"),
            ),
            tr(
                "keep only one of the two lines",
                "chỉ giữ một trong hai dòng",
            ),
        )
    } else if raw.contains("unclosed bracket") || raw.contains("unclosed flow") {
        (
            tr(
                format!("the list of `{key}` is not closed"),
                format!("danh sách của `{key}` chưa đóng"),
            ),
            tr(
                "close the list with `]` on the same line, e.g. tags: [a, b]",
                "đóng danh sách bằng `]` trên cùng dòng, ví dụ tags: [a, b]",
            ),
        )
    } else if raw.contains("unclosed quote") || raw.contains("unterminated") {
        (
            tr(
                format!("the quoted text of `{key}` is not closed"),
                format!("đoạn chữ trong ngoặc kép của `{key}` chưa đóng"),
            ),
            tr(
                "add the closing quote `\"` at the end of the text",
                "thêm dấu `\"` ở cuối đoạn chữ",
            ),
        )
    } else if raw.contains("did not find expected key")
        || raw.contains("mapping values are not allowed")
    {
        (
            tr(
                "this line's indentation or `:` does not fit the lines above",
                "thụt lề hoặc dấu `:` của dòng này không khớp các dòng trên",
            )
            .to_string(),
            tr(
                "start top-level keys at the first column, and put text containing `:` in quotes",
                "khóa cấp ngoài cùng bắt đầu từ cột đầu tiên; đặt chữ có dấu `:` trong ngoặc kép",
            ),
        )
    } else if raw.contains("alias") || raw.contains("anchor") || raw.contains("budget") {
        (
            tr(
                "this line uses YAML anchors or aliases (`&`, `*`) loa does not read",
                "dòng này dùng neo hoặc bí danh YAML (`&`, `*`) mà loa không đọc",
            )
            .to_string(),
            tr(
                "write each value out in full, and put text starting with `&` or `*` in quotes",
                "ghi đầy đủ từng giá trị; đặt chữ bắt đầu bằng `&` hoặc `*` trong ngoặc kép",
            ),
        )
    } else {
        (
            tr(
                "this line is not valid YAML",
                "dòng này viết sai cú pháp YAML",
            )
            .to_string(),
            tr(
                "check this line: `key: value`, one per line; put text containing `:` or `#` in quotes",
                "kiểm tra dòng này: mỗi dòng một `khóa: giá trị`; đặt chữ có dấu `:` hoặc `#` trong ngoặc kép",
            ),
        )
    };
    Diagnostic::error(line, col, message).fix(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_lines() {
        let fm = parse("title: \"Xin chào\"\npublish_at: 2026-12-01 07:00\nchannels: [facebook, zalo]\nzalo: { description: \"Mô tả\" }\n", 2).unwrap();
        let title = fm.title.unwrap();
        assert_eq!((title.value.as_str(), title.line), ("Xin chào", 2));
        assert_eq!(fm.publish_at.unwrap().value, "2026-12-01 07:00");
        let ch = fm.channels.unwrap();
        assert_eq!(
            (ch.value, ch.line),
            (vec!["facebook".to_string(), "zalo".to_string()], 4)
        );
        assert_eq!(fm.zalo_description.unwrap().line, 5);
    }

    #[test]
    fn lists_take_several_forms() {
        let fm = parse("title: x\ntags: a, b\nchannels:\n  - zalo\n", 2).unwrap();
        assert_eq!(fm.tags.unwrap().value, vec!["a", "b"]);
        assert_eq!(fm.channels.unwrap().value, vec!["zalo"]);
    }

    #[test]
    fn unknown_key_is_located() {
        let e = &parse("title: x\nauthr: y\n", 2).unwrap_err()[0];
        assert_eq!(e.message, "unknown key `authr`");
        assert_eq!((e.line, e.col), (3, 1));
        assert!(
            e.fix.as_deref().unwrap().contains("`zalo.author`"),
            "{:?}",
            e.fix
        );
    }

    #[test]
    fn tabs_are_refused() {
        let e = &parse("zalo:\n\tdescription: x\n", 2).unwrap_err()[0];
        assert_eq!((e.line, e.col), (3, 1));
    }

    #[test]
    fn comments_only_is_empty() {
        assert_eq!(parse("# nothing yet\n", 2).unwrap(), FrontMatter::default());
    }

    #[test]
    fn nested_key_is_named_in_full() {
        let e = &parse("title: x\nzalo: { broadcast: \"có\" }\n", 2).unwrap_err()[0];
        assert_eq!(
            e.message,
            "`zalo.broadcast` must be true or false, not `có`"
        );
        assert_eq!(e.line, 3);
        let e = &parse("title: x\nzalo:\n  colour: red\n", 2).unwrap_err()[0];
        assert_eq!(
            (e.message.as_str(), e.line, e.col),
            ("unknown key `zalo.colour`", 4, 3)
        );
    }

    #[test]
    fn wrong_types_name_the_key_and_every_problem_is_told() {
        let e = parse(
            "title: [a, b]\nchannels: 42\ntags: [a, [b, c]]\ndraft: có\nfacebook: x\n",
            2,
        )
        .unwrap_err();
        let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`title` takes one value, not a list or a group of keys",
                "`tags[2]` must be one name, not a list or a group of keys",
                "`draft` must be true or false, not `có`",
                "`facebook` must be a group of keys",
            ]
        );
        // A number where a list goes is one name (`channels: 42` is the channel `42`).
        let fm = parse("channels: 42\n", 2).unwrap();
        assert_eq!(fm.channels.unwrap().value, vec!["42"]);
    }

    #[test]
    fn an_unknown_key_far_from_every_known_one_lists_them() {
        let e = &parse("title: x\ncolour: red\n", 2).unwrap_err()[0];
        assert_eq!(e.message, "unknown key `colour`");
        assert!(
            e.fix
                .as_deref()
                .unwrap()
                .contains("title, publish_at, channels"),
            "{:?}",
            e.fix
        );
    }
}
