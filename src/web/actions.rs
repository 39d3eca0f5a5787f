//! The officer's actions: Retry, Retry after checking (`--force`), Cancel and Unpublish, through
//! the same engine functions as `loa retry`, `loa cancel` and `loa unpublish`; the confirmation
//! pages that come first for the last three; logging in and out.
//!
//! Every action is a POST with the session's CSRF token. An action that finds its delivery
//! moved on (a second click on Retry, a post published meanwhile) changes nothing and says what
//! the delivery is now.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{self, Frame};
use super::{Dashboard, Session, WebError};
use crate::channel::Channel;
use crate::engine::commands;
use crate::i18n::tr;
use crate::publisher::Outcome;
use crate::store::{Delivery, State as DeliveryState};

/// What the officer asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Retry,
    Force,
    Cancel,
    Unpublish,
}

impl Act {
    fn parse(s: &str) -> Option<Act> {
        Some(match s {
            "retry" => Act::Retry,
            "force" => Act::Force,
            "cancel" => Act::Cancel,
            "unpublish" => Act::Unpublish,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            Act::Retry => "retry",
            Act::Force => "force",
            Act::Cancel => "cancel",
            Act::Unpublish => "unpublish",
        }
    }
}

/// The action form (and the confirmation page's query).
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    action: String,
    post: String,
    channel: String,
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    password: String,
}

/// The logout form.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn malformed() -> WebError {
    WebError::BadForm(
        tr(
            "the form is incomplete or not one the dashboard sends",
            "biểu mẫu thiếu thông tin hoặc không phải do bảng điều khiển gửi",
        )
        .into(),
    )
}

/// The action, the channel and the post's delivery on it, as the store holds them now.
async fn target(
    d: &Dashboard,
    form: &ActionForm,
) -> Result<(Act, Channel, String, Delivery), WebError> {
    let act = Act::parse(&form.action).ok_or_else(malformed)?;
    let channel = Channel::parse(&form.channel).ok_or_else(malformed)?;
    let key = form.post.clone();
    let found = d
        .read(move |s| {
            let Some(post) = s.post_summary(&key)? else {
                return Ok(None);
            };
            let delivery = s
                .deliveries_of(&post.id)?
                .into_iter()
                .find(|x| x.channel == channel);
            Ok(Some((super::week::title_of(&post), delivery)))
        })
        .await?;
    let (title, delivery) = found.ok_or_else(|| WebError::NoPost(form.post.clone()))?;
    let delivery = delivery.ok_or_else(|| {
        WebError::BadForm(tr(
            format!("this post is not sent to {}", view::channel_name(channel)),
            format!("bài này không đăng lên {}", view::channel_name(channel)),
        ))
    })?;
    Ok((act, channel, title, delivery))
}

#[derive(Template)]
#[template(path = "web/confirm.html")]
struct ConfirmPage {
    f: Frame,
    heading: String,
    explain: Vec<String>,
    button: &'static str,
    danger: bool,
    action: &'static str,
    post: String,
    channel: &'static str,
}

