//! Getting and checking the Facebook Page access token (`shared/api/facebook-graph.md` §2).
//!
//! `loa auth facebook --user-token T` runs [`exchange_user_token`] (short-lived user token →
//! ~60-day user token) and then [`find_page_token`] (the Page token made from a long-lived user
//! token does not expire). Startup and `loa status` run [`debug_token`] and show
//! [`TokenInfo::problems`]. Facebook has no refresh flow, so these three calls are all there is.
//!
//! Secrets: every token and the app secret travel in the query string, because that is the
//! documented form. A URL is therefore as secret as a token: it is never logged, never put in an
//! error (`reqwest::Error::without_url`), and `paging.next` links (which carry the token) are only
//! followed to the origin we were configured with. Tokens are held as [`SecretString`], whose
//! `Debug` is redacted, so deriving `Debug` on the types here is safe.
//!
//! A Graph error body is read by the one Graph error reader ([`crate::facebook::errors::error_of`])
//! and judged by the one table of token errors ([`GraphError::token_trouble`]), so a token the
//! publishing client calls dead is dead here too. Requests go through the platform edge
//! ([`crate::platform`]): its transport words and its redactor.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{RequestBuilder, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::facebook::errors::{GraphError, TokenTrouble, error_of};
use crate::i18n::tr;
use crate::platform::json::{id_of, number_of};
use crate::platform::redact::scrub_with;
use crate::platform::transport::{self, Transport};

/// Page tasks that allow publishing (§2): the user behind a Page token needs one of them.
pub const PUBLISH_TASKS: [&str; 3] = ["CREATE_CONTENT", "MANAGE", "MODERATE"];

/// Scopes a Page token needs for what loa does: publishing and reading its own posts back
/// (reconciliation, §4). `TokenInfo::problems` reports any that are missing.
pub const REQUIRED_SCOPES: [&str; 2] = ["pages_manage_posts", "pages_read_engagement"];

/// How close an expiry must be before it counts as a problem: two weeks leaves the officer time
/// to get a fresh user token before deliveries start waiting.
pub const EXPIRY_WARNING: TimeDelta = TimeDelta::days(14);

/// Upper bound on `/me/accounts` pages followed. Facebook returns 25 entries per page, so this
/// covers over a thousand Pages; hitting it means a paging loop, not a real account.
pub const MAX_ACCOUNT_PAGES: usize = 50;

/// How many managed Pages a [`AuthError::PageNotFound`] message lists before summarising, so a
/// huge agency account does not produce a wall of text.
const MAX_LISTED_PAGES: usize = 20;

const EXCHANGE: &str = "oauth/access_token";
const ACCOUNTS: &str = "me/accounts";
const DEBUG_TOKEN: &str = "debug_token";

/// A long-lived (~60 days) user access token from `oauth/access_token`.
#[derive(Debug, Clone)]
pub struct LongLivedToken {
    /// The token itself; only ever exposed to build a request.
    pub token: SecretString,
    /// `token_type` as Facebook sent it (normally `"bearer"`).
    pub token_type: Option<String>,
    /// Lifetime from the moment of the reply; `None` when Facebook did not say.
    pub expires_in: Option<Duration>,
}

impl LongLivedToken {
    /// When the token expires, given when the reply was received.
    pub fn expires_at(&self, received_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lifetime = TimeDelta::from_std(self.expires_in?).ok()?;
        received_at.checked_add_signed(lifetime)
    }
}

/// The access token of one Page, from `/me/accounts`.
#[derive(Debug, Clone)]
pub struct PageToken {
    /// The Page id (`facebook.page_id`).
    pub id: String,
    /// The Page name, for messages to the officer.
    pub name: String,
    /// The Page access token.
    pub token: SecretString,
    /// The user's tasks on the Page (`CREATE_CONTENT`, `MANAGE`, `MODERATE`, `ADVERTISE`, …).
    pub tasks: Vec<String>,
}

