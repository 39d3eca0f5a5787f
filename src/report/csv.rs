//! CSV for spreadsheets: UTF-8 with a byte order mark and CRLF line ends, so Excel opens
//! Vietnamese correctly, and plain numbers so a spreadsheet can compute with them.
//!
//! The headings are stable ASCII machine names, the same in every language:
//!
//! - posts: `file,title,channel,remote_id,published_at,timezone,tags,views,reach,reactions,comments,shares,clicks,link`
//! - periods: `by,start,end,channel,posts,views,reach,reactions,comments,shares,clicks`
//!
//! `channel` is the contract's name (`facebook`, `zalo`); `published_at` is the local time
//! `YYYY-MM-DD HH:MM:SS` in the zone named in `timezone` (a form spreadsheets read as a date);
//! days are `YYYY-MM-DD`; `tags` are joined with `; `; `by` is `week` or `month`. A missing
//! figure is an empty cell, never 0. The CSV does not follow the report's language.

use csv::{Terminator, WriterBuilder};

use crate::metrics::{Figures, METRIC_NAMES};

use super::model::{By, Report};

/// The byte order mark, written first.
const BOM: &str = "\u{feff}";

/// The headings of the posts CSV.
pub const POSTS_HEADER: [&str; 14] = [
    "file",
    "title",
    "channel",
    "remote_id",
    "published_at",
    "timezone",
    "tags",
    "views",
    "reach",
    "reactions",
    "comments",
    "shares",
    "clicks",
    "link",
];

/// The headings of the periods CSV.
pub const PERIODS_HEADER: [&str; 11] = [
    "by",
    "start",
    "end",
    "channel",
    "posts",
    "views",
    "reach",
    "reactions",
    "comments",
    "shares",
    "clicks",
];

fn write(rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = WriterBuilder::new()
        .terminator(Terminator::CRLF)
        .from_writer(BOM.as_bytes().to_vec());
    for row in rows {
        w.write_record(&row).expect("writing to memory cannot fail");
    }
    w.into_inner().expect("flushing to memory cannot fail")
}

fn figures(f: &Figures) -> impl Iterator<Item = String> + '_ {
    METRIC_NAMES
        .into_iter()
        .map(|m| f.get(m).map(|v| v.to_string()).unwrap_or_default())
}

/// One row per post per channel, in publication order.
pub fn posts_csv(r: &Report) -> Vec<u8> {
    let header = POSTS_HEADER.iter().map(|h| h.to_string()).collect();
    let rows = r.posts.iter().map(|p| {
        let mut row = vec![
            p.file.clone(),
            p.title.clone(),
            p.channel.name().to_string(),
            p.remote_id.clone().unwrap_or_default(),
            p.published_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.timezone.clone(),
            p.tags.join("; "),
        ];
        row.extend(figures(&p.metrics));
        row.push(p.link.clone().unwrap_or_default());
        row
    });
    write(std::iter::once(header).chain(rows))
}

/// One row per period per channel, as the report groups them.
pub fn periods_csv(r: &Report) -> Vec<u8> {
    let header = PERIODS_HEADER.iter().map(|h| h.to_string()).collect();
    let by = match r.by {
        By::Week => "week",
        By::Month => "month",
    };
    let rows = r.periods.iter().map(|p| {
        let mut row = vec![
            by.to_string(),
            p.start.to_string(),
            p.end.to_string(),
            p.channel.name().to_string(),
            p.posts.to_string(),
        ];
        row.extend(figures(&p.figures));
        row
    });
    write(std::iter::once(header).chain(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{SCRIPT_TITLE, fixture};

    fn read(bytes: &[u8]) -> Vec<csv::StringRecord> {
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "BOM first");
        let body = &bytes[3..];
        let text = std::str::from_utf8(body).unwrap();
        assert!(text.contains("\r\n"));
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "every line ends with CRLF"
        );
        csv::Reader::from_reader(body)
            .records()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn posts_read_back_with_vietnamese_intact() {
        let r = fixture();
        let bytes = posts_csv(&r);
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.starts_with(
            "file,title,channel,remote_id,published_at,timezone,tags,views,reach,reactions,comments,shares,clicks,link\r\n"
        ));
        let rows = read(&bytes);
        assert_eq!(rows.len(), r.posts.len());
        let first: Vec<&str> = rows[0].iter().collect();
        assert_eq!(
            first,
            [
                "2026-11-03-hop-dan.md",
                "Họp dân về quy hoạch khu dân cư Đồng Xoài",
                "facebook",
                "1001_2001",
                "2026-11-03 07:00:00",
                "Asia/Ho_Chi_Minh",
                "họp dân; quy hoạch",
                "400",
                "300",
                "30",
                "5",
                "3",
                "20",
                "https://www.facebook.com/1001_2001",
            ]
        );
        // Zalo: no reach, no clicks → empty cells.
        let zalo: Vec<&str> = rows[1].iter().skip(7).take(6).collect();
        assert_eq!(zalo, ["2100", "", "15", "1", "12", ""]);
        // Never collected: every figure empty; the script title is data, kept as is.
        assert_eq!(&rows[6][1], SCRIPT_TITLE);
        assert!(rows[6].iter().skip(7).take(6).all(str::is_empty));
        // Quotes and commas survive.
        assert_eq!(
            &rows[7][1],
            "Thông báo lịch tiếp công dân tháng 12 & ý kiến \"cử tri\""
        );
        assert_eq!(&rows[7][7], "0");
        assert_eq!(&rows[7][12], "");
    }

    #[test]
    fn periods_have_plain_numbers() {
        let r = fixture();
        let bytes = periods_csv(&r);
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.starts_with(
            "by,start,end,channel,posts,views,reach,reactions,comments,shares,clicks\r\n"
        ));
        let rows = read(&bytes);
        assert_eq!(rows.len(), 10);
        let first: Vec<&str> = rows[0].iter().collect();
        assert_eq!(
            first,
            [
                "week",
                "2026-11-02",
                "2026-11-08",
                "facebook",
                "2",
                "650",
                "500",
                "50",
                "7",
                "5",
                "30"
            ]
        );
        let empty: Vec<&str> = rows[3].iter().collect();
        assert_eq!(
            empty,
            [
                "week",
                "2026-11-09",
                "2026-11-15",
                "zalo",
                "0",
                "",
                "",
                "",
                "",
                "",
                ""
            ]
        );
        // The same bytes whatever the report's language.
        let mut en = r.clone();
        en.language = crate::i18n::Language::En;
        assert_eq!(periods_csv(&en), bytes);
    }
}
