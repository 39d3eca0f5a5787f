//! The HTML report's two charts, drawn by plotters as SVG text to inline in the page: views per
//! period per channel, and posts per period per channel against the target.
//!
//! Each chart comes in two sizes, [`Size::Wide`] for a desktop or a printed A4 page and
//! [`Size::Narrow`] for a phone, because one drawing scaled down to a phone's width would
//! shrink its text below reading size. The text inside a chart is only the report's own words,
//! dates and numbers (no post title or platform text), and plotters escapes text and attribute
//! values anyway, so the SVG is safe to embed unescaped.

use chrono::Datelike;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::channel::Channel;
use crate::i18n::Language;

use super::format::{self as f, Word};
use super::model::{By, PeriodRow, Report, TargetRow};

/// Which drawing size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// For a desktop screen and for print.
    Wide,
    /// For a phone.
    Narrow,
}

impl Size {
    fn pixels(self) -> (u32, u32) {
        match self {
            Size::Wide => (880, 360),
            Size::Narrow => (380, 340),
        }
    }
}

/// A channel's colour in both charts (blue and orange, told apart by colour-blind readers).
pub fn colour(c: Channel) -> RGBColor {
    match c {
        Channel::Facebook => RGBColor(47, 84, 200),
        Channel::Zalo => RGBColor(222, 96, 18),
    }
}

/// A channel's colour as CSS, for the page's legend swatches and cards.
pub fn css_colour(c: Channel) -> String {
    let RGBColor(r, g, b) = colour(c);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The class that gives a channel's colour on a page (`templates/report.css` defines it with
/// the same colour as [`css_colour`]): pages served with a strict CSP allow no inline style.
pub fn css_class(c: Channel) -> String {
    format!("ch-{}", c.name())
}

const FONT: &str = "sans-serif";

/// Days in an average month, for the legend's approximate scaled target.
const AVERAGE_MONTH: f64 = 30.44;
const TEXT: RGBColor = RGBColor(34, 34, 34);

/// The report's periods, in order, each with its rows (one per channel).
fn periods(r: &Report) -> Vec<(chrono::NaiveDate, chrono::NaiveDate, Vec<&PeriodRow>)> {
    let mut out: Vec<(chrono::NaiveDate, chrono::NaiveDate, Vec<&PeriodRow>)> = Vec::new();
    for p in &r.periods {
        match out.iter_mut().find(|(s, _, _)| *s == p.start) {
            Some((_, _, rows)) => rows.push(p),
            None => out.push((p.start, p.end, vec![p])),
        }
    }
    out.sort_by_key(|(s, _, _)| *s);
    out
}

/// The channels that have periods, in loa's order.
fn channels(r: &Report) -> Vec<Channel> {
    Channel::ALL
        .into_iter()
        .filter(|c| r.periods.iter().any(|p| p.channel == *c))
        .collect()
}

/// What a channel's target asks for in one of the report's periods: the count when the target
/// is per the same kind of period, else the count scaled by the periods' lengths in days.
fn target_in(t: &TargetRow, by: By, start: chrono::NaiveDate, end: chrono::NaiveDate) -> f64 {
    if t.per == by {
        return f64::from(t.count);
    }
    let days = (end - start).num_days() as f64 + 1.0;
    let target_days = match t.per {
        By::Week => 7.0,
        By::Month => {
            let first = start.with_day(1).unwrap_or(start);
            ((f::period_end(By::Month, first) - first).num_days() + 1) as f64
        }
    };
    f64::from(t.count) * days / target_days
}

/// One chart's data: per period, per channel, a bar's height (`None`: no bar); per channel an
/// optional line.
struct Series {
    title: &'static str,
    y_desc: String,
    labels: Vec<String>,
    channels: Vec<Channel>,
    bars: Vec<Vec<Option<f64>>>,
    lines: Vec<(Channel, Vec<f64>)>,
    whole: bool,
}

/// Per period, per channel, the bar `value` gives for that channel's row (`None`: no bar).
fn bars(
    ps: &[(chrono::NaiveDate, chrono::NaiveDate, Vec<&PeriodRow>)],
    chans: &[Channel],
    value: impl Fn(&PeriodRow) -> Option<f64>,
) -> Vec<Vec<Option<f64>>> {
    ps.iter()
        .map(|(_, _, rows)| {
            chans
                .iter()
                .map(|c| rows.iter().find(|p| p.channel == *c).and_then(|p| value(p)))
                .collect()
        })
        .collect()
}

/// Chart (a): views per period per channel, or `None` when the report has no periods.
pub fn views(r: &Report, size: Size) -> Option<String> {
    let ps = periods(r);
    if ps.is_empty() {
        return None;
    }
    let l = r.language;
    let chans = channels(r);
    let bars = bars(&ps, &chans, |p| p.figures.views.map(|v| v as f64));
    draw(
        r,
        size,
        Series {
            title: f::word(l, Word::ViewsChart),
            y_desc: f::capitalized(f::metric(l, "views")),
            labels: ps
                .iter()
                .map(|(s, _, _)| f::period_short(l, r.by, *s))
                .collect(),
            channels: chans,
            bars,
            lines: Vec::new(),
            whole: true,
        },
    )
}

/// Chart (b): posts per period per channel against each channel's target, or `None` when the
/// report has no periods.
pub fn posts(r: &Report, size: Size) -> Option<String> {
    let ps = periods(r);
    if ps.is_empty() {
        return None;
    }
    let l = r.language;
    let chans = channels(r);
    let bars = bars(&ps, &chans, |p| Some(p.posts as f64));
    let lines = r
        .targets
        .iter()
        .filter(|t| chans.contains(&t.channel))
        .map(|t| {
            let values = ps
                .iter()
                .map(|(s, e, _)| target_in(t, r.by, *s, *e))
                .collect();
            (t.channel, values)
        })
        .collect();
    draw(
        r,
        size,
        Series {
            title: f::word(l, Word::PostsChart),
            y_desc: f::capitalized(f::word(l, Word::Posts)),
            labels: ps
                .iter()
                .map(|(s, _, _)| f::period_short(l, r.by, *s))
                .collect(),
            channels: chans,
            bars,
            lines,
            whole: false,
        },
    )
}

fn draw(r: &Report, size: Size, s: Series) -> Option<String> {
    let mut svg = String::new();
    draw_into(&mut svg, r.language, r.by, size, &s).ok()?;
    let label = escape(s.title);
    Some(svg.replacen(
        "<svg ",
        &format!("<svg class=\"chart\" role=\"img\" aria-label=\"{label}\" "),
        1,
    ))
}

/// Escapes text for an HTML attribute.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tidy top for the y axis: a bit above the highest value.
fn y_top(max: f64, whole: bool) -> f64 {
    if max <= 0.0 {
        return if whole { 10.0 } else { 2.0 };
    }
    if whole {
        (max * 1.1).ceil()
    } else {
        (max * 1.15).ceil().max(2.0)
    }
}

/// One entry of a chart's legend, which the page draws as HTML under the chart (where it
/// neither hides bars nor shrinks with the drawing on a phone).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// What it names, in the report's language.
    pub label: String,
    /// Its CSS colour.
    pub colour: String,
    /// The page's class for that colour (`ch-facebook`, `ch-zalo` in `templates/report.css`).
    pub class: String,
    /// A dashed line (a target) rather than a bar.
    pub line: bool,
}