impl PageToken {
    /// Whether the user's tasks on the Page allow publishing.
    pub fn can_publish(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| PUBLISH_TASKS.contains(&t.as_str()))
    }

    /// A warning for the officer when the tasks do not allow publishing. This is a warning and
    /// not an error because Facebook omits `tasks` for some roles and the token may still work;
    /// the first publish will tell for sure.
    pub fn task_warning(&self) -> Option<String> {
        if self.can_publish() {
            return None;
        }
        let have = if self.tasks.is_empty() {
            "no tasks".to_owned()
        } else {
            format!("only the tasks {}", self.tasks.join(", "))
        };
        Some(format!(
            "on the Page \"{}\" ({}) this Facebook user has {have}; publishing needs one of {}. \
             Ask a Page admin to give this user full or partial (content) access.",
            self.name,
            self.id,
            PUBLISH_TASKS.join(", ")
        ))
    }
}

/// What `debug_token` says about a token (§2 "Check").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `data.type`: `"PAGE"`, `"USER"`, `"APP"`, …
    pub token_type: Option<String>,
    /// `data.is_valid`; `false` when Facebook left it out.
    pub is_valid: bool,
    /// `data.expires_at`; `None` when 0 (never expires) or absent.
    pub expires_at: Option<DateTime<Utc>>,
    /// `data.data_access_expires_at`; `None` when 0 or absent.
    pub data_access_expires_at: Option<DateTime<Utc>>,
    /// `data.scopes`: the permissions granted.
    pub scopes: Vec<String>,
    /// `data.profile_id`: for a Page token, the Page id.
    pub profile_id: Option<String>,
}

impl TokenInfo {
    /// Everything that would stop loa from publishing to `expected_page_id` with this token, as
    /// sentences for the officer. Empty means the token is fine. Judged on the system clock; code
    /// that has a [`Clock`](crate::clock::Clock) calls [`TokenInfo::problems_at`] with it.
    pub fn problems(&self, expected_page_id: &str) -> Vec<String> {
        self.problems_at(expected_page_id, crate::clock::Clock::system().now())
    }

    /// [`TokenInfo::problems`] with an explicit "now", so the expiry rule can be tested.
    ///
    /// `data_access_expires_at` is deliberately not checked: whether the 90-day data-access
    /// expiry applies to Page tokens is uncertain (§2), and flagging it would cry wolf.
    pub fn problems_at(&self, expected_page_id: &str, now: DateTime<Utc>) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.is_valid {
            problems.push(tr(
                "Facebook says the token is not valid (expired, revoked, password changed or Page \
                 role lost): run `loa auth facebook` again"
                    .to_owned(),
                "Facebook cho biết token không hợp lệ (hết hạn, bị thu hồi, đổi mật khẩu hoặc mất \
                 vai trò trên Trang): hãy chạy lại `loa auth facebook`"
                    .to_owned(),
            ));
        }
        match self.token_type.as_deref() {
            Some("PAGE") => {}
            Some(other) => problems.push(tr(
                format!(
                    "the token is a {other} token, not a Page token: run `loa auth facebook` to get \
                     the Page token"
                ),
                format!(
                    "token này là loại {other}, không phải token Trang: hãy chạy `loa auth facebook` \
                     để lấy token Trang"
                ),
            )),
            None => problems.push(tr(
                "Facebook did not say what kind of token this is; loa needs a Page token"
                    .to_owned(),
                "Facebook không cho biết đây là loại token nào; loa cần token Trang".to_owned(),
            )),
        }
        let missing: Vec<&str> = REQUIRED_SCOPES
            .iter()
            .copied()
            .filter(|scope| !self.scopes.iter().any(|s| s == scope))
            .collect();
        if !missing.is_empty() {
            let missing = missing.join(", ");
            problems.push(tr(
                format!(
                    "the token lacks the permission(s) {missing}: grant them when creating the user \
                     token, then run `loa auth facebook` again"
                ),
                format!(
                    "token thiếu quyền {missing}: hãy cấp các quyền này khi tạo token người dùng, \
                     rồi chạy lại `loa auth facebook`"
                ),
            ));
        }
        match &self.profile_id {
            Some(id) if id != expected_page_id => problems.push(tr(
                format!("the token belongs to Page {id}, but facebook.page_id is {expected_page_id}"),
                format!("token thuộc Trang {id}, nhưng facebook.page_id là {expected_page_id}"),
            )),
            Some(_) => {}
            // Only a Page token is expected to name its Page; for other types the type problem
            // above already says what is wrong.
            None if self.token_type.as_deref() == Some("PAGE") => problems.push(tr(
                format!(
                    "Facebook did not say which Page the token belongs to (expected {expected_page_id})"
                ),
                format!(
                    "Facebook không cho biết token thuộc Trang nào (cần Trang {expected_page_id})"
                ),
            )),
            None => {}
        }
        if let Some(expires_at) = self.expires_at {
            if expires_at <= now {
                let when = expires_at.format("%Y-%m-%d %H:%M UTC");
                let vi_when = expires_at.format("%H:%M UTC %d/%m/%Y");
                problems.push(tr(
                    format!("the token expired on {when}"),
                    format!("token đã hết hạn lúc {vi_when}"),
                ));
            } else if expires_at - now < EXPIRY_WARNING {
                let when = expires_at.format("%Y-%m-%d %H:%M UTC");
                let vi_when = expires_at.format("%H:%M UTC %d/%m/%Y");
                let days = (expires_at - now).num_days();
                problems.push(tr(
                    format!(
                        "the token expires on {when} (in {days} day(s)); a Page token made from a \
                         long-lived user token does not expire: run `loa auth facebook` again"
                    ),
                    format!(
                        "token hết hạn lúc {vi_when} (còn {days} ngày); token Trang tạo từ token \
                         người dùng dài hạn thì không hết hạn: hãy chạy lại `loa auth facebook`"
                    ),
                ));
            }
        }
        problems
    }
}

