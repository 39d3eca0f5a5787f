//! Which files in the posts folder are posts.

use std::path::{Path, PathBuf};

/// True for a file name loa treats as a post: `*.md`, not hidden, not an editor's temporary or
/// backup file (`.#x.md`, `x.md~`, `#x.md#`, `x.md.swp`).
pub fn is_post_file_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    !name.starts_with('.')
        && !name.starts_with('#')
        && !name.starts_with('~')
        && lower.ends_with(".md")
}

/// True for a folder (`/`-separated, relative to the posts folder; empty for the folder itself)
/// whose posts `find_posts` lists: no part of it is hidden.
pub fn is_post_folder(rel: &str) -> bool {
    rel.split('/')
        .filter(|part| !part.is_empty())
        .all(|part| !part.starts_with('.'))
}

/// True for a file path relative to the posts folder (`/`-separated) that `find_posts` lists:
/// a post file name in a folder that is not hidden. A file event names paths; this keeps an
/// event's reading to the files a full scan would read.
pub fn is_post_path(rel: &str) -> bool {
    match rel.rsplit_once('/') {
        Some((folder, name)) => is_post_folder(folder) && is_post_file_name(name),
        None => is_post_file_name(rel),
    }
}

/// Every post under `dir`, recursively, sorted by path (the order slots are given out in).
/// Hidden folders are skipped. Unreadable folders are skipped too; the caller reports a missing
/// `dir` itself.
pub fn find_posts(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') {
                walk(&entry.path(), out);
            }
        } else if is_post_file_name(&name) {
            out.push(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_hidden_and_temporary_files() {
        assert!(is_post_file_name("2026-12-01-bai.md"));
        assert!(is_post_file_name("BAI.MD"));
        assert!(!is_post_file_name(".bai.md"));
        assert!(!is_post_file_name(".#bai.md"));
        assert!(!is_post_file_name("#bai.md#"));
        assert!(!is_post_file_name("bai.md~"));
        assert!(!is_post_file_name("bai.md.swp"));
        assert!(!is_post_file_name("~$bai.md"));
        assert!(!is_post_file_name("anh.png"));
    }

    #[test]
    fn a_path_is_a_post_where_a_scan_would_list_it() {
        assert!(is_post_path("bai.md"));
        assert!(is_post_path("2026/12/bai.md"));
        assert!(!is_post_path(".git/bai.md"));
        assert!(!is_post_path("nhap/.cu/bai.md"));
        assert!(!is_post_path("images/anh.jpg"));
        assert!(is_post_folder(""));
        assert!(is_post_folder("2026/12"));
        assert!(!is_post_folder("2026/.tmp"));
    }
}
