//! The config's shape, checked by loa over the parsed TOML table: every section and key the
//! contract lists, with what each holds. Unknown sections and keys and values of the wrong type
//! are told in the officer's language with the exact dotted key and its line, so that the TOML
//! library's English ("unknown field …, expected one of …") never reaches the officer.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, closest};
use crate::i18n::tr;
use crate::text::LineIndex;

/// What a config key holds.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Text in quotes.
    Text,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// A list of texts.
    TextList,
    /// A section `[name]`.
    Section(&'static [(&'static str, Kind)]),
    /// A list of sections `[[name]]`, each with these keys.
    Tables(&'static [(&'static str, Kind)]),
}

const SCHEDULE: &[(&str, Kind)] = &[
    ("slots", Kind::TextList),
    ("max_lateness", Kind::Text),
    ("on_edit", Kind::Text),
];
const RETRY: &[(&str, Kind)] = &[
    ("base_delay", Kind::Text),
    ("max_delay", Kind::Text),
    ("max_attempts", Kind::Int),
];
const FACEBOOK: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("page_id", Kind::Text),
    ("graph_url", Kind::Text),
    ("api_version", Kind::Text),
    ("native_schedule", Kind::Bool),
];
const ZALO: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("app_id", Kind::Text),
    ("openapi_url", Kind::Text),
    ("oauth_url", Kind::Text),
    ("author", Kind::Text),
    ("default_cover_url", Kind::Text),
    ("broadcast", Kind::Bool),
    ("listing_delay", Kind::Text),
];
const MEDIA: &[(&str, Kind)] = &[("public_base_url", Kind::Text)];
const TARGETS: &[(&str, Kind)] = &[("facebook", Kind::Text), ("zalo", Kind::Text)];
const WEB: &[(&str, Kind)] = &[("listen", Kind::Text)];
const ALERTS_EMAIL: &[(&str, Kind)] = &[
    ("smtp_host", Kind::Text),
    ("smtp_port", Kind::Int),
    ("security", Kind::Text),
    ("username", Kind::Text),
    ("from", Kind::Text),
    ("to", Kind::TextList),
];
const ALERTS_WEBHOOK: &[(&str, Kind)] = &[("url", Kind::Text)];
const ALERTS: &[(&str, Kind)] = &[
    ("weekly_digest", Kind::Text),
    ("email", Kind::Tables(ALERTS_EMAIL)),
    ("webhook", Kind::Tables(ALERTS_WEBHOOK)),
];

/// The top level of `config/loa.toml` (docs/CONTRACT.md).
const TOP: &[(&str, Kind)] = &[
    ("timezone", Kind::Text),
    ("posts_dir", Kind::Text),
    ("data_dir", Kind::Text),
    ("language", Kind::Text),
    ("schedule", Kind::Section(SCHEDULE)),
    ("retry", Kind::Section(RETRY)),
    ("facebook", Kind::Section(FACEBOOK)),
    ("zalo", Kind::Section(ZALO)),
    ("media", Kind::Section(MEDIA)),
    ("targets", Kind::Section(TARGETS)),
    ("web", Kind::Section(WEB)),
    ("alerts", Kind::Section(ALERTS)),
];

/// Sections people may write from the contract that this loa does not have yet: refused with
/// that said plainly, not as a misspelling.
const PLANNED: &[&str] = &["zalo_groups", "radio"];

/// Every problem of the config's shape: unknown sections and keys, values of the wrong type.
pub fn check(table: &DeTable<'_>, index: &LineIndex<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    section(table, "", TOP, index, &mut out);
    // The table is sorted by key; the officer reads the file from the top.
    out.sort_by_key(|d| (d.line, d.col));
    out
}

fn section(
    table: &DeTable<'_>,
    prefix: &str,
    keys: &[(&str, Kind)],
    index: &LineIndex<'_>,
    out: &mut Vec<Diagnostic>,
) {
    for (key, value) in table {
        let name: &str = key.get_ref();
        let dotted = format!("{prefix}{name}");
        let (line, col) = index.locate(Spanned::span(key).start);
        match keys.iter().find(|(k, _)| *k == name) {
            Some((_, kind)) => check_value(&dotted, *kind, value, index, out),
            None => out.push(unknown(prefix, keys, name, &dotted, value, line, col)),
        }
    }
}

fn unknown(
    prefix: &str,
    keys: &[(&str, Kind)],
    name: &str,
    dotted: &str,
    value: &Spanned<DeValue<'_>>,
    line: usize,
    col: usize,
) -> Diagnostic {
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    let is_section = matches!(value.get_ref(), DeValue::Table(_));
    if prefix.is_empty() && is_section && PLANNED.contains(&name) {
        return Diagnostic::error(
            line,
            col,
            tr(
                format!(
                    "section `[{name}]` is not available in this version of loa (it is planned)"
                ),
                format!("mục `[{name}]` chưa có trong phiên bản loa này (đang được lên kế hoạch)"),
            ),
        )
        .fix(tr(
            format!("delete the [{name}] section and its lines"),
            format!("xóa mục [{name}] và các dòng của nó"),
        ));
    }
    let what = if is_section {
        tr(
            format!("unknown section `[{dotted}]`"),
            format!("mục `[{dotted}]` không có trong cấu hình"),
        )
    } else {
        tr(
            format!("unknown key `{dotted}`"),
            format!("khóa `{dotted}` không có trong cấu hình"),
        )
    };
    let list = names.join(", ");
    let fix = match closest(name, &names) {
        Some(k) => tr(
            format!("did you mean `{prefix}{k}`? the keys here are: {list}"),
            format!("có phải ý bạn là `{prefix}{k}`? các khóa ở đây: {list}"),
        ),
        None => tr(
            format!("the keys here are: {list}; correct the spelling or delete the line"),
            format!("các khóa ở đây: {list}; sửa chính tả hoặc xóa dòng này"),
        ),
    };
    Diagnostic::error(line, col, what).fix(fix)
}