/// Why a token call failed. No variant carries a URL or a token, so `Display` and `Debug` are
/// safe to log and to store as `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Facebook answered with a Graph error body (§6).
    #[error("{}", graph_message(.endpoint, .message, *.code, *.subcode, .user_message.as_deref()))]
    Graph {
        /// The endpoint path, e.g. `oauth/access_token` (never the full URL).
        endpoint: &'static str,
        /// The HTTP status of the reply.
        status: u16,
        /// `error.message`, with any token we sent blanked out.
        message: String,
        /// `error.code`; 0 when Facebook sent none.
        code: i64,
        /// `error.error_subcode`.
        subcode: Option<i64>,
        /// `error.error_user_msg`: Facebook's text meant for the user, when present.
        user_message: Option<String>,
        /// `error.fbtrace_id`, to quote to Meta support.
        fbtrace_id: Option<String>,
    },
    /// The request did not get a reply (DNS, connection, TLS, timeout, body read).
    #[error("{}", unreachable_message(.endpoint, .source))]
    Http {
        /// The endpoint path (never the full URL).
        endpoint: &'static str,
        /// The transport error, with its URL stripped (`without_url`) because the URL holds
        /// the token.
        #[source]
        source: reqwest::Error,
    },
    /// Facebook replied, but not with what the documentation describes.
    #[error("{}", tr(
        format!("unexpected reply from Facebook ({endpoint}): {detail}"),
        format!("Facebook trả lời không đúng như tài liệu mô tả ({endpoint}); hãy chạy lại lệnh, nếu vẫn lỗi thì báo cho kỹ thuật viên"),
    ))]
    BadResponse {
        /// The endpoint path (never the full URL).
        endpoint: &'static str,
        /// What was wrong. Never quotes reply values, since replies carry tokens.
        detail: String,
    },
    /// `/me/accounts` did not list the configured Page.
    #[error("{}", page_not_found_message(.page_id, .seen))]
    PageNotFound {
        /// The Page id that was looked for (`facebook.page_id`).
        page_id: String,
        /// `(id, name)` of every Page the user can manage, for the message.
        seen: Vec<(String, String)>,
    },
}

impl AuthError {
    /// Whether this is Facebook saying the token is dead, lacks a permission, or needs a person
    /// on facebook.com (§6, [`GraphError::token_trouble`]), i.e. the officer has to act rather
    /// than wait and retry.
    pub fn needs_reauth(&self) -> bool {
        matches!(self, AuthError::Graph { code, subcode, .. } if trouble(*code, *subcode).is_some())
    }

