//! Images a post uses (its `cover` and `![](…)` in the body): where they are, whether they are
//! usable, and the public URL Zalo will fetch them from.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::i18n::tr;
use crate::media::public_url;
use crate::paths;
use crate::post::source::human_size;

/// Facebook refuses photos over 4 MB (error 1366046).
pub const FACEBOOK_MAX_IMAGE_BYTES: u64 = 4 * 1024 * 1024;
/// Zalo has been seen failing to fetch images of about 1 MB or more.
pub const ZALO_MAX_IMAGE_BYTES: u64 = 1024 * 1024;

/// An image file format both platforms accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ImageFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
}

impl ImageFormat {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
        }
    }
}

/// An image file on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalImage {
    /// Where the file is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// What it holds.
    pub format: ImageFormat,
}

/// An image used by a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The reference as written in the post.
    pub src: String,
    /// Alt text (the caption on Zalo).
    pub alt: String,
    /// The file, for a local image.
    pub local: Option<LocalImage>,
    /// The public URL: the `src` of a web image, or the mapped URL of a local one when
    /// `media.public_base_url` is set and the file lies under `posts_dir`.
    pub public_url: Option<String>,
}

/// Which channels will use an image, deciding which limits apply.
#[derive(Clone, Copy, Debug)]
pub struct UsedBy {
    /// Facebook uploads it (4 MB limit).
    pub facebook: bool,
    /// Zalo fetches it by URL (needs a public URL).
    pub zalo: bool,
}

/// Resolves and checks one image reference found at `line:col` of the post at `post_path`.
pub fn resolve(
    src: &str,
    alt: &str,
    (line, col): (usize, usize),
    post_path: &Path,
    config: &Config,
    used_by: UsedBy,
    diags: &mut Vec<Diagnostic>,
) -> Image {
    let src = src.trim();
    let mut image = Image {
        src: src.to_string(),
        alt: alt.trim().to_string(),
        local: None,
        public_url: None,
    };
    let lower = src.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        if used_by.zalo && lower.starts_with("http://") && !crate::config::is_loopback_url(src) {
            diags.push(Diagnostic::warning(
                line,
                col,
                tr(
                    format!("image `{src}` is plain http; Zalo fetches images over https"),
                    format!("ảnh `{src}` dùng http; Zalo chỉ tải ảnh qua https"),
                ),
            ));
        }
        image.public_url = Some(src.to_string());
        return image;
    }
    if src.is_empty() || lower.contains(':') && !is_windows_drive(src) {
        diags.push(
            Diagnostic::error(
                line,
                col,
                tr(
                    format!("image `{src}` is neither a file nor a web address"),
                    format!("ảnh `{src}` không phải tệp cũng không phải địa chỉ web"),
                ),
            )
            .fix(tr(
                "write a path relative to the post, e.g. images/anh.jpg, or an https:// URL",
                "ghi đường dẫn tính từ bài viết, ví dụ images/anh.jpg, hoặc địa chỉ https://",
            )),
        );
        return image;
    }
    let decoded = percent_encoding::percent_decode_str(src)
        .decode_utf8_lossy()
        .into_owned();
    let dir = post_path.parent().unwrap_or(Path::new("."));
    let path = paths::clean(&dir.join(&decoded));
    let shown = paths::display(&path);
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => {
            diags.push(Diagnostic::error(
                line,
                col,
                tr(
                    format!("image `{src}` is a folder, not a file"),
                    format!("ảnh `{src}` là thư mục, không phải tệp"),
                ),
            ));
            return image;
        }
        Err(_) => {
            diags.push(
                Diagnostic::error(line, col, tr(format!("image `{src}` not found (looked for {})", shown.display()), format!("không tìm thấy ảnh `{src}` (đã tìm {})", shown.display())))
                    .fix(tr("check the file name (capital letters count) and that the path is relative to the post", "kiểm tra tên tệp (phân biệt chữ hoa) và đường dẫn tính từ bài viết")),
            );
            return image;
        }
    };
    let Some(format) = sniff(&path, line, col, src, diags) else {
        return image;
    };
    let bytes = meta.len();
    if used_by.facebook && bytes > FACEBOOK_MAX_IMAGE_BYTES {
        diags.push(
            Diagnostic::error(
                line,
                col,
                tr(
                    format!(
                        "image `{src}` is {}; Facebook takes photos up to 4 MB",
                        human_size(bytes)
                    ),
                    format!(
                        "ảnh `{src}` nặng {}; Facebook chỉ nhận ảnh tới 4 MB",
                        human_size(bytes)
                    ),
                ),
            )
            .fix(tr(
                "save it smaller (e.g. 1600 px wide, JPEG quality 80)",
                "lưu ảnh nhỏ hơn (ví dụ rộng 1600 px, JPEG chất lượng 80)",
            )),
        );
    }
    if used_by.zalo {
        if bytes >= ZALO_MAX_IMAGE_BYTES {
            diags.push(
                Diagnostic::warning(
                    line,
                    col,
                    tr(
                        format!(
                            "image `{src}` is {}; Zalo often fails on images of 1 MB or more",
                            human_size(bytes)
                        ),
                        format!(
                            "ảnh `{src}` nặng {}; Zalo thường lỗi với ảnh từ 1 MB",
                            human_size(bytes)
                        ),
                    ),
                )
                .fix(tr(
                    "save it smaller (e.g. 1280 px wide, JPEG quality 80)",
                    "lưu ảnh nhỏ hơn (ví dụ rộng 1280 px, JPEG chất lượng 80)",
                )),
            );
        }
        image.public_url = zalo_url(&path, src, (line, col), config, diags);
    }
    image.local = Some(LocalImage {
        path,
        bytes,
        format,
    });
    image
}

