//! **Số liệu / Engagement**: the report model of `loa report` (totals, periods, targets, top
//! posts, charts), laid out by the report's own sections, with downloads of the CSV and of the
//! self-contained HTML report.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::view::Frame;
use super::{Dashboard, Session, WebError};
use crate::i18n::tr;
use crate::report::{By, CsvRows, Format, Options, Report};

/// `?by=week|month`.
#[derive(Debug, Default, Deserialize)]
pub struct ByQuery {
    by: Option<String>,
}

#[derive(Template)]
#[template(path = "web/engagement.html")]
struct Page {
    f: Frame,
    range: String,
    by_month: bool,
    sections: String,
    by_param: &'static str,
}

/// The report for `options`, as the store holds it now.
pub async fn load(d: &Dashboard, options: Options) -> Result<Report, WebError> {
    let config = d.config.clone();
    let now = d.now();
    let refresh = crate::app::report::zalo_refresh_expires(&config.data_dir);
    d.read(move |s| crate::report::load(s, &config, &options, now, refresh))
        .await
}

fn options(
    q: Result<Query<ByQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Options, WebError> {
    let Query(q) = q.map_err(|_| {
        WebError::BadForm(tr("the page's address is malformed", "địa chỉ trang bị sai").into())
    })?;
    let by = match q.by.as_deref() {
        None | Some("" | "week") => By::Week,
        Some("month") => By::Month,
        Some(other) => {
            return Err(WebError::BadForm(tr(
                format!("`{other}` is not week or month"),
                format!("`{other}` không phải week (tuần) hay month (tháng)"),
            )));
        }
    };
    Ok(Options {
        by,
        ..Options::default()
    })
}

/// `GET /engagement`.
pub async fn page(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    q: Result<Query<ByQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let options = options(q)?;
    let by_month = options.by == By::Month;
    let r = load(&d, options).await?;
    let lang = r.language;
    let page = Page {
        f: Frame::new(
            &d,
            Some(&session),
            tr("Engagement", "Số liệu"),
            "engagement",
            Some(super::attention::count(&r.attention)),
        ),
        range: crate::report::format::range(lang, r.since, r.until),
        by_month,
        sections: crate::report::html::sections(&r),
        by_param: if by_month { "month" } else { "week" },
    };
    super::view::render(&page, StatusCode::OK)
}

/// `GET /engagement/report.csv`: the posts CSV of `loa report --format csv` (or the periods
/// with `?by=`), for the monthly report.
pub async fn csv(
    State(d): State<Arc<Dashboard>>,
    q: Result<Query<ByQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let explicit = matches!(&q, Ok(Query(ByQuery { by: Some(b) })) if !b.is_empty());
    let options = options(q)?;
    let rows = if explicit {
        CsvRows::Periods
    } else {
        CsvRows::Posts
    };
    let r = load(&d, options).await?;
    let name = format!("loa-{}-{}.csv", r.since, r.until);
    Ok(download(
        crate::report::render(&r, Format::Csv(rows)),
        "text/csv; charset=utf-8",
        &name,
    ))
}

/// `GET /engagement/report.html`: the self-contained page of `loa report --format html`.
pub async fn html(
    State(d): State<Arc<Dashboard>>,
    q: Result<Query<ByQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let r = load(&d, options(q)?).await?;
    let name = format!("loa-{}-{}.html", r.since, r.until);
    Ok(download(
        crate::report::render(&r, Format::Html),
        "text/html; charset=utf-8",
        &name,
    ))
}

/// A file to save (never shown inside the dashboard: the report page carries its own style).
fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