    fn http(endpoint: &'static str, error: reqwest::Error) -> Self {
        AuthError::Http {
            endpoint,
            source: error.without_url(),
        }
    }

    fn bad(endpoint: &'static str, detail: impl Into<String>) -> Self {
        AuthError::BadResponse {
            endpoint,
            detail: detail.into(),
        }
    }
}

/// The token row of §6 for `code`/`subcode`, from the one table in `facebook::errors`.
fn trouble(code: i64, subcode: Option<i64>) -> Option<TokenTrouble> {
    GraphError {
        code,
        subcode,
        ..GraphError::default()
    }
    .token_trouble()
}

fn graph_message(
    endpoint: &str,
    message: &str,
    code: i64,
    subcode: Option<i64>,
    user_message: Option<&str>,
) -> String {
    let mut text = tr(
        format!("Facebook refused {endpoint}: {message} (code {code}"),
        format!("Facebook từ chối {endpoint}: {message} (code {code}"),
    );
    if let Some(subcode) = subcode {
        let _ = write!(text, ", subcode {subcode}");
    }
    text.push(')');
    if let Some(user_message) = user_message.filter(|m| !m.is_empty() && *m != message) {
        let _ = write!(text, ": {user_message}");
    }
    let fix = match trouble(code, subcode) {
        Some(TokenTrouble::Dead) => tr(
            "; the token is invalid or expired (an expired user token cannot be exchanged): \
             get a new user token and run `loa auth facebook` again",
            "; token không hợp lệ hoặc đã hết hạn (token người dùng hết hạn thì không đổi được): \
             hãy lấy token người dùng mới rồi chạy lại `loa auth facebook`",
        ),
        Some(TokenTrouble::PermissionMissing) => tr(
            "; a permission is missing: grant it and run `loa auth facebook` again",
            "; thiếu quyền: hãy cấp quyền đó rồi chạy lại `loa auth facebook`",
        ),
        Some(TokenTrouble::HumanAction) => tr(
            "; Facebook wants a Page admin to act on facebook.com first: log in there, follow \
             Facebook's instructions, then run `loa auth facebook` again",
            "; Facebook yêu cầu quản trị viên Trang xử lý trên facebook.com trước: hãy đăng nhập, \
             làm theo hướng dẫn của Facebook, rồi chạy lại `loa auth facebook`",
        ),
        None => "",
    };
    text.push_str(fix);
    text
}

fn unreachable_message(endpoint: &str, error: &reqwest::Error) -> String {
    let kind = transport_kind(error);
    tr(
        format!("could not reach Facebook ({endpoint}): {kind}"),
        format!("không liên lạc được với Facebook ({endpoint}): {kind}"),
    )
}

fn transport_kind(error: &reqwest::Error) -> &'static str {
    if error.is_builder() {
        tr(
            "the request could not be built (check facebook.graph_url)",
            "không tạo được yêu cầu (hãy kiểm tra facebook.graph_url)",
        )
    } else {
        Transport::of(error).words()
    }
}

fn page_not_found_message(page_id: &str, seen: &[(String, String)]) -> String {
    let mut text = tr(
        format!("the Facebook Page {page_id} is not among the Pages this Facebook user can manage"),
        format!(
            "Trang Facebook {page_id} không nằm trong các Trang mà người dùng Facebook này quản lý"
        ),
    );
    if seen.is_empty() {
        text.push_str(tr(
            " (the token sees no Pages at all; was `pages_show_list` granted?)",
            " (token không thấy Trang nào; quyền `pages_show_list` đã được cấp chưa?)",
        ));
    } else {
        text.push_str(tr("; the user can manage: ", "; người dùng quản lý: "));
        let listed: Vec<String> = seen
            .iter()
            .take(MAX_LISTED_PAGES)
            .map(|(id, name)| format!("\"{name}\" ({id})"))
            .collect();
        text.push_str(&listed.join(", "));
        if seen.len() > MAX_LISTED_PAGES {
            let more = seen.len() - MAX_LISTED_PAGES;
            let _ = write!(
                text,
                "{}",
                tr(
                    format!(" and {more} more"),
                    format!(" và {more} Trang khác")
                )
            );
        }
    }
    text.push_str(tr(
        ". Check facebook.page_id. If the Page is owned through a Business Manager (Meta Business \
         Suite), it may not be listed here: it is then only reachable through /me/businesses, \
         which needs the `business_management` permission; giving this user a role on the Page \
         itself also works.",
        ". Hãy kiểm tra facebook.page_id. Nếu Trang thuộc một Business Manager (Meta Business \
         Suite), nó có thể không hiện ở đây: khi đó chỉ truy cập được qua /me/businesses, cần \
         quyền `business_management`; cũng có thể giao cho người dùng này một vai trò trên chính Trang.",
    ));
    text
}