/// The legend of [`views`]: one bar colour per channel.
pub fn views_legend(r: &Report) -> Vec<Key> {
    channels(r)
        .into_iter()
        .map(|c| Key {
            label: f::channel(c).to_string(),
            colour: css_colour(c),
            class: css_class(c),
            line: false,
        })
        .collect()
}

/// The legend of [`posts`]: the channels' bars, then their targets' lines.
pub fn posts_legend(r: &Report) -> Vec<Key> {
    let l = r.language;
    let chans = channels(r);
    let mut keys = views_legend(r);
    keys.extend(
        r.targets
            .iter()
            .filter(|t| chans.contains(&t.channel))
            .map(|t| {
                let mut label = format!(
                    "{}: {} {}",
                    f::channel(t.channel),
                    f::word(l, Word::TargetLine),
                    f::target(l, t.count, t.per)
                );
                if t.per != r.by {
                    // The line is the target scaled to the report's periods: say so.
                    let (per_day, days) = match t.per {
                        By::Month => (f64::from(t.count) / AVERAGE_MONTH, 7.0),
                        By::Week => (f64::from(t.count) / 7.0, AVERAGE_MONTH),
                    };
                    label.push_str(&format!(
                        " (≈ {}/{})",
                        f::decimal(l, per_day * days),
                        f::by(l, r.by)
                    ));
                }
                Key {
                    label,
                    colour: css_colour(t.channel),
                    class: css_class(t.channel),
                    line: true,
                }
            }),
    );
    keys
}

