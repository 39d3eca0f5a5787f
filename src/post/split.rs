//! Step one of reading a post: split the front matter from the Markdown body, keeping the line
//! numbers of both so that every later problem points at the right line of the file.

use crate::diagnostic::Diagnostic;
use crate::i18n::tr;

/// A post's two parts, still as text.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML between the `---` lines.
    pub front_matter: &'a str,
    /// Line of the file on which the YAML starts (the line after the opening `---`).
    pub front_matter_line: usize,
    /// The Markdown after the closing `---`.
    pub body: &'a str,
    /// Line of the file on which the body starts.
    pub body_line: usize,
}

/// Splits normalized post text (`\n` line endings, no BOM).
pub fn split(text: &str) -> Result<Split<'_>, Diagnostic> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        let fix = if first.trim_end() == "+++" {
            tr(
                "loa reads YAML front matter: use `---` lines instead of `+++`",
                "loa đọc phần đầu YAML: dùng dòng `---` thay cho `+++`",
            )
        } else {
            tr(
                "start the file with a line `---`, then `title: \"…\"`, then a line `---`, then the text",
                "bắt đầu tệp bằng dòng `---`, rồi `title: \"…\"`, rồi dòng `---`, rồi nội dung",
            )
        };
        return Err(Diagnostic::error(
            1,
            1,
            tr(
                "the post has no front matter",
                "bài viết thiếu phần đầu (front matter)",
            ),
        )
        .fix(fix));
    }
    let start = first.len();
    let mut offset = start;
    for (i, line) in lines.enumerate() {
        if line.trim_end() == "---" {
            return Ok(Split {
                front_matter: &text[start..offset],
                front_matter_line: 2,
                body: &text[offset + line.len()..],
                body_line: i + 3,
            });
        }
        offset += line.len();
    }
    Err(Diagnostic::error(
        1,
        1,
        tr(
            "the front matter is never closed",
            "phần đầu (front matter) không có dòng đóng",
        ),
    )
    .fix(tr(
        "add a line with only `---` after the last front-matter line (title, tags, …)",
        "thêm một dòng chỉ có `---` sau dòng cuối của phần đầu (title, tags, …)",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_line_numbers() {
        let s = split("---\ntitle: x\ntags: []\n---\nHello\n").unwrap();
        assert_eq!(s.front_matter, "title: x\ntags: []\n");
        assert_eq!(s.front_matter_line, 2);
        assert_eq!(s.body, "Hello\n");
        assert_eq!(s.body_line, 5);
    }

    #[test]
    fn empty_front_matter_and_body() {
        let s = split("---\n---").unwrap();
        assert_eq!(s.front_matter, "");
        assert_eq!(s.body, "");
    }

    #[test]
    fn missing_and_unclosed() {
        assert!(
            split("title: x\n")
                .unwrap_err()
                .message
                .contains("no front matter")
        );
        assert!(
            split("---\ntitle: x\nbody\n")
                .unwrap_err()
                .message
                .contains("never closed")
        );
    }
}
