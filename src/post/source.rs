//! Reading a post file into clean text: size-checked, UTF-8, no BOM, `\n` line endings, NFC.
//!
//! Posts come from Notepad as often as from a code editor, so a UTF-8 BOM and CRLF line endings
//! are normal input, not errors. What cannot be read gets an error that says how to save it.

use std::io::Read;
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::i18n::tr;
use crate::text::{LineIndex, nfc};

/// A post larger than this is refused unread: no real post comes near it (Facebook's message
/// limit is ~63,000 characters), and reading a stray video into memory helps nobody.
pub const MAX_POST_BYTES: u64 = 1024 * 1024;

/// Reads `path`'s bytes, refusing files over [`MAX_POST_BYTES`] without reading them whole.
pub fn read_post_bytes(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let file = std::fs::File::open(path).map_err(|e| {
        Diagnostic::error(
            1,
            1,
            tr(
                format!("cannot open the file: {}", crate::i18n::io_error(&e)),
                format!("không mở được tệp: {}", crate::i18n::io_error(&e)),
            ),
        )
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_POST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Diagnostic::error(
                1,
                1,
                tr(
                    format!("cannot read the file: {}", crate::i18n::io_error(&e)),
                    format!("không đọc được tệp: {}", crate::i18n::io_error(&e)),
                ),
            )
        })?;
    if bytes.len() as u64 > MAX_POST_BYTES {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(Diagnostic::error(
            1,
            1,
            tr(
                format!(
                    "the file is {}, a post can be at most 1 MB",
                    human_size(size)
                ),
                format!("tệp nặng {}, một bài viết tối đa 1 MB", human_size(size)),
            ),
        )
        .fix(tr(
            "keep only the text in the .md file, and put images in an images/ folder beside it",
            "chỉ để chữ trong tệp .md, đặt ảnh vào thư mục images/ bên cạnh",
        )));
    }
    Ok(bytes)
}

/// Turns raw bytes into normalized post text.
pub fn decode(bytes: &[u8]) -> Result<String, Diagnostic> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Diagnostic::error(
            1,
            1,
            tr("the file is saved as UTF-16", "tệp được lưu dạng UTF-16"),
        )
        .fix(tr(
            "save it as UTF-8 (Notepad: File → Save As → Encoding: UTF-8)",
            "lưu lại dạng UTF-8 (Notepad: Tệp → Lưu thành → Mã hóa: UTF-8)",
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(
            Diagnostic::error(1, 1, tr("the file is empty", "tệp trống")).fix(tr(
                "start the post with a line `---`, then `title: \"…\"`, then `---` and the text",
                "bắt đầu bài bằng dòng `---`, rồi `title: \"…\"`, rồi `---` và nội dung",
            )),
        );
    }
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        let (line, col) = locate_in_bytes(bytes, pos);
        return Err(Diagnostic::error(
            line,
            col,
            tr(
                "this is not a text file (it contains binary data)",
                "đây không phải tệp văn bản (có dữ liệu nhị phân)",
            ),
        )
        .fix(tr(
            "posts are Markdown text files ending in .md",
            "bài viết là tệp văn bản Markdown có đuôi .md",
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, col) = locate_in_bytes(bytes, e.valid_up_to());
        let byte = bytes[e.valid_up_to()];
        Diagnostic::error(
            line,
            col,
            tr(
                format!("the file is not UTF-8 (byte 0x{byte:02X})"),
                format!("tệp không ở mã UTF-8 (byte 0x{byte:02X})"),
            ),
        )
        .fix(tr(
            "save it as UTF-8; old Vietnamese encodings (TCVN3, VNI, Windows-1258) must be converted first, e.g. with Unikey's converter",
            "lưu lại dạng UTF-8; bảng mã cũ (TCVN3, VNI, Windows-1258) cần chuyển mã trước, ví dụ bằng công cụ chuyển mã của Unikey",
        ))
    })?;
    // Windows line endings become \n; a lone \r (old Mac) is a line break too, as in editors.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Ok(nfc(&text))
}

fn locate_in_bytes(bytes: &[u8], pos: usize) -> (usize, usize) {
    // Everything before `pos` is valid UTF-8 (or at least decodes lossily to the same lines).
    let prefix = String::from_utf8_lossy(&bytes[..pos]);
    LineIndex::new(&prefix).locate(prefix.len())
}

/// `6.0 MB`, `512 KB`, `900 B`.
pub fn human_size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MB {
        format!("{:.1} MB", bytes as f64 / MB)
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_files_read_clean() {
        let text = decode(b"\xEF\xBB\xBF---\r\ntitle: x\r\n---\r\nbody\r\n").unwrap();
        assert_eq!(text, "---\ntitle: x\n---\nbody\n");
    }

    #[test]
    fn decomposed_vietnamese_becomes_nfc() {
        let text = decode("Vie\u{302}\u{323}t".as_bytes()).unwrap();
        assert_eq!(text, "Việt");
    }

    #[test]
    fn invalid_utf8_is_located() {
        let e = decode(b"---\ntitle: ab\xE9\n---\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 10));
    }

    #[test]
    fn binary_and_empty_are_refused() {
        assert!(decode(b"\x00\x01\x02").is_err());
        assert!(decode(b"  \n").is_err());
        assert!(
            decode(b"\xFF\xFE-\x00")
                .unwrap_err()
                .message
                .contains("UTF-16")
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(6 * 1024 * 1024), "6.0 MB");
        assert_eq!(human_size(2048), "2 KB");
    }
}