fn draw_into(
    svg: &mut String,
    l: Language,
    by: By,
    size: Size,
    s: &Series,
) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = size.pixels();
    let root = SVGBackend::with_string(svg, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = s.labels.len();
    let max = s
        .bars
        .iter()
        .flatten()
        .flatten()
        .chain(s.lines.iter().flat_map(|(_, v)| v.iter()))
        .fold(0.0_f64, |m, v| m.max(*v));
    let top = y_top(max, s.whole);
    let font_size = match size {
        Size::Wide => 18,
        Size::Narrow => 20,
    };
    let label_font = (FONT, font_size).into_font().color(&TEXT);
    let y_area = if s.whole { 72 } else { 44 };
    let mut chart = ChartBuilder::on(&root)
        .margin_top(14)
        .margin_right(14)
        .margin_left(6)
        .x_label_area_size(52)
        .y_label_area_size(y_area)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    let x_desc = format!("{} ({})", f::word(l, Word::Period), f::by(l, by));
    let whole = s.whole;
    let y_fmt = move |v: &f64| {
        if whole {
            f::int(l, v.round().max(0.0) as u64)
        } else {
            f::decimal(l, *v)
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(if s.whole {
            6
        } else {
            (top as usize + 1).min(7)
        })
        .y_label_formatter(&y_fmt)
        .label_style(label_font.clone())
        .axis_desc_style(label_font.clone())
        .x_desc(x_desc)
        .y_desc(s.y_desc.clone())
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;

    // Grouped bars: each period's slot holds one bar per channel, side by side.
    let k = s.channels.len().max(1) as f64;
    let bar = 0.8 / k;
    for (j, c) in s.channels.iter().enumerate() {
        let colour = colour(*c);
        let rects = s.bars.iter().enumerate().filter_map(|(i, row)| {
            let v = row.get(j).copied().flatten()?;
            let x0 = i as f64 + 0.1 + j as f64 * bar;
            Some(Rectangle::new(
                [(x0, 0.0), (x0 + bar * 0.92, v)],
                colour.filled(),
            ))
        });
        chart.draw_series(rects)?;
    }
    // Target lines: a dashed step per period.
    for (c, values) in &s.lines {
        let colour = colour(*c);
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .flat_map(|(i, v)| [(i as f64, *v), (i as f64 + 1.0, *v)])
            .collect();
        let style = colour.stroke_width(3);
        chart.draw_series(DashedLineSeries::new(points, 9, 5, style))?;
    }

    // The period labels, centred under their slots, thinned out so they never overlap.
    let widest = s
        .labels
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(1) as i32;
    let (left, _) = chart.backend_coord(&(0.0, 0.0));
    let (right, bottom) = chart.backend_coord(&(n as f64, 0.0));
    let slot = f64::from((right - left).max(1)) / n.max(1) as f64;
    // About 0.45 em per character (digits and slashes), plus a gap.
    let step = ((f64::from(widest * font_size * 9 / 20 + 8) / slot).ceil() as usize).max(1);
    let style = label_font.pos(Pos::new(HPos::Center, VPos::Top));
    for (i, text) in s.labels.iter().enumerate().step_by(step) {
        let (x, _) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(text.clone(), (x, bottom + 6), style.clone()))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fixture;

    #[test]
    fn charts_have_a_view_box_labels_and_legend() {
        let r = fixture();
        for size in [Size::Wide, Size::Narrow] {
            let svg = views(&r, size).unwrap();
            assert!(svg.starts_with("<svg class=\"chart\""), "{}", &svg[..80]);
            assert!(svg.contains("viewBox="));
            assert!(svg.contains("Lượt xem"));
            assert!(svg.contains("02/11"));
            let posts = posts(&r, size).unwrap();
            assert!(posts.contains("Bài đăng"));
            assert!(!posts.contains("<script"));
        }
        // Vietnamese number form on the axis.
        let mut big = fixture();
        big.periods[1].figures.views = Some(123_456);
        let svg = views(&big, Size::Wide).unwrap();
        assert!(svg.contains(".000"), "thousands with a dot");
    }

    #[test]
    fn legends_name_channels_and_targets() {
        let r = fixture();
        let keys: Vec<String> = posts_legend(&r).into_iter().map(|k| k.label).collect();
        assert_eq!(
            keys,
            [
                "Facebook",
                "Zalo",
                "Facebook: mục tiêu 2 bài/tuần",
                "Zalo: mục tiêu 1 bài/tháng (≈ 0,23/tuần)"
            ]
        );
        assert_eq!(views_legend(&r).len(), 2);
    }

    #[test]
    fn a_monthly_target_is_scaled_to_weeks() {
        let r = fixture();
        let zalo = &r.targets[1];
        let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let v = target_in(zalo, By::Week, start, start + chrono::Days::new(6));
        assert!((v - 7.0 / 30.0).abs() < 1e-9);
        assert_eq!(target_in(&r.targets[0], By::Week, start, start), 2.0);
    }

    /// A year of weeks on a phone: the period labels thin out instead of overlapping.
    #[test]
    fn many_periods_thin_their_labels() {
        let mut r = fixture();
        let first = r.periods[0].clone();
        r.periods = (0..52)
            .map(|i| {
                let mut p = first.clone();
                p.start = first.start + chrono::Days::new(7 * i);
                p.end = p.start + chrono::Days::new(6);
                p
            })
            .collect();
        let labels = |svg: &str| {
            svg.lines()
                .filter(|l| l.len() == 5 && l.as_bytes()[2] == b'/')
                .count()
        };
        let narrow = labels(&views(&r, Size::Narrow).unwrap());
        let wide = labels(&views(&r, Size::Wide).unwrap());
        assert!((4..=9).contains(&narrow), "{narrow} labels on a phone");
        assert!(wide > narrow && wide <= 20, "{wide} labels wide");
    }

    #[test]
    fn no_periods_no_chart() {
        let mut r = fixture();
        r.periods.clear();
        assert!(views(&r, Size::Wide).is_none());
        assert!(posts(&r, Size::Narrow).is_none());
    }
}
