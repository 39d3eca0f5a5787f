//! Path helpers: lexical clean-up and display relative to the working folder.

use std::path::{Component, Path, PathBuf};

/// Removes `.` and resolves `..` lexically, without touching the file system (the path may not
/// exist yet, and symlinks in the officer's folders must not change what loa shows).
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let can_pop = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if can_pop {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `path` made relative to the working folder when it lies under it, for short messages.
pub fn display(path: &Path) -> PathBuf {
    let cleaned = clean(path);
    if cleaned.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = cleaned.strip_prefix(&cwd)
    {
        return rel.to_path_buf();
    }
    cleaned
}

/// `path` relative to `base`, with `/` separators, when `path` lies under `base`.
pub fn relative_slash(path: &Path, base: &Path) -> Option<String> {
    let path = absolute(path);
    let base = absolute(base);
    let rel = path.strip_prefix(&base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// An absolute, cleaned version of `path` (relative paths join the working folder).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        clean(path)
    } else {
        let cwd = std::env::current_dir().unwrap_or_default();
        clean(&cwd.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_lexically() {
        assert_eq!(
            clean(Path::new("config/../posts/./a.md")),
            PathBuf::from("posts/a.md")
        );
        assert_eq!(clean(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(clean(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn relative_with_slashes() {
        assert_eq!(
            relative_slash(Path::new("/p/posts/images/a b.png"), Path::new("/p/posts")),
            Some("images/a b.png".into())
        );
        assert_eq!(
            relative_slash(Path::new("/p/other.png"), Path::new("/p/posts")),
            None
        );
    }
}