/// `GET /confirm?action=…&post=…&channel=…`: what the action will do and what to check first.
pub async fn confirm(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    q: Result<Query<ActionForm>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(form) = q.map_err(|_| malformed())?;
    let (act, channel, title, x) = target(&d, &form).await?;
    let tz = d.config.timezone;
    let platform = view::channel_name(channel);
    let when = x
        .published_at
        .or(x.due_at)
        .map(|t| view::when(t, tz))
        .unwrap_or_default();
    let (heading, explain, button, danger) = match act {
        Act::Force => (
            tr(
                format!("Check {platform} before you retry “{title}”"),
                format!("Kiểm tra {platform} trước khi thử lại “{title}”"),
            ),
            vec![
                tr(
                    format!("loa sent this post to {platform} but could not learn whether it went out (due {when})."),
                    format!("loa đã gửi bài này lên {platform} nhưng không biết bài đã lên hay chưa (lịch {when})."),
                ),
                tr(
                    format!("Open the {platform} page now and look for this post among the posts of that day."),
                    format!("Hãy mở trang {platform} ngay bây giờ và tìm bài này trong các bài của ngày đó."),
                ),
                tr(
                    "If it is there: do NOT retry (it would be posted twice); press Cancel on the post's page instead.".to_string(),
                    "Nếu đã có bài: KHÔNG thử lại (bài sẽ lên hai lần); hãy bấm Hủy đăng ở trang của bài.".to_string(),
                ),
                tr(
                    "If it is not there: press the button below and loa publishes it once.".to_string(),
                    "Nếu chưa có: bấm nút bên dưới, loa sẽ đăng bài một lần.".to_string(),
                ),
            ],
            tr("It is not there: retry", "Chưa có bài: thử lại"),
            false,
        ),
        Act::Cancel => (
            tr(
                format!("Cancel “{title}” on {platform}?"),
                format!("Hủy đăng “{title}” trên {platform}?"),
            ),
            vec![
                if x.platform_scheduled {
                    tr(
                        format!("loa will not publish this post on {platform}, and takes it back from {platform}, which holds it for later."),
                        format!("loa sẽ không đăng bài này lên {platform}, và rút lại bài {platform} đang giữ để tự đăng sau."),
                    )
                } else {
                    tr(
                        format!("loa will not publish this post on {platform}."),
                        format!("loa sẽ không đăng bài này lên {platform}."),
                    )
                },
                tr(
                    "The file stays in the posts folder, unchanged.".to_string(),
                    "Tệp vẫn nằm nguyên trong thư mục bài viết.".to_string(),
                ),
            ],
            tr("Cancel it", "Hủy đăng"),
            true,
        ),
        Act::Unpublish => (
            tr(
                format!("Delete “{title}” from {platform}?"),
                format!("Gỡ “{title}” khỏi {platform}?"),
            ),
            vec![
                tr(
                    format!("loa deletes the post on {platform}; people will no longer see it. This cannot be undone."),
                    format!("loa sẽ xóa bài trên {platform}; mọi người sẽ không còn thấy bài. Không thể hoàn tác."),
                ),
                tr(
                    "The file stays in the posts folder and is not published again.".to_string(),
                    "Tệp vẫn nằm trong thư mục bài viết và sẽ không được đăng lại.".to_string(),
                ),
            ],
            tr("Delete it from the platform", "Gỡ bài khỏi nền tảng"),
            true,
        ),
        // A plain retry needs no confirmation: show its button anyway.
        Act::Retry => (
            tr(format!("Retry “{title}” on {platform}?"), format!("Thử lại “{title}” trên {platform}?")),
            Vec::new(),
            tr("Retry", "Thử lại"),
            false,
        ),
    };
    let page = ConfirmPage {
        f: Frame::new(
            &d,
            Some(&session),
            heading.clone(),
            "",
            Some(d.attention_count().await?),
        ),
        heading,
        explain,
        button,
        danger,
        action: act.key(),
        post: form.post.clone(),
        channel: channel.name(),
    };
    super::view::render(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "web/result.html")]
struct ResultPage {
    f: Frame,
    ok: bool,
    message: String,
    post: String,
}

