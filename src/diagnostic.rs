//! Problems found in the officer's files, each with a place, a message and, where there is one,
//! the fix. They print as `path:line:col: error: message — fix: …`, the form editors and CI
//! logs understand.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::i18n::tr;

/// How bad a problem is: an error stops the post (or the config) from being used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be used as it is.
    Error,
    /// The file works, but something is probably not what the officer meant.
    Warning,
}

/// A problem at a place inside one text (a post or the config), without the file's path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when loa knows.
    pub fix: Option<String>,
}

impl Diagnostic {
    /// An error at `line:col`.
    pub fn error(line: usize, col: usize, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            line,
            col,
            message: message.into(),
            fix: None,
        }
    }

    /// A warning at `line:col`.
    pub fn warning(line: usize, col: usize, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(line, col, message)
        }
    }

    /// Adds the fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Attaches the file's path.
    pub fn in_file(self, path: &Path) -> Problem {
        Problem {
            path: path.to_path_buf(),
            diagnostic: self,
        }
    }
}

/// A diagnostic in a named file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, as loa was given it.
    pub path: PathBuf,
    /// What is wrong and where.
    #[serde(flatten)]
    pub diagnostic: Diagnostic,
}

/// The candidate closest to `word` (a misspelt key, a section name), if one is close enough to
/// be what was meant: at most two edits away, or one edit for a short word.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(&word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

impl Problem {
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.diagnostic.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.diagnostic;
        let severity = match d.severity {
            Severity::Error => tr("error", "lỗi"),
            Severity::Warning => tr("warning", "cảnh báo"),
        };
        write!(
            f,
            "{}:{}:{}: {severity}: {}",
            self.path.display(),
            d.line,
            d.col,
            d.message
        )?;
        if let Some(fix) = &d.fix {
            write!(f, " — {}: {fix}", tr("fix", "cách sửa"))?;
        }
        Ok(())
    }
}