/// Exchanges a short-lived user token for a long-lived (~60 days) one (§2 step 1).
///
/// `base` is `{graph_url}/{api_version}`, e.g. `https://graph.facebook.com/v25.0`. An expired
/// `user_token` cannot be exchanged: Facebook answers with a Graph error (code 190).
pub async fn exchange_user_token(
    http: &reqwest::Client,
    base: &str,
    app_id: &str,
    app_secret: &SecretString,
    user_token: &SecretString,
) -> Result<LongLivedToken, AuthError> {
    let base = base.trim_end_matches('/');
    let request = http.get(format!("{base}/{EXCHANGE}")).query(&[
        ("grant_type", "fb_exchange_token"),
        ("client_id", app_id),
        ("client_secret", app_secret.expose_secret()),
        ("fb_exchange_token", user_token.expose_secret()),
    ]);
    let body = get_json(request, EXCHANGE, &[app_secret, user_token]).await?;
    let token = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AuthError::bad(EXCHANGE, "the reply has no `access_token`"))?;
    let token_type = body
        .get("token_type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let expires_in = match body.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let seconds = number_of(value);
            if seconds.is_none() {
                // The token itself is fine and `debug_token` reports the real expiry, so an
                // odd `expires_in` is not worth failing `loa auth facebook` over.
                tracing::warn!("Facebook sent an unreadable expires_in with the long-lived token");
            }
            seconds.map(Duration::from_secs)
        }
    };
    Ok(LongLivedToken {
        token: SecretString::from(token),
        token_type,
        expires_in,
    })
}

/// Finds the access token of the Page `page_id` among the Pages the user can manage
/// (§2 step 2), following `paging.next` for at most [`MAX_ACCOUNT_PAGES`] pages.
///
/// `paging.next` is followed as Facebook gave it (it already carries the token), but only when
/// it has the same scheme, host and port as `base`: otherwise loa would hand the user token to
/// whatever host the reply named. Such a link, a paging loop or hitting the page bound is an
/// [`AuthError::BadResponse`]; a complete listing without the Page is
/// [`AuthError::PageNotFound`].
pub async fn find_page_token(
    http: &reqwest::Client,
    base: &str,
    user_token: &SecretString,
    page_id: &str,
) -> Result<PageToken, AuthError> {
    let base = base.trim_end_matches('/');
    // If `base` does not parse, the first request fails to build anyway; `None` here simply
    // means that no next link can ever match it.
    let base_origin = Url::parse(base).ok().map(|u| u.origin());
    let mut request = http.get(format!("{base}/{ACCOUNTS}")).query(&[
        ("fields", "id,name,access_token,tasks"),
        ("access_token", user_token.expose_secret()),
    ]);
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut followed: HashSet<String> = HashSet::new();

    for _ in 0..MAX_ACCOUNT_PAGES {
        let body = get_json(request, ACCOUNTS, &[user_token]).await?;
        let data = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| AuthError::bad(ACCOUNTS, "the reply has no `data` list"))?;
        for entry in data {
            // An entry without an id cannot be the Page and cannot be named to the officer.
            let Some(id) = entry.get("id").and_then(id_of) else {
                continue;
            };
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if id == page_id {
                return page_token_from(entry, id, name);
            }
            seen.push((id, name));
        }

        let Some(next) = body
            .pointer("/paging/next")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(AuthError::PageNotFound {
                page_id: page_id.to_owned(),
                seen,
            });
        };
        // The parse error text does not quote the URL, but say nothing more than "invalid" anyway.
        let next_url = Url::parse(next)
            .map_err(|_| AuthError::bad(ACCOUNTS, "`paging.next` is not a valid URL"))?;
        let next_origin = next_url.origin();
        if base_origin.as_ref() != Some(&next_origin) {
            // The origin has no path or query, so it is safe to show.
            let shown = next_origin.ascii_serialization();
            tracing::warn!(
                next_origin = %shown,
                "not following a /me/accounts next-page link to another host"
            );
            return Err(AuthError::bad(
                ACCOUNTS,
                format!(
                    "`paging.next` points to {shown}, not to facebook.graph_url; loa does not \
                     follow it so the token is never sent to another host"
                ),
            ));
        }
        if !followed.insert(next.to_owned()) {
            return Err(AuthError::bad(
                ACCOUNTS,
                "`paging.next` repeats an earlier page; stopped to avoid a loop",
            ));
        }
        request = http.get(next_url);
    }

    Err(AuthError::bad(
        ACCOUNTS,
        format!(
            "stopped after {MAX_ACCOUNT_PAGES} pages ({} Pages seen) without finding Page \
             {page_id}",
            seen.len()
        ),
    ))
}

