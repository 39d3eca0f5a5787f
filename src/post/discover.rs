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
}
