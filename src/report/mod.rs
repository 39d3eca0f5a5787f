//! `loa report`: the engagement summary. [`build`] computes one [`Report`] (the data of
//! [`model`]) from the store; each format lays the same model out, as a pure function of it: [`table()`] for the terminal,
//! [`csv`] for spreadsheets, [`json()`] for programs, [`html()`] for people (one self-contained
//! page). Every label follows `report.language`, never the process-wide language.

pub mod build;
pub mod chart;
pub mod csv;
#[doc(hidden)]
pub mod fixture;
pub mod format;
pub mod html;
pub mod json;
pub mod model;
pub mod table;

pub use build::{Options, load};
pub use html::html;
pub use json::json;
pub use model::{By, Report};
pub use table::table;

/// Which rows a CSV holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvRows {
    /// One row per post per channel ([`csv::posts_csv`]).
    Posts,
    /// One row per period per channel ([`csv::periods_csv`]); what `--by week|month` asks for.
    Periods,
}

/// An output format of `loa report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Terminal text ([`table()`]).
    Table,
    /// CSV for spreadsheets, of posts or of periods.
    Csv(CsvRows),
    /// The contract's JSON ([`json()`]).
    Json,
    /// One self-contained HTML page ([`html()`]).
    Html,
}

/// The report in `format`, as the bytes to write to standard output or `--out FILE`. Text
/// formats are UTF-8; CSV starts with a byte order mark and ends lines with CRLF.
pub fn render(r: &Report, format: Format) -> Vec<u8> {
    match format {
        Format::Table => table(r).into_bytes(),
        Format::Csv(CsvRows::Posts) => csv::posts_csv(r),
        Format::Csv(CsvRows::Periods) => csv::periods_csv(r),
        Format::Json => json(r).into_bytes(),
        Format::Html => html(r).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_picks_the_format() {
        let r = fixture::fixture();
        assert_eq!(render(&r, Format::Table), table(&r).into_bytes());
        assert_eq!(render(&r, Format::Json), json(&r).into_bytes());
        assert_eq!(render(&r, Format::Html), html(&r).into_bytes());
        let posts = render(&r, Format::Csv(CsvRows::Posts));
        let periods = render(&r, Format::Csv(CsvRows::Periods));
        assert!(posts.starts_with("\u{feff}file,title,".as_bytes()));
        assert!(periods.starts_with("\u{feff}by,start,".as_bytes()));
    }
}