fn page_token_from(entry: &Value, id: String, name: String) -> Result<PageToken, AuthError> {
    let token = entry
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AuthError::bad(
                ACCOUNTS,
                format!(
                    "the Page \"{name}\" ({id}) is listed without an access token; the user \
                     token probably lacks `pages_show_list` or `pages_manage_posts`, or the user \
                     has no task on the Page"
                ),
            )
        })?;
    let tasks = entry
        .get("tasks")
        .and_then(Value::as_array)
        .map(|tasks| {
            tasks
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let page = PageToken {
        id,
        name,
        token: SecretString::from(token),
        tasks,
    };
    if !page.can_publish() {
        tracing::warn!(page_id = %page.id, tasks = ?page.tasks, "the user's Page tasks do not include publishing");
    }
    Ok(page)
}

/// Asks Facebook about `input_token` (§2 "Check"), authenticating with `access_token` (the Page
/// token itself or an app token `app_id|app_secret`).
///
/// An invalid `input_token` is not an error here: Facebook answers 200 with `is_valid: false`,
/// which [`TokenInfo::problems`] reports. An invalid `access_token` is an [`AuthError::Graph`].
pub async fn debug_token(
    http: &reqwest::Client,
    base: &str,
    input_token: &SecretString,
    access_token: &SecretString,
) -> Result<TokenInfo, AuthError> {
    let base = base.trim_end_matches('/');
    let request = http.get(format!("{base}/{DEBUG_TOKEN}")).query(&[
        ("input_token", input_token.expose_secret()),
        ("access_token", access_token.expose_secret()),
    ]);
    let body = get_json(request, DEBUG_TOKEN, &[input_token, access_token]).await?;
    let data = body
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| AuthError::bad(DEBUG_TOKEN, "the reply has no `data` object"))?;
    Ok(TokenInfo {
        token_type: data.get("type").and_then(Value::as_str).map(str::to_owned),
        is_valid: data
            .get("is_valid")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        expires_at: data.get("expires_at").and_then(timestamp_from),
        data_access_expires_at: data.get("data_access_expires_at").and_then(timestamp_from),
        scopes: data
            .get("scopes")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        profile_id: data.get("profile_id").and_then(id_of),
    })
}