fn is_windows_drive(src: &str) -> bool {
    let b = src.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

fn zalo_url(
    path: &Path,
    src: &str,
    (line, col): (usize, usize),
    config: &Config,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let Some(base) = &config.media.public_base_url else {
        diags.push(
            Diagnostic::error(line, col, tr(format!("image `{src}` is a local file, and Zalo needs a public web address for it"), format!("ảnh `{src}` là tệp trên máy, Zalo cần địa chỉ web công khai của ảnh")))
                .fix(tr(
                    "set [media] public_base_url in the config to where the posts folder is served, or use an https:// image URL",
                    "đặt [media] public_base_url trong tệp cấu hình tới nơi thư mục bài viết được đưa lên web, hoặc dùng ảnh có địa chỉ https://",
                )),
        );
        return None;
    };
    let Some(rel) = paths::relative_slash(path, &config.posts_dir) else {
        diags.push(
            Diagnostic::error(line, col, tr(format!("image `{src}` is outside the posts folder, so it has no public address for Zalo"), format!("ảnh `{src}` nằm ngoài thư mục bài viết nên không có địa chỉ công khai cho Zalo")))
                .fix({
                    let folder = paths::display(&config.posts_dir.join("images")).display().to_string();
                    tr(format!("move the image into the posts folder, e.g. {folder}/"), format!("chuyển ảnh vào thư mục bài viết, ví dụ {folder}/"))
                }),
        );
        return None;
    };
    Some(public_url(base, &rel))
}

/// Reads the first bytes: the extension says nothing about what a file really is.
fn sniff(
    path: &Path,
    line: usize,
    col: usize,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<ImageFormat> {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageFormat::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(ImageFormat::Png);
    }
    let what = if head.starts_with(b"GIF8") {
        tr("a GIF image", "ảnh GIF")
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        tr("a WebP image", "ảnh WebP")
    } else if head.get(4..12).is_some_and(|b| {
        b.starts_with(b"ftyphei") || b.starts_with(b"ftypmif") || b.starts_with(b"ftypavif")
    }) {
        tr(
            "a HEIC/AVIF photo (from a phone)",
            "ảnh HEIC/AVIF (từ điện thoại)",
        )
    } else if n == 0 {
        tr("an empty file", "tệp rỗng")
    } else if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80)
    {
        tr("a text file", "tệp văn bản")
    } else {
        tr("not an image loa knows", "không phải ảnh loa đọc được")
    };
    diags.push(
        Diagnostic::error(
            line,
            col,
            tr(
                format!("image `{src}` is not a JPEG or PNG image (it is {what})"),
                format!("ảnh `{src}` không phải JPEG hay PNG (đây là {what})"),
            ),
        )
        .fix(tr(
            "save or export the picture as JPEG or PNG",
            "lưu hoặc xuất ảnh dạng JPEG hoặc PNG",
        )),
    );
    None
}
