//! The HTML report: one self-contained page (no network: no CDN, no web font, no script), laid
//! out by the askama template `templates/report.html`, which escapes every value. The only
//! unescaped text is the charts' SVG, drawn by [`super::chart`] from the report's own words,
//! dates and numbers.
//!
//! Readable on a phone (the tables scroll sideways inside their wrapper, each chart has a
//! narrow drawing) and printable on A4 (the wide drawings, no breaks inside cards or rows).

use askama::Template;

use crate::channel::Channel;
use crate::i18n::Language;
use crate::metrics::Figures;

use super::chart::{self, Size};
use super::format::{self as f, Word};
use super::model::{PeriodStatus, PostRow, Report};

/// The page's fixed words, in the report's language.
struct Words {
    title: &'static str,
    range: &'static str,
    made: &'static str,
    totals: &'static str,
    charts: &'static str,
    targets: &'static str,
    top_posts: &'static str,
    all_posts: &'static str,
    tags: &'static str,
    followers: &'static str,
    attention: &'static str,
    nothing: &'static str,
    channel: &'static str,
    period: &'static str,
    posts: String,
    post: &'static str,
    target: &'static str,
    achieved: &'static str,
    result: &'static str,
    tag: &'static str,
    published: String,
    link: &'static str,
    open: String,
    from: &'static str,
    to: &'static str,
    change: &'static str,
    reason: &'static str,
    fix: &'static str,
    no_posts: &'static str,
    missing: &'static str,
    per_period: &'static str,
}

impl Words {
    fn new(l: Language, timezone: &str) -> Words {
        let w = |x| f::word(l, x);
        Words {
            title: w(Word::Title),
            range: w(Word::Range),
            made: w(Word::Generated),
            totals: w(Word::Totals),
            charts: w(Word::Periods),
            targets: w(Word::Targets),
            top_posts: w(Word::TopPosts),
            all_posts: w(Word::AllPosts),
            tags: w(Word::Tags),
            followers: w(Word::Followers),
            attention: w(Word::Attention),
            nothing: w(Word::NothingNeedsYou),
            channel: w(Word::Channel),
            period: w(Word::Period),
            posts: f::capitalized(w(Word::Posts)),
            post: w(Word::Post),
            target: w(Word::Target),
            achieved: w(Word::Achieved),
            result: w(Word::Result),
            tag: w(Word::Tag),
            published: format!("{} ({})", w(Word::PublishedAt), f::zone(l, timezone)),
            link: w(Word::Link),
            open: f::capitalized(w(Word::Open)),
            from: w(Word::From),
            to: w(Word::To),
            change: w(Word::Change),
            reason: w(Word::Reason),
            fix: w(Word::Fix),
            no_posts: w(Word::NoPosts),
            missing: w(Word::Missing),
            per_period: f::pick(l, "Per target period", "Theo từng kỳ mục tiêu"),
        }
    }
}

/// A channel's card.
struct Card {
    channel: &'static str,
    class: String,
    posts: String,
    figures: Vec<(String, String)>,
}

/// A table row: leading cells of text, then the figures.
struct Row {
    lead: Vec<String>,
    figures: Vec<String>,
}

struct TargetView {
    channel: &'static str,
    target: String,
    achieved: String,
    met: bool,
    met_text: &'static str,
    periods: Vec<TargetPeriodView>,
}

struct TargetPeriodView {
    period: String,
    posts: String,
    status: &'static str,
    class: &'static str,
}

struct PostView {
    title: String,
    file: String,
    channel: &'static str,
    published: String,
    tags: String,
    figures: Vec<String>,
    link: Option<String>,
}

struct FollowerView {
    channel: &'static str,
    from: String,
    to: String,
    change: String,
    up: bool,
}

struct AttentionView {
    channel: &'static str,
    title: Option<String>,
    file: Option<String>,
    state: String,
    reason: String,
    fix: Option<String>,
}

/// A chart in both drawings, with its legend.
struct ChartView {
    title: &'static str,
    wide: String,
    narrow: String,
    legend: Vec<chart::Key>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    lang: &'static str,
    w: Words,
    range: String,
    zone: String,
    by: String,
    made: String,
    /// [`Sections`], rendered (and so escaped) by its own template.
    sections: String,
}

