//! The language of what the officer reads: Vietnamese (`vi`) or English (`en`).
//!
//! loa is a command-line program that speaks one language per run, chosen by `language` in the
//! config, so the choice is process-wide: set once at start-up, read wherever a message is built.
//! Messages are written in both languages side by side at the place they are made, so neither
//! translation can drift from the other.

use std::sync::atomic::{AtomicU8, Ordering};

/// A language loa can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Tiếng Việt.
    Vi,
    /// English; the default until a config says otherwise, and the language of the tests.
    #[default]
    En,
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Sets the language for the rest of the process.
pub fn set_language(language: Language) {
    CURRENT.store(
        match language {
            Language::En => 0,
            Language::Vi => 1,
        },
        Ordering::Relaxed,
    );
}

/// The language in force.
pub fn language() -> Language {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Language::Vi,
        _ => Language::En,
    }
}

/// Picks the English or the Vietnamese text, whichever the process speaks.
pub fn tr<T>(en: T, vi: T) -> T {
    match language() {
        Language::En => en,
        Language::Vi => vi,
    }
}

/// What went wrong with a file or folder, in the process's language: the operating system's
/// own text ("No such file or directory (os error 2)") is English whatever the officer speaks,
/// so its kind is told instead, with what to do.
pub fn io_error(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => tr(
            "it does not exist; check the path",
            "không tồn tại; hãy kiểm tra đường dẫn",
        )
        .into(),
        K::PermissionDenied => tr(
            "loa is not allowed to use it; check its owner and permissions",
            "loa không có quyền dùng nó; hãy kiểm tra chủ sở hữu và quyền truy cập",
        )
        .into(),
        K::AlreadyExists => tr("it is already there", "nó đã có sẵn").into(),
        K::IsADirectory => tr(
            "it is a folder, where a file is needed",
            "đây là thư mục, trong khi cần một tệp",
        )
        .into(),
        K::NotADirectory => tr(
            "a part of the path is a file, where a folder is needed",
            "một phần của đường dẫn là tệp, trong khi cần một thư mục",
        )
        .into(),
        K::InvalidData => tr(
            "its content is not UTF-8 text; save it as UTF-8",
            "nội dung không phải văn bản UTF-8; hãy lưu lại dạng UTF-8",
        )
        .into(),
        K::StorageFull => tr(
            "the disk is full; free some space",
            "ổ đĩa đã đầy; hãy giải phóng dung lượng",
        )
        .into(),
        K::ReadOnlyFilesystem => tr("the disk is read-only", "ổ đĩa chỉ cho phép đọc").into(),
        K::WouldBlock => tr(
            "it is locked by another program; try again in a moment",
            "nó đang bị chương trình khác khóa; hãy thử lại sau giây lát",
        )
        .into(),
        _ => match e.raw_os_error() {
            Some(code) => tr(
                format!("the system refused (error {code})"),
                format!("hệ thống từ chối (mã lỗi {code})"),
            ),
            None => tr(
                "the system refused".to_string(),
                "hệ thống từ chối".to_string(),
            ),
        },
    }
}
