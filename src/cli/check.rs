//! `loa check [PATH...]`: every problem in the config and the posts, one per line.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Problem};
use crate::i18n::tr;
use crate::post::discover;

/// Checks the posts under `paths` (default: `posts_dir`). Exit code 1 when any error is found.
/// Reads files only: nothing under the officer's folders is ever written.
pub fn run(
    config: &Config,
    config_path: &Path,
    paths: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let shown_config = crate::paths::display(config_path);
    let mut problems: Vec<Problem> = config
        .warnings
        .iter()
        .cloned()
        .map(|d| d.in_file(&shown_config))
        .collect();
    let roots = if paths.is_empty() {
        vec![config.posts_dir.clone()]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in &roots {
        if root.is_dir() {
            files.extend(discover::find_posts(root));
        } else if root.is_file() {
            files.push(root.clone());
        } else {
            problems.push(
                Diagnostic::error(
                    1,
                    1,
                    tr("no such file or folder", "không có tệp hay thư mục này"),
                )
                .fix(tr(
                    "check the path, or run `loa check` alone to check the posts folder",
                    "kiểm tra đường dẫn, hoặc chạy `loa check` để kiểm tra thư mục bài viết",
                ))
                .in_file(&crate::paths::display(root)),
            );
        }
    }
    for file in &files {
        problems.extend(crate::channels::load(file, config).problems);
    }
    for p in &problems {
        writeln!(out, "{p}")?;
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    writeln!(
        err,
        "{}",
        tr(
            format!(
                "Checked {} post(s): {errors} error(s), {warnings} warning(s)",
                files.len()
            ),
            format!(
                "Đã kiểm tra {} bài: {errors} lỗi, {warnings} cảnh báo",
                files.len()
            ),
        )
    )?;
    Ok(u8::from(errors > 0))
}