/// The report's body: attention, totals, charts, targets, posts, tags, followers. The file
/// page and the dashboard's engagement page show the same sections.
#[derive(Template)]
#[template(path = "report_sections.html")]
struct Sections {
    w: Words,
    cards: Vec<Card>,
    charts: Vec<ChartView>,
    metric_heads: Vec<String>,
    periods: Vec<Row>,
    targets: Vec<TargetView>,
    top: Vec<PostView>,
    posts: Vec<PostView>,
    tags: Vec<Row>,
    followers: Vec<FollowerView>,
    attention: Vec<AttentionView>,
}

/// The report as one HTML page, in `r.language`.
pub fn html(r: &Report) -> String {
    let l = r.language;
    let tz: chrono_tz::Tz = r.timezone.parse().unwrap_or(chrono_tz::UTC);
    Page {
        lang: f::pick(l, "en", "vi"),
        w: Words::new(l, &r.timezone),
        range: f::range(l, r.since, r.until),
        zone: f::zone(l, &r.timezone),
        by: format!("{} {}", f::pick(l, "per", "theo"), f::by(l, r.by)),
        made: f::date_time(l, &r.generated_at.with_timezone(&tz)),
        sections: sections(r),
    }
    .render()
    .expect("the report template renders any report")
}

/// The report's sections (everything under the page's heading) as HTML, every text escaped:
/// for a page that has its own heading, such as the dashboard's.
pub fn sections(r: &Report) -> String {
    body(r)
        .render()
        .expect("the report template renders any report")
}

/// The report's style sheet: the file page inlines it, the dashboard serves it.
pub const CSS: &str = include_str!("../../templates/report.css");

fn figures(l: Language, fs: &Figures, cols: &[&str]) -> Vec<String> {
    cols.iter().map(|m| f::figure(l, fs.get(m))).collect()
}

/// Only a web address is a link: a platform's answer cannot smuggle in `javascript:`.
pub fn web_link(link: Option<&str>) -> Option<String> {
    link.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_string)
}

fn post_view(l: Language, p: &PostRow, cols: &[&str]) -> PostView {
    PostView {
        title: p.title.clone(),
        file: p.file.clone(),
        channel: f::channel(p.channel),
        published: f::date_time(l, &p.published_at),
        tags: p.tags.join(", "),
        figures: figures(l, &p.metrics, cols),
        link: web_link(p.link.as_deref()),
    }
}

fn chart_view(
    r: &Report,
    title: Word,
    draw: fn(&Report, Size) -> Option<String>,
    legend: fn(&Report) -> Vec<chart::Key>,
) -> Option<ChartView> {
    Some(ChartView {
        title: f::word(r.language, title),
        wide: draw(r, Size::Wide)?,
        narrow: draw(r, Size::Narrow)?,
        legend: legend(r),
    })
}

