//! The default terminal output: a header, then one plain table per section. Tables are drawn
//! by `comfy-table`, which measures display width, so Vietnamese lines up; no colours, so the
//! text reads the same in a pipe, a file or a log.

use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, presets};

use crate::i18n::Language;

use super::format::{self as f, Word};
use super::model::{Report, TargetRow};

/// The report as terminal text, in `r.language`.
pub fn table(r: &Report) -> String {
    let l = r.language;
    let mut out = String::new();
    out.push_str(&header(r));
    let sections = [
        (Word::Totals, Some(totals(r))),
        (Word::Periods, Some(periods(r))),
        (Word::Targets, targets(r)),
        (Word::TopPosts, top_posts(r)),
        (Word::Followers, followers(r)),
        (Word::Tags, tags(r)),
    ];
    for (title, body) in sections {
        out.push('\n');
        out.push_str(f::word(l, title));
        out.push('\n');
        match body {
            Some(t) => out.push_str(&t),
            None => out.push_str(f::pick(l, "(none)", "(không có)")),
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&attention(r));
    out
}

/// Title, range and zone, grouping, and when the report was made.
fn header(r: &Report) -> String {
    let l = r.language;
    let tz: chrono_tz::Tz = r.timezone.parse().unwrap_or(chrono_tz::UTC);
    format!(
        "{title}\n{range_w}: {range} ({zone}), {per} {by}\n{made_w}: {made}\n",
        title = f::word(l, Word::Title),
        range_w = f::word(l, Word::Range),
        range = f::range(l, r.since, r.until),
        zone = f::zone(l, &r.timezone),
        per = f::pick(l, "per", "theo"),
        by = f::by(l, r.by),
        made_w = f::word(l, Word::Generated),
        made = f::date_time(l, &r.generated_at.with_timezone(&tz)),
    )
}

/// How wide a table may grow before long texts (titles, reasons) wrap inside their cells. The
/// formatter is pure, so it cannot ask the terminal; 120 columns fits a common terminal and
/// keeps short tables as they are.
pub const MAX_WIDTH: u16 = 120;

fn new_table(header: Vec<String>) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(MAX_WIDTH);
    t.set_header(header);
    t
}

