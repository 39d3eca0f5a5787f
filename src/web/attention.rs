//! **Cần xử lý / Attention**: what needs a person, from the report's attention model (the
//! same list `loa report` shows): failed, unconfirmed and missed deliveries with their actions;
//! channels paused or needing re-authorization, with the exact command; a token near its end.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::post::Action;
use super::view::{self, Frame};
use super::{Dashboard, Session, WebError};
use crate::i18n::tr;

struct Item {
    channel: &'static str,
    channel_key: &'static str,
    state: String,
    badge_class: &'static str,
    title: Option<String>,
    file: Option<String>,
    post_id: Option<String>,
    reason: String,
    /// The fix: text, and commands (`true`) to run in a terminal.
    fix: Option<Vec<(bool, String)>>,
    actions: Vec<Action>,
    informational: bool,
}

#[derive(Template)]
#[template(path = "web/attention.html")]
struct Page {
    f: Frame,
    items: Vec<Item>,
    /// What the officer may like to know but need not act on (a metric a platform retired, a
    /// pause loa waits out by itself).
    notes: Vec<Item>,
    /// Alerts a configured sink has not taken yet (`[alerts]`).
    undelivered: Vec<crate::status::UndeliveredAlert>,
}

/// How many of `attention` ask something of the officer (the Attention tab's count).
pub fn count(attention: &[crate::report::model::Attention]) -> usize {
    attention
        .iter()
        .filter(|a| !informational(&a.state))
        .count()
}

/// Whether an attention row asks nothing of the officer: loa carries on by itself.
pub fn informational(state: &str) -> bool {
    matches!(state, "metric_retired" | "rate_limited")
}

/// The actions for an attention row in `state` (a delivery's).
fn actions(state: &str) -> Vec<Action> {
    let retry = |label, action, confirm| Action {
        label,
        action,
        confirm,
        danger: false,
    };
    let cancel = Action {
        label: tr("Cancel", "Hủy đăng"),
        action: "cancel",
        confirm: true,
        danger: true,
    };
    match state {
        "failed" | "missed" => vec![retry(tr("Retry", "Thử lại"), "retry", false), cancel],
        "unconfirmed" => vec![
            retry(
                tr("Retry after checking", "Thử lại sau khi kiểm tra"),
                "force",
                true,
            ),
            cancel,
        ],
        "update_failed" => vec![retry(
            tr("Retry the update", "Thử cập nhật lại"),
            "retry",
            false,
        )],
        _ => Vec::new(),
    }
}

/// `GET /attention`.
pub async fn page(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
) -> Result<Response, WebError> {
    let attention = d.attention().await?;
    let lang = crate::i18n::language();
    let (items, notes): (Vec<Item>, Vec<Item>) = attention
        .iter()
        .map(|a| Item {
            channel: view::channel_name(a.channel),
            channel_key: a.channel.name(),
            state: crate::report::format::attention_state(lang, &a.state).to_string(),
            badge_class: match a.state.as_str() {
                "token_expiring" | "rate_limited" | "metric_retired" => "st-warn",
                _ => "st-bad",
            },
            title: a.title.clone(),
            file: a.file.clone(),
            post_id: a.post_id.clone(),
            reason: crate::report::format::capitalized(&a.reason),
            // A delivery's fix in the dashboard's words (its buttons are right here); a
            // channel's is a command to run, shown as such.
            fix: match a.kind {
                crate::report::model::AttentionKind::Delivery => {
                    view::fix_for(&a.state).or_else(|| a.fix.clone())
                }
                crate::report::model::AttentionKind::Channel => a.fix.clone(),
            }
            .map(|f| view::segments(&f)),
            actions: if a.post_id.is_some() {
                actions(&a.state)
            } else {
                Vec::new()
            },
            informational: informational(&a.state),
        })
        .partition(|i| !i.informational);
    let page = Page {
        f: Frame::new(
            &d,
            Some(&session),
            tr("Attention", "Cần xử lý"),
            "attention",
            Some(items.len()),
        ),
        items,
        notes,
        undelivered: crate::app::status::undelivered_alerts(&d.engine)
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
            .into_iter()
            .map(|mut u| {
                u.at = crate::status::human_time(&u.at, d.config.timezone);
                u
            })
            .collect(),
    };
    super::view::render(&page, StatusCode::OK)
}
