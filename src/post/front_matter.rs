//! Step two of reading a post: the front matter's YAML into typed fields, each kept with its
//! place in the file so that validation can point at the exact line.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
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

/// The front matter as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFrontMatter {
    title: Option<Spanned<Scalar>>,
    publish_at: Option<Spanned<Scalar>>,
    channels: Option<Spanned<StringList>>,
    tags: Option<Spanned<StringList>>,
    cover: Option<Spanned<String>>,
    draft: Option<Spanned<bool>>,
    facebook: Option<RawFacebook>,
    zalo: Option<RawZalo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFacebook {
    link: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZalo {
    title: Option<Spanned<Scalar>>,
    description: Option<Spanned<Scalar>>,
    author: Option<Spanned<Scalar>>,
    cover: Option<Spanned<String>>,
    broadcast: Option<Spanned<bool>>,
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

/// Parses front-matter YAML that starts on line `first_line` of the post file.
pub fn parse(yaml: &str, first_line: usize) -> Result<FrontMatter, Diagnostic> {
    if let Some(d) = find_tab_indent(yaml, first_line) {
        return Err(d);
    }
    // A front matter with nothing but comments is an empty mapping, not a YAML null.
    if yaml
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(FrontMatter::default());
    }
    let raw: RawFrontMatter =
        serde_saphyr::from_str(yaml).map_err(|e| yaml_error(&e, yaml, first_line))?;
    let at = |loc: &serde_saphyr::Location| {
        let line = usize::try_from(loc.line()).unwrap_or(1).max(1);
        let col = usize::try_from(loc.column()).unwrap_or(1).max(1);
        (line + first_line - 1, col)
    };
    let conv = |s: Spanned<Scalar>| {
        let (line, col) = at(&s.referenced);
        At {
            value: s.value.0,
            line,
            col,
        }
    };
    fn place<T>(s: Spanned<T>, at: &dyn Fn(&serde_saphyr::Location) -> (usize, usize)) -> At<T> {
        let (line, col) = at(&s.referenced);
        At {
            value: s.value,
            line,
            col,
        }
    }
    let fb = raw.facebook.unwrap_or_default();
    let zalo = raw.zalo.unwrap_or_default();
    Ok(FrontMatter {
        title: raw.title.map(conv),
        publish_at: raw.publish_at.map(conv),
        channels: raw.channels.map(|s| place(s, &at)).map(|a| At {
            value: a.value.0,
            line: a.line,
            col: a.col,
        }),
        tags: raw.tags.map(|s| place(s, &at)).map(|a| At {
            value: a.value.0,
            line: a.line,
            col: a.col,
        }),
        cover: raw.cover.map(|s| place(s, &at)),
        draft: raw.draft.map(|s| place(s, &at)),
        facebook_link: fb.link.map(|s| place(s, &at)),
        zalo_title: zalo.title.map(conv),
        zalo_description: zalo.description.map(conv),
        zalo_author: zalo.author.map(conv),
        zalo_cover: zalo.cover.map(|s| place(s, &at)),
        zalo_broadcast: zalo.broadcast.map(|s| place(s, &at)),
    })
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

fn yaml_error(e: &serde_saphyr::Error, yaml: &str, first_line: usize) -> Diagnostic {
    let (rel_line, col) = e.location().map_or((1, 1), |loc| {
        let line = usize::try_from(loc.line()).unwrap_or(1).max(1);
        let col = usize::try_from(loc.column()).unwrap_or(1).max(1);
        (line, col)
    });
    let line = rel_line + first_line - 1;
    let raw = clean_yaml_message(&e.without_snippet().to_string());
    // The key written on the offending line, to name it in the message.
    let key = yaml
        .lines()
        .nth(rel_line - 1)
        .and_then(|l| l.split_once(':'))
        .map(|(k, _)| k.trim().trim_start_matches("- ").to_string())
        .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
    let key = key.as_deref().unwrap_or("?");
    let (message, fix): (String, &str) = if raw.contains("unknown field") {
        (
            format!("YAML: {raw}"),
            tr(
                "the keys are: title, publish_at, channels, tags, cover, draft, facebook (link), zalo (title, description, author, cover, broadcast)",
                "các khóa hợp lệ: title, publish_at, channels, tags, cover, draft, facebook (link), zalo (title, description, author, cover, broadcast)",
            ),
        )
    } else if raw.contains("duplicate") {
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
    } else if raw.contains("invalid boolean") || raw.contains("expected a boolean") {
        (
            tr(
                format!("`{key}` must be true or false"),
                format!("`{key}` phải là true hoặc false"),
            ),
            tr("write true or false", "ghi true hoặc false"),
        )
    } else if raw.contains("sequence") && raw.contains("single value") {
        (
            tr(
                format!("`{key}` takes one value, not a list"),
                format!("`{key}` chỉ nhận một giá trị, không phải danh sách"),
            ),
            tr(
                "write it as key: value, e.g. title: \"…\"",
                "ghi dạng khóa: giá trị, ví dụ title: \"…\"",
            ),
        )
    } else if raw.contains("expected mapping")
        || raw.contains("invalid type: sequence")
        || raw.contains("invalid type: string") && rel_line == 1
    {
        (
            tr(
                "the front matter must be `key: value` lines",
                "phần đầu phải gồm các dòng `khóa: giá trị`",
            )
            .to_string(),
            tr(
                "write e.g. title: \"…\" on its own line",
                "ví dụ ghi title: \"…\" trên một dòng",
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
    } else {
        (
            format!("YAML: {raw}"),
            tr(
                "check this line: `key: value`, one per line; put text containing `:` or `#` in quotes",
                "kiểm tra dòng này: mỗi dòng một `khóa: giá trị`; đặt chữ có dấu `:` hoặc `#` trong ngoặc kép",
            ),
        )
    };
    Diagnostic::error(line, col, message).fix(fix)
}

/// The parser's message without its own location suffix or its advice to programmers (loa prints
/// `path:line:col` itself, and the officer cannot set parser options).
fn clean_yaml_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg).trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    let cut = cut.find(", set ").map_or(cut, |i| &cut[..i]);
    cut.trim_end_matches('.').to_string()
}

/// Any YAML scalar read as text: `title: 2026` is the text "2026", not a type error.
#[derive(Debug, Default)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a single value (text, a number or a date)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list written as `[a, b]`, as a block list, or as one text `a, b`.
#[derive(Debug, Default)]
struct StringList(Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list such as [facebook, zalo]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(Scalar(s)) = seq.next_element()? {
                    out.push(s);
                }
                Ok(StringList(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
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
        let e = parse("title: x\nauthr: y\n", 2).unwrap_err();
        assert!(e.message.contains("unknown field"), "{}", e.message);
        assert_eq!(e.line, 3);
    }

    #[test]
    fn tabs_are_refused() {
        let e = parse("zalo:\n\tdescription: x\n", 2).unwrap_err();
        assert_eq!((e.line, e.col), (3, 1));
    }

    #[test]
    fn comments_only_is_empty() {
        assert_eq!(parse("# nothing yet\n", 2).unwrap(), FrontMatter::default());
    }
}