/// Sends `request` and returns the JSON object it answered with, turning a Graph error body
/// into [`AuthError::Graph`] whatever the HTTP status (§6: branch on the body, not the status).
/// `secrets` are the tokens that went into the request; they are blanked out of Facebook's
/// messages in case one is ever echoed back.
async fn get_json(
    request: RequestBuilder,
    endpoint: &'static str,
    secrets: &[&SecretString],
) -> Result<Value, AuthError> {
    let answer = transport::exchange(request)
        .await
        .map_err(|failed| AuthError::http(endpoint, failed.error))?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = answer.body;
    tracing::debug!(endpoint, status = status.as_u16(), "Facebook replied");
    let parsed: Option<Value> = serde_json::from_str(&body).ok();
    if let Some(error) = parsed.as_ref().and_then(error_of) {
        return Err(graph_error(endpoint, status, error, secrets));
    }
    match parsed {
        _ if !status.is_success() => Err(AuthError::bad(
            endpoint,
            format!("HTTP {status} without a Graph error body"),
        )),
        Some(value) if value.is_object() => Ok(value),
        // The body is not quoted: a proxy error page may echo the request URL, token included.
        Some(_) => Err(AuthError::bad(
            endpoint,
            format!("HTTP {status} with JSON that is not an object"),
        )),
        None => Err(AuthError::bad(
            endpoint,
            format!(
                "HTTP {status} with a body that is not JSON ({} bytes)",
                body.len()
            ),
        )),
    }
}

/// The [`AuthError`] for Facebook's error `error`, with every secret that went into the request
/// (and any key-named secret) hidden from Facebook's words.
fn graph_error(
    endpoint: &'static str,
    status: StatusCode,
    error: GraphError,
    secrets: &[&SecretString],
) -> AuthError {
    let secrets: Vec<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
    let text = |words: &str| scrub_with(words, &secrets);
    AuthError::Graph {
        endpoint,
        status: status.as_u16(),
        message: if error.message.is_empty() {
            tr("(no message)", "(không có nội dung)").to_owned()
        } else {
            text(&error.message)
        },
        code: error.code,
        subcode: error.subcode,
        user_message: error.user_msg.as_deref().map(text),
        fbtrace_id: error.fbtrace_id.as_deref().map(text),
    }
}