fn body(r: &Report) -> Sections {
    let l = r.language;
    let cols = f::metric_columns(r);
    let channel_figures = |c: Channel| -> Vec<&str> {
        r.metrics
            .iter()
            .find(|m| m.channel == c)
            .map(|m| m.metrics.clone())
            .unwrap_or_else(|| cols.clone())
    };
    Sections {
        w: Words::new(l, &r.timezone),
        cards: r
            .channels
            .iter()
            .map(|c| Card {
                channel: f::channel(c.channel),
                class: chart::css_class(c.channel),
                posts: f::int(l, c.posts),
                figures: channel_figures(c.channel)
                    .iter()
                    .map(|m| {
                        (
                            f::capitalized(f::metric(l, m)),
                            f::figure(l, c.figures.get(m)),
                        )
                    })
                    .collect(),
            })
            .collect(),
        charts: [
            chart_view(r, Word::ViewsChart, chart::views, chart::views_legend),
            chart_view(r, Word::PostsChart, chart::posts, chart::posts_legend),
        ]
        .into_iter()
        .flatten()
        .collect(),
        metric_heads: cols
            .iter()
            .map(|m| f::capitalized(f::metric(l, m)))
            .collect(),
        periods: r
            .periods
            .iter()
            .map(|p| Row {
                lead: vec![
                    f::period(l, r.by, p.start, p.end),
                    f::channel(p.channel).to_string(),
                    f::int(l, p.posts),
                ],
                figures: figures(l, &p.figures, &cols),
            })
            .collect(),
        targets: r
            .targets
            .iter()
            .map(|t| TargetView {
                channel: f::channel(t.channel),
                target: f::target(l, t.count, t.per),
                achieved: super::table::achieved(l, t),
                met: t.met,
                met_text: f::met(l, t.met),
                periods: t
                    .periods
                    .iter()
                    .map(|p| TargetPeriodView {
                        period: f::period(l, t.per, p.start, f::period_end(t.per, p.start)),
                        posts: format!("{} / {}", f::int(l, p.posts), t.count),
                        status: f::period_status(l, p.status),
                        class: match p.status {
                            PeriodStatus::Met => "met",
                            PeriodStatus::Missed => "missed",
                            PeriodStatus::Open => "open",
                        },
                    })
                    .collect(),
            })
            .collect(),
        top: r.top_posts.iter().map(|p| post_view(l, p, &cols)).collect(),
        posts: r.posts.iter().map(|p| post_view(l, p, &cols)).collect(),
        tags: r
            .tags
            .iter()
            .map(|t| Row {
                lead: vec![t.tag.clone(), f::int(l, t.posts)],
                figures: figures(l, &t.figures, &cols),
            })
            .collect(),
        followers: r
            .followers
            .iter()
            .map(|g| FollowerView {
                channel: f::channel(g.channel),
                from: format!("{}: {}", f::date(l, g.first_day), f::int(l, g.first)),
                to: format!("{}: {}", f::date(l, g.last_day), f::int(l, g.last)),
                change: f::signed(l, g.change),
                up: g.change >= 0,
            })
            .collect(),
        attention: r
            .attention
            .iter()
            .map(|a| AttentionView {
                channel: f::channel(a.channel),
                title: a.title.clone(),
                file: a.file.clone(),
                state: f::attention_state(l, &a.state).to_string(),
                reason: a.reason.clone(),
                fix: a.fix.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixture;

    #[test]
    fn escapes_every_text_from_posts_and_platforms() {
        let out = html(&fixture());
        assert!(!out.contains("<script"), "no script element, ever");
        assert!(
            out.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || out.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        );
        assert!(
            out.contains("ý kiến &#34;cử tri&#34;") || out.contains("ý kiến &quot;cử tri&quot;")
        );
    }

    #[test]
    fn self_contained_page_in_the_report_s_language() {
        let out = html(&fixture());
        assert!(out.starts_with("<!DOCTYPE html>"));
        assert!(out.contains("<html lang=\"vi\">"));
        assert!(out.contains("<meta charset=\"utf-8\">"));
        assert!(out.contains("name=\"viewport\""));
        assert!(out.contains("Báo cáo tương tác"));
        assert!(out.contains("giờ Asia/Ho_Chi_Minh"));
        assert!(out.contains("1.234"));
        assert!(out.contains("5.678"));
        assert!(out.contains("rel=\"noopener\""));
        assert!(out.contains("@page"));
        for external in ["src=\"http", "href=\"//", "@import", "url(http", "<link "] {
            assert!(!out.contains(external), "{external}");
        }
        let mut en = fixture();
        en.language = Language::En;
        en.attention.clear();
        let out = html(&en);
        assert!(out.contains("<html lang=\"en\">"));
        assert!(out.contains("Engagement summary"));
        assert!(out.contains("1,234"));
        assert!(out.contains("Nothing needs you."));
    }

    #[test]
    fn the_style_sheet_colours_each_channel_as_its_charts_do() {
        for c in [Channel::Facebook, Channel::Zalo] {
            let rule = format!(
                ".{} {{ --c: {colour}; --k: {colour}; }}",
                chart::css_class(c),
                colour = chart::css_colour(c)
            );
            assert!(CSS.contains(&rule), "{rule}");
        }
        let out = html(&fixture());
        assert!(!out.contains("style=\""), "no inline style attribute");
        assert!(out.contains("class=\"card ch-facebook\""));
    }

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(web_link(Some("javascript:alert(1)")), None);
        assert_eq!(
            web_link(Some("https://oa.zalo.me/x")).as_deref(),
            Some("https://oa.zalo.me/x")
        );
    }
}