/// A right-aligned number cell.
fn num(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// The headings of the metric columns.
fn metric_headings(l: Language, cols: &[&str]) -> Vec<String> {
    cols.iter()
        .map(|m| f::capitalized(f::metric(l, m)))
        .collect()
}

fn figure_cells(l: Language, figures: &crate::metrics::Figures, cols: &[&str]) -> Vec<Cell> {
    cols.iter()
        .map(|m| num(f::figure(l, figures.get(m))))
        .collect()
}

fn totals(r: &Report) -> String {
    let l = r.language;
    let cols = f::metric_columns(r);
    let mut head = vec![
        f::word(l, Word::Channel).to_string(),
        f::capitalized(f::word(l, Word::Posts)),
    ];
    head.extend(metric_headings(l, &cols));
    let mut t = new_table(head);
    for c in &r.channels {
        let mut row = vec![Cell::new(f::channel(c.channel)), num(f::int(l, c.posts))];
        row.extend(figure_cells(l, &c.figures, &cols));
        t.add_row(row);
    }
    t.to_string()
}

fn periods(r: &Report) -> String {
    let l = r.language;
    let cols = f::metric_columns(r);
    let mut head = vec![
        f::word(l, Word::Period).to_string(),
        f::word(l, Word::Channel).to_string(),
        f::capitalized(f::word(l, Word::Posts)),
    ];
    head.extend(metric_headings(l, &cols));
    let mut t = new_table(head);
    for p in &r.periods {
        let mut row = vec![
            Cell::new(f::period(l, r.by, p.start, p.end)),
            Cell::new(f::channel(p.channel)),
            num(f::int(l, p.posts)),
        ];
        row.extend(figure_cells(l, &p.figures, &cols));
        t.add_row(row);
    }
    t.to_string()
}

/// What a target reached, in words: `1,09 bài/tuần`.
pub(crate) fn achieved(l: Language, t: &TargetRow) -> String {
    f::pick(
        l,
        format!("{} posts/{}", f::decimal(l, t.achieved), f::by(l, t.per)),
        format!("{} bài/{}", f::decimal(l, t.achieved), f::by(l, t.per)),
    )
}

fn targets(r: &Report) -> Option<String> {
    if r.targets.is_empty() {
        return None;
    }
    let l = r.language;
    let mut summary = new_table(vec![
        f::word(l, Word::Channel).to_string(),
        f::word(l, Word::Target).to_string(),
        f::word(l, Word::Achieved).to_string(),
        f::word(l, Word::Result).to_string(),
    ]);
    let mut per_period = new_table(vec![
        f::word(l, Word::Channel).to_string(),
        f::word(l, Word::Period).to_string(),
        f::capitalized(f::word(l, Word::Posts)),
        f::word(l, Word::Result).to_string(),
    ]);
    for t in &r.targets {
        summary.add_row(vec![
            Cell::new(f::channel(t.channel)),
            Cell::new(f::target(l, t.count, t.per)),
            num(achieved(l, t)),
            Cell::new(f::met(l, t.met)),
        ]);
        for p in &t.periods {
            per_period.add_row(vec![
                Cell::new(f::channel(t.channel)),
                Cell::new(f::period(l, t.per, p.start, f::period_end(t.per, p.start))),
                num(format!("{} / {}", f::int(l, p.posts), t.count)),
                Cell::new(f::period_status(l, p.status)),
            ]);
        }
    }
    Some(format!("{summary}\n{per_period}"))
}

fn top_posts(r: &Report) -> Option<String> {
    if r.top_posts.is_empty() {
        return None;
    }
    let l = r.language;
    let mut t = new_table(vec![
        "#".to_string(),
        f::word(l, Word::Post).to_string(),
        f::word(l, Word::Channel).to_string(),
        format!(
            "{} ({})",
            f::word(l, Word::PublishedAt),
            f::zone(l, &r.timezone)
        ),
        f::capitalized(f::metric(l, "views")),
    ]);
    let mut links = Vec::new();
    for (i, p) in r.top_posts.iter().enumerate() {
        t.add_row(vec![
            num((i + 1).to_string()),
            Cell::new(&p.title),
            Cell::new(f::channel(p.channel)),
            Cell::new(f::date_time(l, &p.published_at)),
            num(f::figure(l, p.metrics.views)),
        ]);
        if let Some(link) = &p.link {
            links.push(format!("  {}. {link}", i + 1));
        }
    }
    // Only the title wraps; the links go under the table, whole, because a link broken across
    // lines (or squeezing the title to one letter a line) can be neither read nor copied.
    for i in [0, 2, 3, 4] {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    let mut out = t.to_string();
    if !links.is_empty() {
        out.push('\n');
        out.push_str(&links.join("\n"));
    }
    Some(out)
}

fn followers(r: &Report) -> Option<String> {
    if r.followers.is_empty() {
        return None;
    }
    let l = r.language;
    let mut t = new_table(vec![
        f::word(l, Word::Channel).to_string(),
        f::word(l, Word::From).to_string(),
        f::word(l, Word::To).to_string(),
        f::word(l, Word::Change).to_string(),
    ]);
    for g in &r.followers {
        t.add_row(vec![
            Cell::new(f::channel(g.channel)),
            num(format!(
                "{}: {}",
                f::date(l, g.first_day),
                f::int(l, g.first)
            )),
            num(format!("{}: {}", f::date(l, g.last_day), f::int(l, g.last))),
            num(f::signed(l, g.change)),
        ]);
    }
    Some(t.to_string())
}

fn tags(r: &Report) -> Option<String> {
    if r.tags.is_empty() {
        return None;
    }
    let l = r.language;
    let cols = f::metric_columns(r);
    let mut head = vec![
        f::word(l, Word::Tag).to_string(),
        f::capitalized(f::word(l, Word::Posts)),
    ];
    head.extend(metric_headings(l, &cols));
    let mut t = new_table(head);
    for g in &r.tags {
        let mut row = vec![Cell::new(&g.tag), num(f::int(l, g.posts))];
        row.extend(figure_cells(l, &g.figures, &cols));
        t.add_row(row);
    }
    Some(t.to_string())
}

/// The attention list last, where the eye ends; or the calm line that nothing needs doing.
fn attention(r: &Report) -> String {
    let l = r.language;
    let head = f::word(l, Word::Attention);
    if r.attention.is_empty() {
        return format!("{head}\n{}\n", f::word(l, Word::NothingNeedsYou));
    }
    let mut t = new_table(vec![
        f::word(l, Word::Channel).to_string(),
        f::word(l, Word::Post).to_string(),
        f::word(l, Word::State).to_string(),
        f::word(l, Word::Reason).to_string(),
        f::word(l, Word::Fix).to_string(),
    ]);
    for a in &r.attention {
        let what = match (&a.title, &a.file) {
            (Some(title), Some(file)) => format!("{title}\n{file}"),
            (Some(title), None) => title.clone(),
            (None, Some(file)) => file.clone(),
            (None, None) => f::MISSING.to_string(),
        };
        t.add_row(vec![
            Cell::new(f::channel(a.channel)),
            Cell::new(what),
            Cell::new(f::attention_state(l, &a.state)),
            Cell::new(&a.reason),
            Cell::new(a.fix.as_deref().unwrap_or("")),
        ]);
    }
    format!("{head} ({})\n{t}\n", r.attention.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixture;

    #[test]
    fn vietnamese_table_has_the_exact_figures() {
        let out = table(&fixture());
        println!("{out}");
        assert!(out.starts_with("Báo cáo tương tác\n"));
        assert!(out.contains("02/11/2026 – 03/12/2026 (giờ Asia/Ho_Chi_Minh), theo tuần"));
        assert!(out.contains("Lập lúc: 03/12/2026 10:00"));
        let fb = out
            .lines()
            .find(|l| l.starts_with("│ Facebook ┆        5 ┆"))
            .unwrap();
        for n in ["1.234", "980", "87", "12", "9", "45"] {
            assert!(fb.contains(&format!(" {n} ")), "{n} in {fb}");
        }
        let zalo = out
            .lines()
            .find(|l| l.starts_with("│ Zalo     ┆        3 ┆"))
            .unwrap();
        assert!(zalo.contains(" 5.678 "), "{zalo}");
        // Zalo has no reach and no clicks: a dash, never 0.
        assert_eq!(zalo.matches(" — ").count(), 2, "{zalo}");
        assert!(out.contains("Lượt xem"));
        assert!(out.contains("Tiếp cận"));
        assert!(out.contains("1,09 bài/tuần"));
        assert!(out.contains("không đạt"));
        assert!(out.contains("chưa kết thúc"));
        assert!(out.contains("tháng 11/2026"));
        assert!(out.contains("+84"));
        assert!(out.contains("13.210"));
        assert!(out.contains("-15"));
        assert!(out.contains("Cần xử lý (3)"));
        assert!(out.contains("mã truy cập sắp hết hạn"));
        assert!(out.contains("Đăng lúc (giờ Asia/Ho_Chi_Minh)"));
        // Links are listed whole under the top posts, numbered like the rows.
        assert!(
            out.lines().any(|l| l
                .trim_start()
                .ends_with(". https://oa.zalo.me/article/za-tiem-chung")),
            "{out}"
        );
        assert!(!out.contains('\u{1b}'), "no ANSI escapes");
    }

    #[test]
    fn rows_line_up_by_display_width() {
        let out = table(&fixture());
        // Every line of one table is as wide on screen as its border.
        let mut width = None;
        for line in out.lines() {
            if line.starts_with('┌') {
                width = Some(line.chars().count());
            } else if line.starts_with('│') || line.starts_with('├') || line.starts_with('└')
            {
                assert_eq!(Some(line.chars().count()), width, "{line}");
            }
        }
    }

    #[test]
    fn no_line_is_wider_than_the_maximum() {
        let out = table(&fixture());
        for line in out.lines() {
            assert!(line.chars().count() <= usize::from(MAX_WIDTH), "{line}");
        }
    }

    #[test]
    fn english_and_nothing_to_do() {
        let mut r = fixture();
        r.language = Language::En;
        r.attention.clear();
        let out = table(&r);
        assert!(out.starts_with("Engagement summary\n"));
        assert!(out.contains("2026-11-02 – 2026-12-03 (Asia/Ho_Chi_Minh time), per week"));
        assert!(out.contains(" 1,234 "));
        assert!(out.contains(" 5,678 "));
        assert!(out.contains("1.09 posts/week"));
        assert!(out.contains("Nothing needs you."));
        assert!(out.contains("2026-11-03 07:00"));
    }
}