/// `POST /actions`: does the action and shows what happened.
pub async fn act(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| malformed())?;
    if !d.access.csrf_ok(&session.id, &form.csrf) {
        return Err(WebError::Csrf);
    }
    let (act, channel, title, before) = target(&d, &form).await?;
    let platform = view::channel_name(channel);
    let engine = &d.engine;
    let post = form.post.clone();
    let (ok, message) = match act {
        Act::Retry | Act::Force => {
            let n = commands::retry(engine, &post, Some(channel), act == Act::Force)
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?;
            if n > 0 {
                (
                    true,
                    tr(
                        format!(
                            "“{title}” is back in the queue for {platform}; loa publishes it in a moment."
                        ),
                        format!(
                            "“{title}” đã vào lại hàng đợi của {platform}; loa sẽ đăng trong giây lát."
                        ),
                    ),
                )
            } else {
                (false, moved_on(&d, channel, &before).await?)
            }
        }
        Act::Cancel => {
            let n = commands::cancel(engine, &post, Some(channel))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?;
            if n > 0 {
                (
                    true,
                    tr(
                        format!("“{title}” will not be published on {platform}."),
                        format!("“{title}” sẽ không được đăng lên {platform}."),
                    ),
                )
            } else {
                (false, moved_on(&d, channel, &before).await?)
            }
        }
        Act::Unpublish => match commands::unpublish(engine, &post, Some(channel)).await {
            Ok(done) if done.is_empty() => (false, moved_on(&d, channel, &before).await?),
            Ok(done) => match &done[0].outcome {
                Outcome::Published { .. } => (
                    true,
                    tr(
                        format!("“{title}” was deleted from {platform}."),
                        format!("Đã gỡ “{title}” khỏi {platform}."),
                    ),
                ),
                other => (
                    false,
                    tr(
                        format!(
                            "{platform} did not delete “{title}”: {}",
                            other.message().unwrap_or_default()
                        ),
                        format!(
                            "{platform} chưa gỡ “{title}”: {}",
                            other.message().unwrap_or_default()
                        ),
                    ),
                ),
            },
            Err(e) => (false, e.to_string()),
        },
    };
    let page = ResultPage {
        f: Frame::new(
            &d,
            Some(&session),
            if ok {
                tr("Done", "Đã xong")
            } else {
                tr("Nothing was changed", "Không có gì thay đổi")
            },
            "",
            Some(d.attention_count().await?),
        ),
        ok,
        message,
        post: form.post.clone(),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    super::view::render(&page, status)
}

/// Why an action changed nothing: the delivery is no longer where the page showed it.
async fn moved_on(d: &Dashboard, channel: Channel, before: &Delivery) -> Result<String, WebError> {
    let id = before.id;
    let now = d.read(move |s| s.delivery(id)).await?;
    let state = now.as_ref().map_or(before.state, |x| x.state);
    let platform = view::channel_name(channel);
    let word = crate::status::state_label(state);
    Ok(match state {
        DeliveryState::Scheduled | DeliveryState::RetryWait | DeliveryState::Publishing => tr(
            format!(
                "It is already in the queue for {platform} ({word}); nothing was queued twice."
            ),
            format!(
                "Bài đã ở trong hàng đợi của {platform} ({word}); không có gì được xếp hai lần."
            ),
        ),
        _ => tr(
            format!(
                "The delivery to {platform} is now “{word}”; this action no longer applies. See the post's page."
            ),
            format!(
                "Lượt đăng lên {platform} hiện là “{word}”; thao tác này không còn áp dụng. Xem trang của bài."
            ),
        ),
    })
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    f: Frame,
    wrong: bool,
}

/// `GET /login`.
pub async fn login_page(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
) -> Result<Response, WebError> {
    if !d.access.needs_login() {
        return Ok(Redirect::to("/").into_response());
    }
    login(&d, &session, false, StatusCode::OK)
}

fn login(
    d: &Dashboard,
    session: &Session,
    wrong: bool,
    status: StatusCode,
) -> Result<Response, WebError> {
    let mut f = Frame::new(d, Some(session), tr("Log in", "Đăng nhập"), "", None);
    f.logout = false;
    let page = LoginPage { f, wrong };
    super::view::render(&page, status)
}

/// `POST /login`: a new session on the right password; a slow answer on a wrong one.
pub async fn log_in(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| malformed())?;
    if !d.access.csrf_ok(&session.id, &form.csrf) {
        return Err(WebError::Csrf);
    }
    match d.access.log_in(&form.password).await {
        Some(id) => {
            let mut response = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&super::access::set_cookie(&id)) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(response)
        }
        None if !d.access.needs_login() => Ok(Redirect::to("/").into_response()),
        None => login(&d, &session, true, StatusCode::UNAUTHORIZED),
    }
}

/// `POST /logout`.
pub async fn log_out(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| malformed())?;
    if !d.access.csrf_ok(&session.id, &form.csrf) {
        return Err(WebError::Csrf);
    }
    d.access.log_out(&session.id);
    Ok(Redirect::to("/login").into_response())
}
