//! `loa report`: the engagement summary in the asked format, to standard output or a file.

use std::io::{self, Write};
use std::path::PathBuf;

use chrono::NaiveDate;

use super::{ReportBy, ReportFormat};
use crate::config::Config;
use crate::i18n::tr;
use crate::report::{By, CsvRows, Format, Options};

/// What the officer asked for on the command line.
pub struct Asked {
    /// `--since`, as typed.
    pub since: Option<String>,
    /// `--until`, as typed.
    pub until: Option<String>,
    /// `--by`.
    pub by: Option<ReportBy>,
    /// `--format`.
    pub format: ReportFormat,
    /// `--out`.
    pub file: Option<PathBuf>,
}

/// A day as `2026-12-01` or `01/12/2026` (the officer's form).
fn parse_day(flag: &str, s: &str) -> Result<NaiveDate, String> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .map_err(|_| {
            tr(
                format!("{flag} `{s}` is not a date: write it as 2026-12-01 or 01/12/2026"),
                format!("{flag} `{s}` không phải là ngày: hãy viết 2026-12-01 hoặc 01/12/2026"),
            )
        })
}

/// Prints or writes the report; exit code 2 for a bad date, 1 when the store or the file fails.
pub fn run(
    config: Config,
    asked: Asked,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let day = |flag: &str, s: &Option<String>| s.as_deref().map(|s| parse_day(flag, s)).transpose();
    let (since, until) = match (day("--since", &asked.since), day("--until", &asked.until)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            return Ok(2);
        }
    };
    if let (Some(a), Some(b)) = (since, until)
        && a > b
    {
        writeln!(
            err,
            "{}: {}",
            tr("error", "lỗi"),
            tr("--since is after --until", "--since ở sau --until",)
        )?;
        return Ok(2);
    }
    let options = Options {
        since,
        until,
        by: match asked.by {
            None | Some(ReportBy::Week) => By::Week,
            Some(ReportBy::Month) => By::Month,
        },
    };
    let format = match asked.format {
        ReportFormat::Table => Format::Table,
        // `--by` given for CSV asks for the period table instead of the post rows.
        ReportFormat::Csv if asked.by.is_some() => Format::Csv(CsvRows::Periods),
        ReportFormat::Csv => Format::Csv(CsvRows::Posts),
        ReportFormat::Json => Format::Json,
        ReportFormat::Html => Format::Html,
    };
    let runtime = super::runtime()?;
    let report = match runtime.block_on(crate::app::report::report(config, options)) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            return Ok(1);
        }
    };
    let bytes = crate::report::render(&report, format);
    match asked.file {
        None => out.write_all(&bytes)?,
        Some(path) => {
            if let Err(e) = crate::app::report::write_atomically(&path, &bytes) {
                writeln!(
                    err,
                    "{}: {}: {}",
                    tr("error", "lỗi"),
                    path.display(),
                    crate::i18n::io_error(&e)
                )?;
                return Ok(1);
            }
            writeln!(
                err,
                "{}",
                tr(
                    format!("report written to {}", path.display()),
                    format!("đã ghi báo cáo vào {}", path.display()),
                )
            )?;
        }
    }
    Ok(0)
}