/// A UNIX timestamp in seconds; 0 (Facebook's "never") and garbage become `None`.
fn timestamp_from(value: &Value) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(number_of(value)?).ok()?;
    if seconds == 0 {
        return None;
    }
    DateTime::from_timestamp(seconds, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "EAAsecretTOKENvalue123";

    fn chain(error: &dyn std::error::Error) -> String {
        let mut text = format!("{error} / {error:?}");
        let mut source = error.source();
        while let Some(s) = source {
            text.push_str(&format!(" / {s} / {s:?}"));
            source = s.source();
        }
        text
    }

    #[tokio::test]
    async fn transport_error_does_not_contain_the_token_from_the_url() {
        // A port that was just free: the connection is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let base = format!("http://127.0.0.1:{port}/v25.0");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();

        // Show that the guard matters: reqwest's own error names the URL, token included.
        let raw = http
            .get(format!("{base}/debug_token?input_token={TOKEN}"))
            .send()
            .await
            .unwrap_err();
        assert!(chain(&raw).contains(TOKEN));

        let token = SecretString::from(TOKEN);
        let error = debug_token(&http, &base, &token, &token).await.unwrap_err();
        assert!(matches!(error, AuthError::Http { .. }), "{error:?}");
        let text = chain(&error);
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("input_token"), "{text}");
        assert!(
            text.contains("could not reach Facebook (debug_token)"),
            "{text}"
        );
    }

    #[test]
    fn graph_error_redacts_an_echoed_token_and_reads_codes() {
        let token = SecretString::from(TOKEN);
        let body = json!({"error": {
            "message": format!("Invalid OAuth access token: {TOKEN}"),
            "type": "OAuthException", "code": 190, "error_subcode": 463,
            "error_user_msg": "Session expired", "fbtrace_id": "A3"
        }});
        let parsed = error_of(&body).unwrap();
        let error = graph_error(EXCHANGE, StatusCode::BAD_REQUEST, parsed, &[&token]);
        let text = chain(&error);
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("[hidden]"));
        assert!(text.contains("code 190, subcode 463"), "{text}");
        assert!(text.contains("Session expired"), "{text}");
        assert!(error.needs_reauth());
        assert!(error_of(&json!({"data": []})).is_none());
    }

    #[test]
    fn the_token_calls_use_the_clients_token_table() {
        let refused = |code, subcode| AuthError::Graph {
            endpoint: DEBUG_TOKEN,
            status: 400,
            message: "x".into(),
            code,
            subcode,
            user_message: None,
            fbtrace_id: None,
        };
        for (code, subcode) in [(190, Some(467)), (102, None), (10, None), (250, None)] {
            assert!(refused(code, subcode).needs_reauth(), "{code}/{subcode:?}");
        }
        // A person must act on facebook.com: no retry helps, as the client says too.
        let human = refused(368, Some(4_854_002));
        assert!(human.needs_reauth());
        assert!(human.to_string().contains("facebook.com"), "{human}");
        for (code, subcode) in [(4, None), (100, None), (1, None), (368, None)] {
            assert!(!refused(code, subcode).needs_reauth(), "{code}/{subcode:?}");
        }
    }

    #[test]
    fn seconds_and_timestamps_accept_numbers_and_strings() {
        assert_eq!(number_of(&json!(5183944)), Some(5183944));
        assert_eq!(number_of(&json!("5183944")), Some(5183944));
        assert_eq!(number_of(&json!(5183944.0)), Some(5183944));
        assert_eq!(number_of(&json!("soon")), None);
        assert_eq!(number_of(&json!(-1)), None);
        assert_eq!(timestamp_from(&json!(0)), None);
        assert_eq!(timestamp_from(&json!("0")), None);
        assert_eq!(
            timestamp_from(&json!(1_800_000_000)),
            DateTime::from_timestamp(1_800_000_000, 0)
        );
    }

    fn page_info() -> TokenInfo {
        TokenInfo {
            token_type: Some("PAGE".into()),
            is_valid: true,
            expires_at: None,
            data_access_expires_at: None,
            scopes: vec!["pages_manage_posts".into(), "pages_read_engagement".into()],
            profile_id: Some("123".into()),
        }
    }

    #[test]
    fn problems_cover_each_rule() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(page_info().problems_at("123", now).is_empty());

        let wrong_page = page_info().problems_at("999", now);
        assert_eq!(wrong_page.len(), 1);
        assert!(wrong_page[0].contains("999"));

        let soon = TokenInfo {
            expires_at: Some(now + TimeDelta::days(3)),
            ..page_info()
        };
        assert!(soon.problems_at("123", now)[0].contains("expires on"));
        let later = TokenInfo {
            expires_at: Some(now + TimeDelta::days(30)),
            ..page_info()
        };
        assert!(later.problems_at("123", now).is_empty());
        let expired = TokenInfo {
            expires_at: Some(now - TimeDelta::days(1)),
            is_valid: false,
            ..page_info()
        };
        assert_eq!(expired.problems_at("123", now).len(), 2);

        let no_page = TokenInfo {
            profile_id: None,
            ..page_info()
        };
        assert_eq!(no_page.problems_at("123", now).len(), 1);
    }

    #[test]
    fn task_warning_only_without_a_publishing_task() {
        let mut page = PageToken {
            id: "1".into(),
            name: "UBND xã".into(),
            token: SecretString::from(TOKEN),
            tasks: vec!["ADVERTISE".into(), "ANALYZE".into()],
        };
        let warning = page.task_warning().unwrap();
        assert!(warning.contains("CREATE_CONTENT") && warning.contains("ADVERTISE"));
        assert!(!format!("{page:?}").contains(TOKEN));
        page.tasks.push("CREATE_CONTENT".into());
        assert!(page.can_publish());
        assert!(page.task_warning().is_none());
    }

    #[test]
    fn page_not_found_lists_pages_and_business_manager() {
        let seen: Vec<(String, String)> = (0..25)
            .map(|i| (format!("{i}"), format!("Page {i}")))
            .collect();
        let text = page_not_found_message("42", &seen);
        assert!(text.contains("\"Page 0\" (0)"));
        assert!(text.contains("and 5 more"));
        assert!(text.contains("business_management"));
        assert!(page_not_found_message("42", &[]).contains("pages_show_list"));
    }
}