fn check_value(
    dotted: &str,
    kind: Kind,
    value: &Spanned<DeValue<'_>>,
    index: &LineIndex<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let fits = match (kind, value.get_ref()) {
        (Kind::Text, DeValue::String(_))
        | (Kind::Int, DeValue::Integer(_))
        | (Kind::Bool, DeValue::Boolean(_)) => true,
        (Kind::TextList, DeValue::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !matches!(item.get_ref(), DeValue::String(_)) {
                    let (line, col) = index.locate(item.span().start);
                    out.push(
                        Diagnostic::error(
                            line,
                            col,
                            tr(
                                format!(
                                    "`{dotted}[{}]` must be text in quotes, not {}",
                                    i + 1,
                                    written(item.get_ref())
                                ),
                                format!(
                                    "`{dotted}[{}]` phải là chữ trong ngoặc kép, không phải {}",
                                    i + 1,
                                    written(item.get_ref())
                                ),
                            ),
                        )
                        .fix(tr(
                            "put each item in quotes, e.g. [\"Tue 07:00\", \"Thu 07:00\"]",
                            "đặt từng mục trong ngoặc kép, ví dụ [\"Thứ 3 07:00\", \"Thứ 5 07:00\"]",
                        )),
                    );
                }
            }
            true
        }
        (Kind::Section(keys), DeValue::Table(inner)) => {
            section(inner, &format!("{dotted}."), keys, index, out);
            true
        }
        (Kind::Tables(keys), DeValue::Array(items))
            if items
                .iter()
                .all(|item| matches!(item.get_ref(), DeValue::Table(_))) =>
        {
            for (i, item) in items.iter().enumerate() {
                if let DeValue::Table(inner) = item.get_ref() {
                    section(inner, &format!("{dotted}[{}].", i + 1), keys, index, out);
                }
            }
            true
        }
        _ => false,
    };
    if fits {
        return;
    }
    let (line, col) = index.locate(value.span().start);
    let short = dotted.rsplit('.').next().unwrap_or(dotted);
    let found = written(value.get_ref());
    let (message, fix) = match kind {
        Kind::Text => (
            tr(
                format!("`{dotted}` must be text in quotes, not {found}"),
                format!("`{dotted}` phải là chữ trong ngoặc kép, không phải {found}"),
            ),
            tr(
                format!("put the value in quotes: {short} = \"…\""),
                format!("đặt giá trị trong ngoặc kép: {short} = \"…\""),
            ),
        ),
        Kind::Int => (
            tr(
                format!("`{dotted}` must be a whole number, not {found}"),
                format!("`{dotted}` phải là số nguyên, không phải {found}"),
            ),
            tr(
                format!("write a number without quotes, e.g. {short} = 8"),
                format!("ghi số không có ngoặc kép, ví dụ {short} = 8"),
            ),
        ),
        Kind::Bool => (
            tr(
                format!("`{dotted}` must be true or false, not {found}"),
                format!("`{dotted}` phải là true hoặc false, không phải {found}"),
            ),
            tr(
                format!("write {short} = true or {short} = false, without quotes"),
                format!("ghi {short} = true hoặc {short} = false, không có ngoặc kép"),
            ),
        ),
        Kind::TextList => (
            tr(
                format!("`{dotted}` must be a list of texts, not {found}"),
                format!("`{dotted}` phải là danh sách chữ, không phải {found}"),
            ),
            tr(
                format!("write it as {short} = [\"…\", \"…\"]"),
                format!("ghi dạng {short} = [\"…\", \"…\"]"),
            ),
        ),
        Kind::Section(_) => (
            tr(
                format!("`{dotted}` must be a section [{dotted}], not {found}"),
                format!("`{dotted}` phải là một mục [{dotted}], không phải {found}"),
            ),
            tr(
                format!("write a line [{dotted}] and its keys below it"),
                format!("ghi dòng [{dotted}] và các khóa của nó bên dưới"),
            ),
        ),
        Kind::Tables(_) => (
            tr(
                format!("`{dotted}` must be written as sections [[{dotted}]], not {found}"),
                format!("`{dotted}` phải được ghi thành các mục [[{dotted}]], không phải {found}"),
            ),
            tr(
                format!(
                    "write a line [[{dotted}]] (two brackets) and its keys below it, once for each"
                ),
                format!(
                    "ghi dòng [[{dotted}]] (hai dấu ngoặc vuông) và các khóa bên dưới, mỗi mục một lần"
                ),
            ),
        ),
    };
    out.push(Diagnostic::error(line, col, message).fix(fix));
}

/// What a value is, in the officer's words.
fn written(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => tr(format!("the text \"{s}\""), format!("chữ \"{s}\"")),
        DeValue::Integer(_) | DeValue::Float(_) => tr("a number".into(), "một con số".into()),
        DeValue::Boolean(b) => tr(format!("{b}"), format!("{b}")),
        DeValue::Datetime(_) => tr("a date".into(), "một ngày tháng".into()),
        DeValue::Array(_) => tr("a list".into(), "một danh sách".into()),
        DeValue::Table(_) => tr("a section".into(), "một mục".into()),
    }
}
