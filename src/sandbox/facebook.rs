//! The simulated Facebook Graph API: one Page, its posts, photo uploads, scheduler, insights and
//! the token endpoints, following `shared/api/facebook-graph.md`.
//!
//! Paths are `/{version}/…` with any `v{major}.{minor}` (the answer carries the version asked
//! for in `facebook-api-version`), or unversioned, as on the real Graph API. Requests are checked
//! as strictly as the reference allows: the token (missing → 104, unknown → 190/463, a user token
//! where a Page token is needed → 190), the parameters each endpoint knows (an unknown one is a
//! code 100 error, so a typo in loa shows up), scheduling windows, photo types and sizes, and
//! `attached_media` ids (an unpublished upload of this Page, attached once). Every answer carries
//! the usage headers with the true share of the Page's call budget (a rolling sandbox-hour of
//! [`DEFAULT_CALL_BUDGET`] calls, each batch item counting as one; at the budget every call
//! answers 80001), and every request is recorded (path and a few words,
//! never a token).
//!
//! A metric can be retired at runtime ([`Page::retire_metric`], as Facebook retired
//! `post_impressions`): from then on any insights call naming it is refused with `(#100) The
//! value must be a valid insights metric`, like a name that never existed.
//!
//! Faults: [`super::Faults::fail_rate`] answers a publishing request (`/feed`, or `/photos`
//! without `published=false`) with HTTP 500 code 2 without creating anything;
//! [`super::Faults::ghost_rate`] creates the post and still answers that 500 (the lost answer).
//! [`super::Faults::rate_limit_rate`] refuses any call but the token calls with code 4, 17, 32
//! or 613 and usage headers at 100 %, with `estimated_time_to_regain_access` of one minute or
//! of 0 (no estimate) in turn (no estimate first); [`super::Faults::slow_rate`] holds an answer back after
//! the call did its work.
//!
//! A switch ([`super::Sandbox::refuse_publishing`]) refuses every publishing request for good
//! with `(#100) Invalid parameter`, nothing created, so that a delivery can be made `failed`.
//!
//! Figures grow with a post's age on the sandbox clock, deterministically from its id: about 40
//! views an hour for a week, reach 70 % of views, clicks 5 %, reactions 8 %, comments 1 %,
//! shares 0.5 %.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, TimeZone, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{FACEBOOK_APP, PAGE_ID, PAGE_TOKEN, Sandbox, USER_TOKEN};
use crate::clock::Clock;

/// The long-lived user token `oauth/access_token` hands out for [`USER_TOKEN`].
pub const LONG_LIVED_TOKEN: &str = "sandbox-long-lived-user-token";
/// The app token (`{app-id}|{app-secret}`), also given by `grant_type=client_credentials`.
pub const APP_TOKEN: &str = "sandbox-app|sandbox-app-secret";
/// The simulated Page's name.
pub const PAGE_NAME: &str = "UBND xã Thanh Kỳ";
/// The Facebook user behind the tokens.
pub const USER_ID: &str = "100000000000001";
/// The largest photo `/photos` accepts.
pub const MAX_PHOTO_BYTES: usize = 4 * 1024 * 1024;
/// The shortest lead of a scheduled post.
pub const MIN_SCHEDULE_LEAD: Duration = Duration::minutes(10);
/// The longest lead of a scheduled post.
pub const MAX_SCHEDULE_LEAD: Duration = Duration::days(30);
/// `expires_in` of a long-lived user token (about 60 days).
const LONG_LIVED_SECONDS: i64 = 5_183_944;
/// Bodies up to this size are read (a larger photo must still get Facebook's own error).
const BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Views keep growing for this many hours after publication.
const GROWTH_HOURS: f64 = 168.0;
/// Calls allowed per rolling sandbox-hour unless a test sets another budget.
pub const DEFAULT_CALL_BUDGET: usize = 60_000;
/// `/me/accounts` answers this many Pages at a time, so paging is always exercised.
const ACCOUNTS_PAGE_SIZE: usize = 2;
/// The other Pages the sandbox user manages: (id, name, token).
const OTHER_PAGES: [(&str, &str, &str); 2] = [
    (
        "200000000000001",
        "Hội Nông dân xã Thanh Kỳ",
        "sandbox-other-page-token-1",
    ),
    (
        "200000000000002",
        "Đoàn Thanh niên xã Thanh Kỳ",
        "sandbox-other-page-token-2",
    ),
];
/// The scopes of the sandbox's tokens.
const SCOPES: [&str; 6] = [
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_user_content",
    "read_insights",
];
/// The Page tasks of the sandbox user on the simulated Page.
const TASKS: [&str; 6] = [
    "ADVERTISE",
    "ANALYZE",
    "CREATE_CONTENT",
    "MESSAGING",
    "MODERATE",
    "MANAGE",
];
/// Insight metrics of a post that Facebook still serves.
const POST_METRICS: [&str; 13] = [
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_clicks_by_type",
    "post_reactions_by_type_total",
    "post_reactions_like_total",
    "post_reactions_love_total",
    "post_reactions_wow_total",
    "post_reactions_haha_total",
    "post_reactions_sorry_total",
    "post_reactions_anger_total",
    "post_activity_by_action_type",
    "post_video_views",
];
/// Insight metrics of the Page that Facebook still serves.
const PAGE_METRICS: [&str; 5] = [
    "page_follows",
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_views_total",
];
/// Fields a post (`PagePost`) has.
const POST_FIELDS: [&str; 15] = [
    "id",
    "message",
    "created_time",
    "updated_time",
    "is_published",
    "scheduled_publish_time",
    "permalink_url",
    "shares",
    "comments",
    "reactions",
    "likes",
    "attachments",
    "full_picture",
    "from",
    "is_hidden",
];
/// Fields of the Page node.
const PAGE_FIELDS: [&str; 8] = [
    "id",
    "name",
    "category",
    "link",
    "followers_count",
    "fan_count",
    "about",
    "access_token",
];
/// Fields of an `/me/accounts` entry.
const ACCOUNT_FIELDS: [&str; 6] = [
    "id",
    "name",
    "access_token",
    "tasks",
    "category",
    "category_list",
];
/// What percent-encoding leaves alone in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b',');

// ---------------------------------------------------------------------------------------------
// The Page's state
// ---------------------------------------------------------------------------------------------

/// The simulated Page: its posts (deleted ones are kept, flagged), photo uploads and recent calls.
#[derive(Debug)]
pub struct Page {
    posts: Vec<StoredPost>,
    uploads: Vec<Upload>,
    next_id: u64,
    /// When each call of the last sandbox-hour came (a batch item counts as one call), for
    /// the budget and the usage headers.
    calls: VecDeque<DateTime<Utc>>,
    /// Calls allowed per rolling sandbox-hour; at or over it, every call answers 80001.
    budget: usize,
    /// Insight metrics retired at runtime ([`super::Sandbox::retire_metric`]).
    retired: BTreeSet<String>,
    /// The highest usage percentage any answer reported.
    peak_percent: u64,
    /// Calls refused with 80001.
    refusals: usize,
    /// Injected rate limits ([`super::Faults::rate_limit_rate`]) so far.
    throttles: usize,
    /// The sandbox's clock, for [`Page::posts`] (which is asked without a request).
    clock: Clock,
    /// Every publishing request is refused for good ([`super::Sandbox::refuse_publishing`]).
    refuse_publishing: bool,
}

#[derive(Clone, Debug)]
struct StoredPost {
    id: String,
    message: String,
    link: Option<String>,
    photos: Vec<String>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// When it goes (or went) live; `None` for an unpublished post.
    live_at: Option<DateTime<Utc>>,
    /// Handed to Facebook's scheduler (and not published early).
    scheduled: bool,
    deleted: bool,
    edits: usize,
}

impl StoredPost {
    fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.live_at.is_some_and(|t| t <= now)
    }

    fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.scheduled && self.live_at.is_some_and(|t| t > now)
    }

    fn view(&self, now: DateTime<Utc>) -> PostView {
        PostView {
            id: self.id.clone(),
            message: self.message.clone(),
            photos: self.photos.len(),
            link: self.link.clone(),
            created_time: self.created,
            scheduled_for: if self.scheduled { self.live_at } else { None },
            published: self.is_live(now),
            deleted: self.deleted,
            edits: self.edits,
        }
    }
}

#[derive(Clone, Debug)]
struct Upload {
    id: String,
    /// Uploaded with `published=false` (only those can be attached to a feed post).
    unpublished: bool,
    /// The post it belongs to, once attached (or published with it).
    post: Option<String>,
}

/// One post as the sandbox holds it, for tests and the demo.
#[derive(Clone, Debug, Serialize)]
pub struct PostView {
    /// `{page-id}_{post-id}`.
    pub id: String,
    /// The text (empty when the post has none).
    pub message: String,
    /// How many photos it carries.
    pub photos: usize,
    /// Its link attachment.
    pub link: Option<String>,
    /// When it was created.
    pub created_time: DateTime<Utc>,
    /// When Facebook's scheduler publishes (or published) it, for a natively scheduled post.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Whether it is live (a scheduled post becomes live when the sandbox clock passes its time).
    pub published: bool,
    /// Deleted (kept so that tests can count every post ever made).
    pub deleted: bool,
    /// How many times it was edited with `POST /{post-id}`.
    pub edits: usize,
}

impl Page {
    /// An empty Page on `clock` (the sandbox's: scheduled posts go live as it passes their time).
    pub fn new(clock: Clock) -> Page {
        Page {
            posts: Vec::new(),
            uploads: Vec::new(),
            next_id: 0,
            calls: VecDeque::new(),
            budget: DEFAULT_CALL_BUDGET,
            retired: BTreeSet::new(),
            peak_percent: 0,
            refusals: 0,
            throttles: 0,
            clock,
            refuse_publishing: false,
        }
    }

    /// While `on`, every publishing request (`/feed`, or `/photos` without `published=false`,
    /// alone or in a batch) is refused with `(#100) Invalid parameter` and creates nothing:
    /// §6 classes code 100 as Permanent, so loa marks the delivery `failed` without a retry.
    pub fn refuse_publishing(&mut self, on: bool) {
        self.refuse_publishing = on;
    }

    /// Sets the calls allowed per rolling sandbox-hour (at least 1).
    pub fn set_call_budget(&mut self, calls: usize) {
        self.budget = calls.max(1);
    }

    /// From now on, any insights call naming `metric` is refused with `(#100) The value must
    /// be a valid insights metric`, as Facebook does when it retires one.
    pub fn retire_metric(&mut self, metric: &str) {
        self.retired.insert(metric.to_string());
    }

    /// The highest usage percentage the headers reported so far.
    /// Adds a live post with `message`, published at `at`, as if loa had published it;
    /// returns its id. For benchmarks that need thousands of posts without thousands of calls.
    #[doc(hidden)]
    pub fn seed_post(&mut self, message: &str, at: DateTime<Utc>) -> String {
        self.create_post(
            Draft {
                message: message.to_string(),
                link: None,
                photos: Vec::new(),
                live_at: Some(at),
                scheduled: false,
            },
            at,
        )
    }

    pub fn peak_usage_percent(&self) -> u64 {
        self.peak_percent
    }

    /// How many calls were refused for being over the budget (80001).
    pub fn rate_limit_refusals(&self) -> usize {
        self.refusals
    }

    /// Counts an injected rate limit; how many came before it.
    fn next_throttle(&mut self) -> usize {
        self.throttles += 1;
        self.throttles - 1
    }

    /// The usage now: the share of the budget the last hour's calls took, and when enough of
    /// them leave the window to be under the budget again.
    fn usage(&mut self, now: DateTime<Utc>) -> Usage {
        let calls = self.calls.len();
        let percent = (calls as u64).saturating_mul(100) / self.budget as u64;
        self.peak_percent = self.peak_percent.max(percent);
        // Under the budget again once the call that put it at the budget leaves the hour.
        let regain = if calls >= self.budget {
            self.calls
                .get(calls - self.budget)
                .map(|t| {
                    let left = (*t + Duration::hours(1) - now).num_seconds().max(0);
                    u64::try_from((left + 59) / 60).unwrap_or(0).max(1)
                })
                .unwrap_or(1)
        } else {
            0
        };
        Usage { percent, regain }
    }

    /// Whether the hour's calls are at or over the budget (the call just counted included).
    fn over_budget(&self) -> bool {
        self.calls.len() > self.budget
    }

    /// Every post ever made on the Page, oldest first, deleted ones included (flagged).
    pub fn posts(&self) -> Vec<PostView> {
        let now = self.now();
        self.posts.iter().map(|p| p.view(now)).collect()
    }

    /// Photos uploaded with `published=false` and not attached to any post yet.
    pub fn loose_uploads(&self) -> usize {
        self.uploads
            .iter()
            .filter(|u| u.unpublished && u.post.is_none())
            .count()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        (1_220_000_000_000_000 + self.next_id).to_string()
    }

    fn post(&self, id: &str) -> Option<&StoredPost> {
        self.posts.iter().find(|p| p.id == id && !p.deleted)
    }

    fn post_mut(&mut self, id: &str) -> Option<&mut StoredPost> {
        self.posts.iter_mut().find(|p| p.id == id && !p.deleted)
    }

    /// Counts a call and returns how many came in the last sandbox-hour. Refused calls count
    /// too: calling while throttled extends the block, as on Facebook (§7).
    fn count_call(&mut self, now: DateTime<Utc>) -> usize {
        while self
            .calls
            .front()
            .is_some_and(|t| *t <= now - Duration::hours(1))
        {
            self.calls.pop_front();
        }
        self.calls.push_back(now);
        self.calls.len()
    }

    fn create_post(&mut self, draft: Draft, now: DateTime<Utc>) -> String {
        let id = format!("{PAGE_ID}_{}", self.new_id());
        for photo in &draft.photos {
            if let Some(u) = self.uploads.iter_mut().find(|u| u.id == *photo) {
                u.post = Some(id.clone());
            }
        }
        self.posts.push(StoredPost {
            id: id.clone(),
            message: draft.message,
            link: draft.link,
            photos: draft.photos,
            created: now,
            updated: now,
            live_at: draft.live_at,
            scheduled: draft.scheduled,
            deleted: false,
            edits: 0,
        });
        id
    }

    fn followers(&self, now: DateTime<Utc>) -> u64 {
        1_240 + 3 * self.posts.iter().filter(|p| p.is_live(now)).count() as u64
    }
}

/// A post about to be created.
struct Draft {
    message: String,
    link: Option<String>,
    photos: Vec<String>,
    live_at: Option<DateTime<Utc>>,
    scheduled: bool,
}

// ---------------------------------------------------------------------------------------------
// Requests and answers
// ---------------------------------------------------------------------------------------------

/// A file part of a multipart body.
struct FilePart {
    name: String,
    bytes: Vec<u8>,
}

/// One request, decoded.
struct Call {
    method: Method,
    /// `v25.0`, or `None` for an unversioned call.
    version: Option<String>,
    /// The path's segments after the version, percent-decoded.
    segs: Vec<String>,
    /// Query and body parameters (the body's last).
    params: Vec<(String, String)>,
    /// Multipart parts that carried a file name.
    files: Vec<FilePart>,
    /// The token from `Authorization: Bearer|OAuth …`, if any.
    bearer: Option<String>,
    /// The `Host` header (to build absolute `paging.next` links).
    host: String,
    now: DateTime<Utc>,
    /// The injected fault drawn for this request (used only by publishing requests).
    fault: Fault,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn token(&self) -> Option<&str> {
        self.param("access_token")
            .filter(|t| !t.is_empty())
            .or(self.bearer.as_deref())
    }

    fn fields(&self) -> Option<Vec<FieldReq>> {
        self.param("fields").map(parse_fields)
    }

    /// `{scheme}://{host}/{version}/` (or `/` without a version).
    fn base_url(&self) -> String {
        match &self.version {
            Some(v) => format!("http://{}/{v}/", self.host),
            None => format!("http://{}/", self.host),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    Fail,
    Ghost,
}

/// An answer: status, JSON body and a few words for the record (never a token).
struct Reply {
    status: StatusCode,
    body: Value,
    summary: String,
}

fn ok(body: Value, summary: impl Into<String>) -> Reply {
    Reply {
        status: StatusCode::OK,
        body,
        summary: summary.into(),
    }
}

/// A Graph error.
#[derive(Debug)]
struct GraphErr {
    status: StatusCode,
    code: i64,
    subcode: Option<i64>,
    kind: &'static str,
    message: String,
    user_title: Option<String>,
    user_msg: Option<String>,
    transient: bool,
}

type Handled = Result<Reply, GraphErr>;

impl GraphErr {
    fn new(code: i64, message: impl Into<String>) -> GraphErr {
        GraphErr {
            status: StatusCode::BAD_REQUEST,
            code,
            subcode: None,
            kind: "OAuthException",
            message: message.into(),
            user_title: None,
            user_msg: None,
            transient: false,
        }
    }

    fn param(message: impl Into<String>) -> GraphErr {
        GraphErr::new(100, format!("(#100) {}", message.into()))
    }

    fn sub(mut self, subcode: i64) -> GraphErr {
        self.subcode = Some(subcode);
        self
    }

    fn user(mut self, title: &str, msg: &str) -> GraphErr {
        self.user_title = Some(title.to_string());
        self.user_msg = Some(msg.to_string());
        self
    }

    fn reply(self) -> Reply {
        let mut error = Map::new();
        error.insert("message".into(), self.message.into());
        error.insert("type".into(), self.kind.into());
        error.insert("code".into(), self.code.into());
        if let Some(s) = self.subcode {
            error.insert("error_subcode".into(), s.into());
        }
        if self.transient {
            error.insert("is_transient".into(), true.into());
        }
        if let Some(t) = self.user_title {
            error.insert("error_user_title".into(), t.into());
        }
        if let Some(m) = self.user_msg {
            error.insert("error_user_msg".into(), m.into());
        }
        error.insert("fbtrace_id".into(), trace_id().into());
        let summary = match self.subcode {
            Some(s) => format!("error {}/{s}", self.code),
            None => format!("error {}", self.code),
        };
        Reply {
            status: self.status,
            body: json!({ "error": error }),
            summary,
        }
    }
}

/// The answer of a server failure (and of a lost answer).
fn server_error() -> GraphErr {
    GraphErr {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        transient: true,
        ..GraphErr::new(
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
    }
}

/// The refusal of every publishing request while [`Page::refuse_publishing`] is on: code 100
/// without a subcode (invalid parameter), which `shared/api/facebook-graph.md` §6 classes as
/// Permanent, with the words Facebook shows the person (`error_user_msg`).
fn publishing_refused() -> GraphErr {
    GraphErr::param("Invalid parameter").user(
        "Post refused",
        "This post cannot be published (the sandbox refuses every post while its refuse switch is on).",
    )
}

/// 100/33: the object does not exist (or is not for this token).
fn no_object(method: &Method, id: &str) -> GraphErr {
    GraphErr {
        kind: "GraphMethodException",
        ..GraphErr::new(
            100,
            format!(
                "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded \
                 due to missing permissions, or does not support this operation. Please read the \
                 Graph API documentation at https://developers.facebook.com/docs/graph-api",
                method.as_str().to_lowercase()
            ),
        )
        .sub(33)
    }
}

fn unknown_path(segs: &[String]) -> GraphErr {
    let rest = segs.get(1..).unwrap_or_default();
    GraphErr::new(
        2500,
        format!("Unknown path components: /{}", rest.join("/")),
    )
}

fn nonexisting_field(field: &str, node_type: &str) -> GraphErr {
    GraphErr::param(format!(
        "Tried accessing nonexisting field ({field}) on node type ({node_type})"
    ))
}

fn trace_id() -> String {
    let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::iter::once('A')
        .chain((0..10).map(|_| chars[fastrand::usize(..chars.len())] as char))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Missing,
    Invalid,
    /// The simulated Page's token.
    Page,
    /// The token of another Page the user manages.
    OtherPage(usize),
    /// A user token; `true` when long-lived.
    User(bool),
    App,
}

fn token_kind(token: Option<&str>) -> Token {
    match token {
        None => Token::Missing,
        Some(t) if t == PAGE_TOKEN => Token::Page,
        Some(t) if t == LONG_LIVED_TOKEN => Token::User(true),
        Some(t) if t == USER_TOKEN => Token::User(false),
        Some(t) if t == APP_TOKEN => Token::App,
        Some(t) => OTHER_PAGES
            .iter()
            .position(|(_, _, token)| *token == t)
            .map_or(Token::Invalid, Token::OtherPage),
    }
}

fn token_missing() -> GraphErr {
    GraphErr::new(104, "An access token is required to request this resource.")
}

fn token_expired(now: DateTime<Utc>) -> GraphErr {
    let fmt = |t: DateTime<Utc>| t.format("%A, %d-%b-%y %H:%M:%S UTC");
    GraphErr::new(
        190,
        format!(
            "Error validating access token: Session has expired on {}. The current time is {}.",
            fmt(now - Duration::days(1)),
            fmt(now)
        ),
    )
    .sub(463)
}

/// Checks that the call carries the simulated Page's token.
fn require_page_token(call: &Call) -> Result<(), GraphErr> {
    match token_kind(call.token()) {
        Token::Page => Ok(()),
        Token::Missing => Err(token_missing()),
        Token::Invalid => Err(token_expired(call.now)),
        Token::User(_) | Token::App => Err(GraphErr::new(
            190,
            "(#190) This method must be called with a Page Access Token",
        )),
        Token::OtherPage(_) => Err(GraphErr::new(
            200,
            "(#200) The Page access token does not belong to this Page",
        )),
    }
}

/// Checks that every parameter is one the endpoint knows.
fn known_params(call: &Call, allowed: &[&str]) -> Result<(), GraphErr> {
    let ok = |k: &str| {
        allowed.contains(&k)
            || [
                "access_token",
                "appsecret_proof",
                "method",
                "suppress_http_code",
            ]
            .contains(&k)
            || (allowed.contains(&"attached_media")
                && k.strip_prefix("attached_media[")
                    .and_then(|r| r.strip_suffix(']'))
                    .is_some_and(|n| n.parse::<usize>().is_ok()))
    };
    for (k, _) in &call.params {
        if !ok(k) {
            return Err(GraphErr::param(format!(
                "Unknown parameter '{k}' for this endpoint"
            )));
        }
    }
    for f in &call.files {
        if !allowed.contains(&f.name.as_str()) || f.name != "source" {
            return Err(GraphErr::param(format!(
                "Unexpected file upload in parameter '{}'",
                f.name
            )));
        }
    }
    Ok(())
}

fn boolean(call: &Call, name: &str) -> Result<Option<bool>, GraphErr> {
    match call.param(name) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(GraphErr::param(format!("Param {name} must be a boolean"))),
    }
}

/// `scheduled_publish_time`: UNIX seconds or ISO 8601, inside Facebook's window.
fn schedule_time(call: &Call) -> Result<Option<DateTime<Utc>>, GraphErr> {
    let Some(raw) = call.param("scheduled_publish_time") else {
        return Ok(None);
    };
    let at = raw
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| Utc.timestamp_opt(s, 0).single())
        .or_else(|| {
            DateTime::parse_from_rfc3339(raw.trim())
                .or_else(|_| DateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S%z"))
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
        .ok_or_else(|| {
            GraphErr::param("Param scheduled_publish_time must be a UNIX timestamp or ISO 8601")
        })?;
    let lead = at - call.now;
    if lead < MIN_SCHEDULE_LEAD || lead > MAX_SCHEDULE_LEAD {
        return Err(
            GraphErr::param("The specified scheduled publish time is invalid.").user(
                "Invalid Scheduled Publish Time",
                "The scheduled publish time must be between 10 minutes and 30 days from the \
                 time of the request.",
            ),
        );
    }
    Ok(Some(at))
}

/// When a new post goes live, from `published` and `scheduled_publish_time`.
fn live_time(call: &Call) -> Result<(Option<DateTime<Utc>>, bool), GraphErr> {
    let published = boolean(call, "published")?;
    let scheduled = schedule_time(call)?;
    match (published, scheduled) {
        (Some(false), Some(at)) => Ok((Some(at), true)),
        (Some(false), None) => Ok((None, false)),
        (_, Some(_)) => Err(GraphErr::param(
            "You cannot specify a scheduled publish time on a published post",
        )),
        (_, None) => Ok((Some(call.now), false)),
    }
}

// ---------------------------------------------------------------------------------------------
// `fields`
// ---------------------------------------------------------------------------------------------

/// One entry of `fields=`: `comments.summary(total_count).limit(0)` → name `comments`, summary.
struct FieldReq {
    name: String,
    summary: bool,
}

fn parse_fields(s: &str) -> Vec<FieldReq> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    let mut push = |item: &str| {
        let item = item.trim();
        if item.is_empty() {
            return;
        }
        let end = item.find(['.', '{', '(']).unwrap_or(item.len());
        let summary = item
            .split(".summary(")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .is_some_and(|arg| arg.trim() != "false" && arg.trim() != "0");
        out.push(FieldReq {
            name: item[..end].to_string(),
            summary,
        });
    };
    for c in s.chars() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            ',' if depth <= 0 => {
                push(&current);
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    push(&current);
    out
}

fn check_fields(fields: &[FieldReq], known: &[&str], node_type: &str) -> Result<(), GraphErr> {
    match fields.iter().find(|f| !known.contains(&f.name.as_str())) {
        Some(f) => Err(nonexisting_field(&f.name, node_type)),
        None => Ok(()),
    }
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

/// A post's figures at some age.
struct Figures {
    views: u64,
    reach: u64,
    clicks: u64,
    reactions: Vec<(&'static str, u64)>,
    comments: u64,
    shares: u64,
}

impl Figures {
    fn reactions_total(&self) -> u64 {
        self.reactions.iter().map(|(_, n)| n).sum()
    }

    fn reaction(&self, kind: &str) -> u64 {
        self.reactions
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The figures of post `id` (live or not) at `now`.
fn figures(post: &StoredPost, now: DateTime<Utc>) -> Figures {
    let age = match post.live_at {
        Some(t) if t <= now => now - t,
        _ => Duration::zero(),
    };
    let seed = fnv1a(&post.id);
    let factor = 0.8 + (seed % 401) as f64 / 1000.0;
    let hours = (age.num_minutes().max(0) as f64 / 60.0).min(GROWTH_HOURS);
    let views = (40.0 * factor * hours).floor() as u64;
    let part = |share: f64| (views as f64 * share).floor() as u64;
    let total = part(0.08);
    let like = total * 7 / 10;
    let love = total * 2 / 10;
    let wow = (total - like - love) / 2;
    let haha = total - like - love - wow;
    let reactions = [("like", like), ("love", love), ("wow", wow), ("haha", haha)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    Figures {
        views,
        reach: part(0.7),
        clicks: part(0.05),
        reactions,
        comments: part(0.01),
        shares: part(0.005),
    }
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

/// The Graph API routes: `/{version}/…` (any `v{major}.{minor}`) and unversioned paths, GET,
/// POST and DELETE, up to four segments; `POST /{version}/` takes a batch.
pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    let any = || get(graph).post(graph).delete(graph);
    Router::new()
        .route("/{a}", any())
        .route("/{a}/", axum::routing::post(graph))
        .route("/{a}/{b}", any())
        .route("/{a}/{b}/{c}", any())
        .route("/{a}/{b}/{c}/{d}", get(graph))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(sandbox)
}

fn lock(sandbox: &Sandbox) -> std::sync::MutexGuard<'_, Page> {
    sandbox
        .facebook
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the body held.
struct Body {
    params: Vec<(String, String)>,
    files: Vec<FilePart>,
}

async fn graph(State(sandbox): State<Arc<Sandbox>>, req: Request) -> Response {
    sandbox.lag().await;
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (host, bearer) = {
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let bearer = header(AUTHORIZATION).and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("OAuth "))
                .map(|t| t.trim().to_string())
        });
        (header(HOST).unwrap_or_else(|| "127.0.0.1".into()), bearer)
    };
    let mut params = parse_form(req.uri().query().unwrap_or(""));
    let mut segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let version = if segs.first().is_some_and(|s| is_version(s)) {
        Some(segs.remove(0))
    } else {
        None
    };
    let body = read_body(req).await;
    let now = sandbox.clock.now();
    let fault = if sandbox.roll(sandbox.faults.fail_rate) {
        Fault::Fail
    } else if sandbox.roll(sandbox.faults.ghost_rate) {
        Fault::Ghost
    } else {
        Fault::None
    };
    // The token calls are never faulted (see the module `sandbox`).
    let faultable = !segs
        .first()
        .is_some_and(|s| s == "oauth" || s == "debug_token");
    // Which of the four codes, and whether the headers carry an estimate (in turn, the first
    // without, the longer pause: one refusal shows it, two show both).
    let throttled = (faultable && sandbox.roll_rate_limit()).then(|| {
        let n = lock(&sandbox).next_throttle();
        (sandbox.pick(4), n % 2 == 1)
    });
    let slow = faultable && sandbox.roll_slow();
    let (reply, mut usage) = {
        let mut page = lock(&sandbox);
        page.count_call(now);
        let reply = match body {
            Err(e) => e.reply(),
            Ok(_) if page.over_budget() => {
                page.refusals += 1;
                too_many_calls().reply()
            }
            Ok(_) if let Some((which, _)) = throttled => rate_limited(which).reply(),
            Ok(body) => {
                params.extend(body.params);
                let call = Call {
                    method: method.clone(),
                    version: version.clone(),
                    segs,
                    params,
                    files: body.files,
                    bearer,
                    host,
                    now,
                    fault,
                };
                dispatch(&mut page, &call)
            }
        };
        let usage = page.usage(now);
        (reply, usage)
    };
    if let Some((_, with_estimate)) = throttled {
        // The headers of a throttled reply say the quota is used up, with an estimate of one
        // minute or without one.
        usage = Usage {
            percent: usage.percent.max(100),
            regain: u64::from(with_estimate),
        };
    }
    let summary = match throttled {
        Some((_, true)) => format!("{} (estimate: 1 min)", reply.summary),
        Some((_, false)) => format!("{} (no estimate)", reply.summary),
        None => reply.summary.clone(),
    };
    let summary = if slow {
        format!("{summary} (answer held back)")
    } else {
        summary
    };
    sandbox.record("facebook", method.as_str(), &path, summary);
    if slow {
        sandbox.hold().await;
    }
    respond(reply, usage, version.as_deref())
}

/// An injected rate-limit refusal: §6's codes 4, 17, 32 and 613, the `which`-th of them.
fn rate_limited(which: usize) -> GraphErr {
    let (code, message) = [
        (4, "(#4) Application request limit reached"),
        (17, "(#17) User request limit reached"),
        (32, "(#32) Page request limit reached"),
        (
            613,
            "(#613) Calls to this api have exceeded the rate limit.",
        ),
    ][which % 4];
    GraphErr::new(code, message)
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .and_then(|r| r.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

/// The usage the headers report: the share of the call budget used in the last hour, and the
/// minutes until calls are taken again (0 while under the budget).
#[derive(Clone, Copy, Debug)]
struct Usage {
    percent: u64,
    regain: u64,
}

/// `(#80001)`: the Page's Business Use Case budget is used up (§8).
fn too_many_calls() -> GraphErr {
    GraphErr::new(
        80_001,
        "(#80001) There have been too many calls to this Page account. Wait a bit and try again. \
         For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    )
}

fn respond(reply: Reply, usage: Usage, version: Option<&str>) -> Response {
    // The true share of the budget; time figures stay below it, as on a Page of short posts.
    let count = usage.percent;
    let time = count / 2;
    let app = json!({ "call_count": count, "total_time": time, "total_cputime": time });
    let buc = json!({ PAGE_ID: [{
        "type": "pages", "call_count": count, "total_cputime": time, "total_time": time,
        "estimated_time_to_regain_access": usage.regain
    }]});
    let mut response = (reply.status, axum::Json(reply.body)).into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("x-app-usage", app.to_string());
    set("x-business-use-case-usage", buc.to_string());
    set(
        "facebook-api-version",
        version.unwrap_or("v25.0").to_string(),
    );
    set("x-fb-trace-id", trace_id());
    response
}

/// `a=1&b=2` (`+` is a space).
fn parse_form(s: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn read_body(req: Request) -> Result<Body, GraphErr> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| GraphErr::param(format!("Invalid multipart body: {e}")))?;
        let mut body = Body {
            params: Vec::new(),
            files: Vec::new(),
        };
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(photo_refused());
                }
                Err(e) => return Err(GraphErr::param(format!("Invalid multipart body: {e}"))),
            };
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let bytes = match field.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(photo_refused());
                }
                Err(e) => return Err(GraphErr::param(format!("Invalid multipart body: {e}"))),
            };
            match file_name {
                Some(_) => body.files.push(FilePart { name, bytes }),
                None => match String::from_utf8(bytes) {
                    Ok(text) => body.params.push((name, text)),
                    Err(_) => {
                        return Err(GraphErr::param(format!(
                            "Param {name} must be text (upload files with a file name)"
                        )));
                    }
                },
            }
        }
        return Ok(body);
    }
    let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| GraphErr::param("The request body is too large"))?;
    let params = if content_type.starts_with("application/json") && !bytes.is_empty() {
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| GraphErr::param("The JSON body could not be parsed"))?;
        let Value::Object(map) = value else {
            return Err(GraphErr::param("The JSON body must be an object"));
        };
        map.into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect()
    } else {
        parse_form(&String::from_utf8_lossy(&bytes))
    };
    Ok(Body {
        params,
        files: Vec::new(),
    })
}

fn photo_refused() -> GraphErr {
    GraphErr::param("Invalid parameter").sub(1_366_046).user(
        "Can't Upload Photo",
        "Photos should be smaller than 4 MB and saved as JPG, PNG",
    )
}

/// Where a call goes.
fn dispatch(page: &mut Page, call: &Call) -> Reply {
    let segs: Vec<&str> = call.segs.iter().map(String::as_str).collect();
    let method = &call.method;
    let answer = match segs.as_slice() {
        [] if *method == Method::POST => batch(page, call),
        ["oauth", "access_token"] if *method != Method::DELETE => oauth(call),
        ["debug_token"] if *method == Method::GET => debug_token(call),
        ["me", "accounts"] if *method == Method::GET => accounts(call),
        ["me"] if *method == Method::GET => me(page, call),
        [node] if is_page(node) => match *method {
            Method::GET => page_node(page, call),
            _ => Err(no_object(method, node)),
        },
        [node] => post_node(page, call, node),
        [node, edge] if is_page(node) => page_edge(page, call, edge),
        [node, "insights"] => post_insights(page, call, node, call.param("metric")),
        [node, "insights", metric] if !is_page(node) && *method == Method::GET => {
            post_insights(page, call, node, Some(metric))
        }
        [node, "comments" | "reactions" | "likes" | "sharedposts"] if *method == Method::GET => {
            post_engagement_edge(page, call, node, &segs[1..])
        }
        _ => Err(unknown_path(&call.segs)),
    };
    answer.unwrap_or_else(GraphErr::reply)
}

/// A Page-like node: the Page's id, any other all-digit id, or `me` (the Page, for its token).
fn is_page(node: &str) -> bool {
    node == "me" || node.bytes().all(|c| c.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// The Page and its edges
// ---------------------------------------------------------------------------------------------

fn page_node(page: &Page, call: &Call) -> Handled {
    require_page_token(call)?;
    let node = call.segs[0].as_str();
    if node != PAGE_ID {
        return Err(no_object(&call.method, node));
    }
    known_params(call, &["fields"])?;
    let fields = call.fields().unwrap_or_else(|| parse_fields("name,id"));
    check_fields(&fields, &PAGE_FIELDS, "Page")?;
    Ok(ok(page_object(page, call, &fields), "read the Page"))
}

fn page_object(page: &Page, call: &Call, fields: &[FieldReq]) -> Value {
    let mut out = Map::new();
    for f in fields {
        let value: Value = match f.name.as_str() {
            "id" => PAGE_ID.into(),
            "name" => PAGE_NAME.into(),
            "category" => "Government organization".into(),
            "link" => format!("https://www.facebook.com/{PAGE_ID}").into(),
            "followers_count" | "fan_count" => page.followers(call.now).into(),
            "about" => "Trang thông tin của UBND xã (sandbox)".into(),
            "access_token" => PAGE_TOKEN.into(),
            _ => continue,
        };
        out.insert(f.name.clone(), value);
    }
    out.insert("id".into(), PAGE_ID.into());
    Value::Object(out)
}

fn me(page: &Page, call: &Call) -> Handled {
    match token_kind(call.token()) {
        Token::Page => page_node_as_me(page, call),
        Token::User(_) => {
            known_params(call, &["fields"])?;
            Ok(ok(
                json!({"name": "Cán bộ xã (sandbox)", "id": USER_ID}),
                "read the user",
            ))
        }
        Token::App => Err(GraphErr::new(
            2500,
            "An active access token must be used to query information about the current user.",
        )),
        Token::Missing => Err(token_missing()),
        Token::Invalid => Err(token_expired(call.now)),
        Token::OtherPage(i) => Ok(ok(
            json!({"name": OTHER_PAGES[i].1, "id": OTHER_PAGES[i].0}),
            "read another Page",
        )),
    }
}

fn page_node_as_me(page: &Page, call: &Call) -> Handled {
    known_params(call, &["fields"])?;
    let fields = call.fields().unwrap_or_else(|| parse_fields("name,id"));
    check_fields(&fields, &PAGE_FIELDS, "Page")?;
    Ok(ok(page_object(page, call, &fields), "read the Page"))
}

fn page_edge(page: &mut Page, call: &Call, edge: &str) -> Handled {
    require_page_token(call)?;
    let node = call.segs[0].as_str();
    if node != PAGE_ID && node != "me" {
        return Err(no_object(&call.method, node));
    }
    match (call.method.clone(), edge) {
        (Method::POST, "feed") => feed(page, call),
        (Method::POST, "photos") => photos(page, call),
        (Method::GET, "published_posts" | "posts" | "feed") => listing(page, call, false),
        (Method::GET, "scheduled_posts") => listing(page, call, true),
        (Method::GET, "insights") => page_insights(page, call),
        (_, "feed" | "photos" | "published_posts" | "posts" | "scheduled_posts" | "insights") => {
            Err(GraphErr::param(format!(
                "Unsupported {} request on /{edge}",
                call.method.as_str().to_lowercase()
            )))
        }
        _ => Err(GraphErr::new(
            2500,
            format!("Unknown path components: /{edge}"),
        )),
    }
}

/// `POST /{page}/feed`.
fn feed(page: &mut Page, call: &Call) -> Handled {
    known_params(
        call,
        &[
            "message",
            "link",
            "published",
            "scheduled_publish_time",
            "attached_media",
            "fields",
            "formatting",
            "client_mutation_id",
            "unpublished_content_type",
        ],
    )?;
    let message = call
        .param("message")
        .filter(|m| !m.trim().is_empty())
        .map(str::to_string);
    let link = match call.param("link").filter(|l| !l.is_empty()) {
        Some(l) if is_web_url(l) => Some(l.to_string()),
        Some(_) => {
            return Err(GraphErr::param("The link must be an http or https URL").sub(1_609_008));
        }
        None => None,
    };
    if let Some(f) = call.param("formatting")
        && f != "MARKDOWN"
        && f != "PLAINTEXT"
    {
        return Err(GraphErr::param(
            "Param formatting must be one of {MARKDOWN, PLAINTEXT}",
        ));
    }
    let photos = attached_media(page, call)?;
    let (live_at, scheduled) = live_time(call)?;
    if message.is_none() && link.is_none() && photos.is_empty() {
        return Err(GraphErr::new(197, "(#197) The post is empty"));
    }
    if page.refuse_publishing {
        return Err(publishing_refused());
    }
    if call.fault == Fault::Fail {
        let mut e = server_error().reply();
        e.summary = "injected failure 500 (nothing created)".into();
        return Ok(e);
    }
    let n = photos.len();
    let id = page.create_post(
        Draft {
            message: message.unwrap_or_default(),
            link,
            photos,
            live_at,
            scheduled,
        },
        call.now,
    );
    let what = match (scheduled, live_at) {
        (true, _) => "scheduled",
        (false, None) => "created unpublished",
        (false, Some(_)) => "created",
    };
    let summary = if n > 0 {
        format!("{what} {id} with {n} photo(s)")
    } else {
        format!("{what} {id}")
    };
    if call.fault == Fault::Ghost {
        let mut e = server_error().reply();
        e.summary = format!("{summary}; answer lost (injected 500)");
        return Ok(e);
    }
    let mut body = json!({ "id": id });
    add_requested_fields(page, call, &id, &mut body)?;
    Ok(ok(body, summary))
}

/// `fields=id,permalink_url` on a create adds those fields to the answer.
fn add_requested_fields(
    page: &Page,
    call: &Call,
    id: &str,
    body: &mut Value,
) -> Result<(), GraphErr> {
    let Some(fields) = call.fields() else {
        return Ok(());
    };
    check_fields(&fields, &POST_FIELDS, "PagePost")?;
    if let (Some(post), Value::Object(out)) = (page.post(id), body)
        && let Value::Object(extra) = post_object(post, &fields, call.now)
    {
        for (k, v) in extra {
            out.entry(k).or_insert(v);
        }
    }
    Ok(())
}

fn is_web_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

/// The photo ids of `attached_media[N]` (or a JSON array in `attached_media`), checked.
fn attached_media(page: &Page, call: &Call) -> Result<Vec<String>, GraphErr> {
    let mut indexed: Vec<(usize, &str)> = Vec::new();
    let mut listed: Vec<Value> = Vec::new();
    for (k, v) in &call.params {
        if k == "attached_media" {
            match serde_json::from_str::<Value>(v) {
                Ok(Value::Array(items)) => listed.extend(items),
                Ok(item @ Value::Object(_)) => listed.push(item),
                _ => return Err(GraphErr::param("Param attached_media must be an array")),
            }
        } else if let Some(n) = k
            .strip_prefix("attached_media[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            indexed.push((n, v.as_str()));
        }
    }
    indexed.sort_by_key(|(n, _)| *n);
    for (_, v) in indexed {
        let item = serde_json::from_str::<Value>(v).map_err(|_| {
            GraphErr::param("Param attached_media[N] must be a JSON object with media_fbid")
        })?;
        listed.push(item);
    }
    let mut ids: Vec<String> = Vec::new();
    for item in listed {
        let id = match item.get("media_fbid") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(GraphErr::param(
                    "Param attached_media[N] must be a JSON object with media_fbid",
                ));
            }
        };
        let upload = page.uploads.iter().find(|u| u.id == id);
        match upload {
            None => {
                return Err(GraphErr::param(format!(
                    "Invalid media_fbid {id}: no photo uploaded to this Page has this id"
                )));
            }
            Some(u) if !u.unpublished => {
                return Err(GraphErr::param(format!(
                    "Invalid media_fbid {id}: attach only photos uploaded with published=false"
                )));
            }
            Some(u) if u.post.is_some() || ids.contains(&id) => {
                return Err(GraphErr::param("Invalid parameter")
                    .sub(1_366_051)
                    .user("Duplicate Post", "These photos were already posted."));
            }
            Some(_) => ids.push(id),
        }
    }
    Ok(ids)
}

/// `POST /{page}/photos`.
fn photos(page: &mut Page, call: &Call) -> Handled {
    known_params(
        call,
        &[
            "source",
            "url",
            "caption",
            "published",
            "temporary",
            "scheduled_publish_time",
            "no_story",
            "alt_text_custom",
            "fields",
        ],
    )?;
    let sources: Vec<&FilePart> = call.files.iter().filter(|f| f.name == "source").collect();
    let url = call.param("url").filter(|u| !u.is_empty());
    match (sources.as_slice(), url) {
        ([], None) => {
            if call.param("source").is_some() {
                return Err(GraphErr::new(
                    324,
                    "(#324) Requires upload file: send source as a file part",
                ));
            }
            return Err(GraphErr::new(324, "(#324) Requires upload file"));
        }
        ([_, ..], Some(_)) | ([_, _, ..], None) => {
            return Err(GraphErr::param(
                "Send exactly one photo: one source or one url",
            ));
        }
        ([file], None) => {
            let bytes = &file.bytes;
            let image =
                bytes.starts_with(b"\xFF\xD8\xFF") || bytes.starts_with(b"\x89PNG\r\n\x1a\n");
            if !image || bytes.len() > MAX_PHOTO_BYTES {
                return Err(photo_refused());
            }
        }
        ([], Some(u)) => {
            if !u.starts_with("https://") || !is_web_url(u) {
                return Err(GraphErr::param("Param url must be a valid https URL").sub(2_061_006));
            }
        }
    }
    boolean(call, "temporary")?;
    boolean(call, "no_story")?;
    let (live_at, scheduled) = live_time(call)?;
    let caption = call.param("caption").unwrap_or_default().to_string();
    if live_at.is_none() {
        // An unpublished upload: not a post, no fault applies.
        let id = page.new_id();
        page.uploads.push(Upload {
            id: id.clone(),
            unpublished: true,
            post: None,
        });
        return Ok(ok(
            json!({ "id": id }),
            format!("uploaded photo {id} (unpublished)"),
        ));
    }
    if page.refuse_publishing {
        return Err(publishing_refused());
    }
    if call.fault == Fault::Fail {
        let mut e = server_error().reply();
        e.summary = "injected failure 500 (nothing created)".into();
        return Ok(e);
    }
    let photo = page.new_id();
    page.uploads.push(Upload {
        id: photo.clone(),
        unpublished: false,
        post: None,
    });
    let post = page.create_post(
        Draft {
            message: caption,
            link: None,
            photos: vec![photo.clone()],
            live_at,
            scheduled,
        },
        call.now,
    );
    let what = if scheduled { "scheduled" } else { "created" };
    let summary = format!("{what} {post} with photo {photo}");
    if call.fault == Fault::Ghost {
        let mut e = server_error().reply();
        e.summary = format!("{summary}; answer lost (injected 500)");
        return Ok(e);
    }
    Ok(ok(json!({ "id": photo, "post_id": post }), summary))
}

/// `GET /{page}/published_posts` (also `/posts`, `/feed`) and `/scheduled_posts`.
fn listing(page: &Page, call: &Call, scheduled: bool) -> Handled {
    known_params(
        call,
        &["fields", "limit", "after", "before", "since", "until"],
    )?;
    let fields = call
        .fields()
        .unwrap_or_else(|| parse_fields("created_time,message,id"));
    check_fields(&fields, &POST_FIELDS, "PagePost")?;
    let limit = match call.param("limit") {
        None => 25,
        Some(l) => match l.parse::<usize>() {
            Ok(n @ 1..=100) => n,
            Ok(0) | Err(_) => return Err(GraphErr::param("Param limit must be a positive number")),
            Ok(_) => {
                return Err(GraphErr::param("Param limit must not be greater than 100"));
            }
        },
    };
    let offset = match call.param("after") {
        None => 0,
        Some(c) => decode_cursor(c).ok_or_else(|| GraphErr::param("Invalid cursor in after"))?,
    };
    let now = call.now;
    let mut posts: Vec<&StoredPost> = page
        .posts
        .iter()
        .filter(|p| !p.deleted)
        .filter(|p| {
            if scheduled {
                p.is_pending(now)
            } else {
                p.is_live(now)
            }
        })
        .collect();
    if scheduled {
        posts.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    } else {
        posts.sort_by(|a, b| b.live_at.cmp(&a.live_at).then(b.id.cmp(&a.id)));
    }
    let total = posts.len();
    let shown: Vec<Value> = posts
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| post_object(p, &fields, now))
        .collect();
    let n = shown.len();
    let mut paging = Map::new();
    if n > 0 {
        paging.insert(
            "cursors".into(),
            json!({"before": cursor(offset), "after": cursor(offset + n)}),
        );
    }
    if offset + n < total {
        let edge = &call.segs[1];
        paging.insert(
            "next".into(),
            next_link(
                call,
                &format!("{PAGE_ID}/{edge}"),
                &fields_text(call),
                limit,
                offset + n,
            )
            .into(),
        );
    }
    let what = if scheduled { "scheduled" } else { "published" };
    Ok(ok(
        json!({ "data": shown, "paging": paging }),
        format!("listed {n} {what} post(s)"),
    ))
}

fn fields_text(call: &Call) -> String {
    call.param("fields").unwrap_or_default().to_string()
}

fn cursor(offset: usize) -> String {
    format!("offset:{offset}")
        .bytes()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn decode_cursor(c: &str) -> Option<usize> {
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(c.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

/// An absolute next-page link on the host the request came to (it carries the token, as
/// Facebook's do).
fn next_link(call: &Call, path: &str, fields: &str, limit: usize, after: usize) -> String {
    let enc = |s: &str| utf8_percent_encode(s, QUERY_VALUE).to_string();
    let mut url = format!("{}{path}?", call.base_url());
    if !fields.is_empty() {
        url.push_str(&format!("fields={}&", enc(fields)));
    }
    url.push_str(&format!("limit={limit}&after={}", cursor(after)));
    if let Some(t) = call.token() {
        url.push_str(&format!("&access_token={}", enc(t)));
    }
    url
}

/// A post as the Graph API shows it, with the requested fields.
fn post_object(post: &StoredPost, fields: &[FieldReq], now: DateTime<Utc>) -> Value {
    let mut out = Map::new();
    let numbers = || figures(post, now);
    for f in fields {
        let value: Value = match f.name.as_str() {
            "id" => post.id.clone().into(),
            "message" if !post.message.is_empty() => post.message.clone().into(),
            "created_time" => graph_time(post.created).into(),
            "updated_time" => graph_time(post.updated).into(),
            "is_published" => post.is_live(now).into(),
            "is_hidden" => false.into(),
            "scheduled_publish_time" if post.scheduled => match post.live_at {
                Some(t) => t.timestamp().into(),
                None => continue,
            },
            "permalink_url" => {
                let n = post.id.split('_').nth(1).unwrap_or_default();
                format!("https://www.facebook.com/{PAGE_ID}/posts/{n}").into()
            }
            "from" => json!({"name": PAGE_NAME, "id": PAGE_ID}),
            "shares" => match numbers().shares {
                0 => continue,
                n => json!({ "count": n }),
            },
            "comments" => {
                let mut v = json!({ "data": [] });
                if f.summary {
                    v["summary"] = json!({
                        "order": "ranked", "total_count": numbers().comments, "can_comment": true
                    });
                }
                v
            }
            "reactions" | "likes" => {
                let figures = numbers();
                let total = if f.name == "likes" {
                    figures.reaction("like")
                } else {
                    figures.reactions_total()
                };
                let mut v = json!({ "data": [] });
                if f.summary {
                    v["summary"] = json!({ "total_count": total, "viewer_reaction": "NONE" });
                }
                v
            }
            "full_picture" => match post.photos.first() {
                Some(p) => format!("https://scontent.sandbox.invalid/{p}.jpg").into(),
                None => continue,
            },
            "attachments" => attachments(post),
            _ => continue,
        };
        out.insert(f.name.clone(), value);
    }
    Value::Object(out)
}

fn attachments(post: &StoredPost) -> Value {
    let photo = |id: &String| {
        json!({
            "media_type": "photo", "type": "photo", "target": { "id": id },
            "media": { "image": { "src": format!("https://scontent.sandbox.invalid/{id}.jpg") } }
        })
    };
    let data = match (post.photos.as_slice(), &post.link) {
        ([], None) => vec![],
        ([], Some(link)) => vec![json!({ "media_type": "link", "type": "share", "url": link })],
        ([one], _) => vec![photo(one)],
        (many, _) => vec![json!({
            "media_type": "album", "type": "album",
            "subattachments": { "data": many.iter().map(photo).collect::<Vec<_>>() }
        })],
    };
    json!({ "data": data })
}

// ---------------------------------------------------------------------------------------------
// Posts
// ---------------------------------------------------------------------------------------------

/// `GET`, `POST` (edit) and `DELETE` of `/{post-id}`.
fn post_node(page: &mut Page, call: &Call, id: &str) -> Handled {
    require_page_token(call)?;
    match call.method.clone() {
        Method::GET => {
            known_params(call, &["fields"])?;
            let fields = call
                .fields()
                .unwrap_or_else(|| parse_fields("created_time,message,id"));
            let post = page.post(id).ok_or_else(|| no_object(&call.method, id))?;
            check_fields(&fields, &POST_FIELDS, "PagePost")?;
            Ok(ok(
                post_object(post, &fields, call.now),
                format!("read {id}"),
            ))
        }
        Method::POST => edit(page, call, id),
        Method::DELETE => {
            known_params(call, &[])?;
            let post = page
                .post_mut(id)
                .ok_or_else(|| no_object(&call.method, id))?;
            post.deleted = true;
            Ok(ok(json!({ "success": true }), format!("deleted {id}")))
        }
        _ => Err(no_object(&call.method, id)),
    }
}

/// `POST /{post-id}`: message, reschedule, publish now.
fn edit(page: &mut Page, call: &Call, id: &str) -> Handled {
    known_params(
        call,
        &[
            "message",
            "scheduled_publish_time",
            "is_published",
            "is_hidden",
            "formatting",
        ],
    )?;
    if page.post(id).is_none() {
        return Err(no_object(&call.method, id));
    }
    let publish_now = boolean(call, "is_published")?;
    boolean(call, "is_hidden")?;
    let reschedule = schedule_time(call)?;
    let now = call.now;
    let post = page
        .post_mut(id)
        .ok_or_else(|| no_object(&call.method, id))?;
    let live = post.is_live(now);
    if reschedule.is_some() && publish_now == Some(true) {
        return Err(GraphErr::param(
            "Send either scheduled_publish_time or is_published=true, not both",
        ));
    }
    if reschedule.is_some() && live {
        return Err(GraphErr::param(
            "You cannot specify a scheduled publish time on a published post",
        ));
    }
    if publish_now == Some(false) && live {
        return Err(GraphErr::param("A published post cannot be unpublished"));
    }
    if let Some(message) = call.param("message") {
        if message.trim().is_empty() && post.photos.is_empty() && post.link.is_none() {
            return Err(GraphErr::new(197, "(#197) The post is empty"));
        }
        post.message = message.to_string();
    }
    let mut what = vec!["edited"];
    if let Some(at) = reschedule {
        post.live_at = Some(at);
        post.scheduled = true;
        what.push("rescheduled");
    }
    if publish_now == Some(true) && !live {
        post.live_at = Some(now);
        post.scheduled = false;
        what.push("published now");
    }
    post.edits += 1;
    post.updated = now;
    Ok(ok(
        json!({ "success": true }),
        format!("{} {id}", what.join(", ")),
    ))
}

/// `GET /{post-id}/comments|reactions|likes|sharedposts`: no bodies, only the summary.
fn post_engagement_edge(page: &Page, call: &Call, id: &str, edge: &[&str]) -> Handled {
    require_page_token(call)?;
    known_params(
        call,
        &["summary", "limit", "fields", "filter", "order", "type"],
    )?;
    let post = page.post(id).ok_or_else(|| no_object(&call.method, id))?;
    let f = figures(post, call.now);
    let total = match edge {
        ["comments"] => f.comments,
        ["reactions"] => f.reactions_total(),
        ["likes"] => f.reaction("like"),
        _ => 0,
    };
    let mut body = json!({ "data": [] });
    if boolean(call, "summary")? == Some(true) || call.param("summary") == Some("total_count") {
        body["summary"] = json!({ "total_count": total });
    }
    Ok(ok(body, format!("read {id}/{}", edge.join("/"))))
}

// ---------------------------------------------------------------------------------------------
// Insights
// ---------------------------------------------------------------------------------------------

fn invalid_metric() -> GraphErr {
    GraphErr::param("The value must be a valid insights metric")
}

fn metric_names<'a>(
    metric: Option<&'a str>,
    valid: &[&str],
    retired: &BTreeSet<String>,
) -> Result<Vec<&'a str>, GraphErr> {
    let Some(metric) = metric.filter(|m| !m.trim().is_empty()) else {
        return Err(GraphErr::new(3001, "Invalid query").sub(1_504_028).user(
            "No Metric Specified",
            "No metric was specified to be fetched. Please specify one or more metrics to be \
             fetched and try again.",
        ));
    };
    let names: Vec<&str> = metric.split(',').map(str::trim).collect();
    // One invalid or retired name fails the whole call (§5).
    if names
        .iter()
        .any(|n| !valid.contains(n) || retired.contains(*n))
    {
        return Err(invalid_metric());
    }
    Ok(names)
}

const PERIODS: [&str; 6] = [
    "day",
    "week",
    "days_28",
    "month",
    "lifetime",
    "total_over_range",
];

fn period(call: &Call, default: &'static str) -> Result<String, GraphErr> {
    let p = call.param("period").unwrap_or(default);
    if PERIODS.contains(&p) {
        Ok(p.to_string())
    } else {
        Err(GraphErr::param(format!(
            "period must be one of the following values: {}",
            PERIODS.join(", ")
        )))
    }
}

/// `GET /{post-id}/insights?metric=…&period=lifetime` (or `/insights/{metric}`).
fn post_insights(page: &Page, call: &Call, id: &str, metric: Option<&str>) -> Handled {
    if call.method != Method::GET {
        return Err(GraphErr::param("Unsupported post request on /insights"));
    }
    require_page_token(call)?;
    known_params(
        call,
        &[
            "metric",
            "period",
            "since",
            "until",
            "date_preset",
            "breakdown",
            "fields",
        ],
    )?;
    let post = page.post(id).ok_or_else(|| no_object(&call.method, id))?;
    let names = metric_names(metric, &POST_METRICS, &page.retired)?;
    let period = period(call, "lifetime")?;
    let mut data = Vec::new();
    // Only live posts have figures; post metrics only exist for `lifetime`.
    if post.is_live(call.now) && period == "lifetime" {
        let f = figures(post, call.now);
        for name in &names {
            let value: Value = match *name {
                "post_media_view" => f.views.into(),
                "post_total_media_view_unique" => f.reach.into(),
                "post_clicks" => f.clicks.into(),
                "post_clicks_by_type" => json!({ "other clicks": f.clicks }),
                "post_reactions_by_type_total" => Value::Object(
                    f.reactions
                        .iter()
                        .map(|(k, n)| ((*k).to_string(), Value::from(*n)))
                        .collect(),
                ),
                "post_activity_by_action_type" => {
                    let mut m = Map::new();
                    for (k, n) in [
                        ("share", f.shares),
                        ("like", f.reactions_total()),
                        ("comment", f.comments),
                    ] {
                        if n > 0 {
                            m.insert(k.into(), n.into());
                        }
                    }
                    Value::Object(m)
                }
                "post_video_views" => 0.into(),
                other => {
                    let kind = other
                        .trim_start_matches("post_reactions_")
                        .trim_end_matches("_total");
                    f.reaction(kind).into()
                }
            };
            data.push(json!({
                "name": name,
                "period": "lifetime",
                "values": [{ "value": value }],
                "title": metric_title(name),
                "description": format!("Lifetime: {} (sandbox figures)", metric_title(name)),
                "id": format!("{id}/insights/{name}/lifetime"),
            }));
        }
    }
    Ok(ok(
        json!({ "data": data, "paging": {} }),
        format!("insights {} of {id}", names.join(",")),
    ))
}

fn metric_title(name: &str) -> &'static str {
    match name {
        "post_media_view" => "Views",
        "post_total_media_view_unique" => "Viewers",
        "post_clicks" => "Post clicks",
        "post_reactions_by_type_total" => "Reactions by type",
        "post_activity_by_action_type" => "Activity by action type",
        "page_follows" => "Followers",
        _ => "Insights",
    }
}

/// `GET /{page}/insights?metric=page_follows…`.
fn page_insights(page: &Page, call: &Call) -> Handled {
    known_params(
        call,
        &[
            "metric",
            "period",
            "since",
            "until",
            "date_preset",
            "breakdown",
            "fields",
        ],
    )?;
    let names = metric_names(call.param("metric"), &PAGE_METRICS, &page.retired)?;
    let period = period(call, "day")?;
    let now = call.now;
    let followers = page.followers(now);
    // Values end at 07:00 UTC (midnight Pacific), the last two days, like Facebook's.
    let today = now.date_naive().and_hms_opt(7, 0, 0).map(|t| t.and_utc());
    let ends = today.map(|t| if t > now { t } else { t + Duration::days(1) });
    let mut data = Vec::new();
    for name in &names {
        let (yesterday, latest) = match *name {
            "page_follows" => (followers.saturating_sub(2), followers),
            other => {
                let live: Vec<&StoredPost> = page.posts.iter().filter(|p| p.is_live(now)).collect();
                let sum = |at: DateTime<Utc>| -> u64 {
                    live.iter()
                        .map(|p| {
                            let f = figures(p, at);
                            match other {
                                "page_media_view" | "page_views_total" => f.views,
                                "page_total_media_view_unique" => f.reach,
                                _ => f.reactions_total() + f.comments + f.shares + f.clicks,
                            }
                        })
                        .sum()
                };
                (sum(now - Duration::days(1)), sum(now))
            }
        };
        let values: Vec<Value> = match ends {
            Some(end) => vec![
                json!({ "value": yesterday, "end_time": graph_time(end - Duration::days(1)) }),
                json!({ "value": latest, "end_time": graph_time(end) }),
            ],
            None => vec![json!({ "value": latest })],
        };
        data.push(json!({
            "name": name,
            "period": period,
            "values": values,
            "title": metric_title(name),
            "description": format!("{}: {} (sandbox figures)", period, metric_title(name)),
            "id": format!("{PAGE_ID}/insights/{name}/{period}"),
        }));
    }
    Ok(ok(
        json!({ "data": data, "paging": {} }),
        format!("insights {} of the Page", names.join(",")),
    ))
}

// ---------------------------------------------------------------------------------------------
// Tokens and accounts
// ---------------------------------------------------------------------------------------------

/// `GET /oauth/access_token`.
fn oauth(call: &Call) -> Handled {
    let (app_id, secret) = FACEBOOK_APP;
    match call.param("grant_type") {
        Some("fb_exchange_token") => {
            check_app(call, app_id, secret)?;
            match token_kind(call.param("fb_exchange_token")) {
                Token::User(_) => Ok(ok(
                    json!({
                        "access_token": LONG_LIVED_TOKEN,
                        "token_type": "bearer",
                        "expires_in": LONG_LIVED_SECONDS
                    }),
                    "exchanged a user token for a long-lived one",
                )),
                Token::Missing => Err(GraphErr::param("Missing parameter fb_exchange_token")),
                _ => Err(token_expired(call.now)),
            }
        }
        Some("client_credentials") => {
            check_app(call, app_id, secret)?;
            Ok(ok(
                json!({ "access_token": APP_TOKEN, "token_type": "bearer" }),
                "issued an app token",
            ))
        }
        Some(other) => Err(GraphErr::param(format!("Unsupported grant_type {other}"))),
        None => Err(GraphErr::param("Missing parameter grant_type")),
    }
}

fn check_app(call: &Call, app_id: &str, secret: &str) -> Result<(), GraphErr> {
    if call.param("client_id") != Some(app_id) {
        return Err(GraphErr::new(
            101,
            "Error validating application. Invalid application ID.",
        ));
    }
    if call.param("client_secret") != Some(secret) {
        return Err(GraphErr::new(1, "Error validating client secret."));
    }
    Ok(())
}

/// `GET /me/accounts`: the Pages the user manages, two at a time; the simulated Page is last.
fn accounts(call: &Call) -> Handled {
    match token_kind(call.token()) {
        Token::User(_) => {}
        Token::Missing => return Err(token_missing()),
        Token::Invalid => return Err(token_expired(call.now)),
        Token::Page | Token::OtherPage(_) => {
            return Err(nonexisting_field("accounts", "Page"));
        }
        Token::App => {
            return Err(GraphErr::new(
                2500,
                "An active access token must be used to query information about the current user.",
            ));
        }
    }
    known_params(call, &["fields", "limit", "after", "before"])?;
    let fields = call
        .fields()
        .unwrap_or_else(|| parse_fields("access_token,category,category_list,name,id,tasks"));
    check_fields(&fields, &ACCOUNT_FIELDS, "Page")?;
    let size = call
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, ACCOUNTS_PAGE_SIZE);
    let offset = match call.param("after") {
        None => 0,
        Some(c) => decode_cursor(c).ok_or_else(|| GraphErr::param("Invalid cursor in after"))?,
    };
    let mut all: Vec<(&str, &str, &str, Vec<&str>)> = OTHER_PAGES
        .iter()
        .map(|(id, name, token)| (*id, *name, *token, vec!["ANALYZE", "ADVERTISE"]))
        .collect();
    all.push((PAGE_ID, PAGE_NAME, PAGE_TOKEN, TASKS.to_vec()));
    let shown: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|(id, name, token, tasks)| {
            let mut m = Map::new();
            for f in &fields {
                let v: Value = match f.name.as_str() {
                    "id" => (*id).into(),
                    "name" => (*name).into(),
                    "access_token" => (*token).into(),
                    "tasks" => json!(tasks),
                    "category" => "Government organization".into(),
                    "category_list" => {
                        json!([{ "id": "2235", "name": "Government organization" }])
                    }
                    _ => continue,
                };
                m.insert(f.name.clone(), v);
            }
            Value::Object(m)
        })
        .collect();
    let n = shown.len();
    let mut paging = Map::new();
    if n > 0 {
        paging.insert(
            "cursors".into(),
            json!({ "before": cursor(offset), "after": cursor(offset + n) }),
        );
    }
    if offset + n < all.len() {
        paging.insert(
            "next".into(),
            next_link(call, "me/accounts", &fields_text(call), size, offset + n).into(),
        );
    }
    if offset > 0 {
        paging.insert(
            "previous".into(),
            next_link(
                call,
                "me/accounts",
                &fields_text(call),
                size,
                offset.saturating_sub(size),
            )
            .into(),
        );
    }
    Ok(ok(
        json!({ "data": shown, "paging": paging }),
        format!("listed {n} managed Page(s) from #{}", offset + 1),
    ))
}

/// `GET /debug_token?input_token=…&access_token=…`.
fn debug_token(call: &Call) -> Handled {
    match token_kind(call.token()) {
        Token::Missing => return Err(token_missing()),
        Token::Invalid => return Err(token_expired(call.now)),
        _ => {}
    }
    known_params(call, &["input_token", "fields"])?;
    let Some(input) = call.param("input_token").filter(|t| !t.is_empty()) else {
        return Err(GraphErr::param("The parameter input_token is required"));
    };
    let now = call.now;
    let (app_id, _) = FACEBOOK_APP;
    let granular = |target: &str| -> Value {
        SCOPES
            .iter()
            .map(|s| {
                if s.starts_with("pages_") || *s == "read_insights" {
                    json!({ "scope": s, "target_ids": [target] })
                } else {
                    json!({ "scope": s })
                }
            })
            .collect()
    };
    let base = |kind: &str, expires_at: i64| {
        json!({
            "app_id": app_id,
            "type": kind,
            "application": "loa (sandbox)",
            "data_access_expires_at": (now + Duration::days(90)).timestamp(),
            "expires_at": expires_at,
            "is_valid": true,
            "issued_at": (now - Duration::days(1)).timestamp(),
            "scopes": SCOPES,
            "user_id": USER_ID,
        })
    };
    let data = match token_kind(Some(input)) {
        Token::Page => {
            let mut d = base("PAGE", 0);
            d["profile_id"] = PAGE_ID.into();
            d["granular_scopes"] = granular(PAGE_ID);
            d
        }
        Token::OtherPage(i) => {
            let mut d = base("PAGE", 0);
            d["profile_id"] = OTHER_PAGES[i].0.into();
            d["granular_scopes"] = granular(OTHER_PAGES[i].0);
            d
        }
        Token::User(long) => {
            let life = if long {
                Duration::seconds(LONG_LIVED_SECONDS)
            } else {
                Duration::hours(1)
            };
            let mut d = base("USER", (now + life).timestamp());
            d["granular_scopes"] = granular(PAGE_ID);
            d
        }
        Token::App => json!({
            "app_id": app_id, "type": "APP", "application": "loa (sandbox)",
            "is_valid": true, "scopes": []
        }),
        Token::Missing | Token::Invalid => json!({
            "error": { "code": 190, "message": "Invalid OAuth access token." },
            "is_valid": false,
            "scopes": [],
        }),
    };
    let summary = format!(
        "debug_token: {} {}",
        data["type"].as_str().unwrap_or("unknown"),
        if data["is_valid"] == true {
            "valid"
        } else {
            "invalid"
        }
    );
    Ok(ok(json!({ "data": data }), summary))
}

// ---------------------------------------------------------------------------------------------
// Batch
// ---------------------------------------------------------------------------------------------

/// `POST /{version}/` with `batch=[{"method","relative_url","body"?},…]` (at most 50).
fn batch(page: &mut Page, call: &Call) -> Handled {
    known_params(call, &["batch", "include_headers"])?;
    let items: Vec<Value> = call
        .param("batch")
        .and_then(|b| serde_json::from_str(b).ok())
        .ok_or_else(|| GraphErr::param("Param batch must be a JSON array"))?;
    if items.len() > 50 {
        return Err(GraphErr::param(
            "Too many requests in batch message. Maximum batch size is 50",
        ));
    }
    let headers = boolean(call, "include_headers")?.unwrap_or(true);
    let mut answers = Vec::new();
    for (n, item) in items.iter().enumerate() {
        // Each item is one call (§7); the batch request itself was counted as the first.
        if n > 0 {
            page.count_call(call.now);
        }
        if page.over_budget() {
            page.refusals += 1;
            let reply = too_many_calls().reply();
            answers.push(json!({ "code": reply.status.as_u16(), "body": reply.body.to_string() }));
            continue;
        }
        let method = item
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let relative = item
            .get("relative_url")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (path, query) = relative.split_once('?').unwrap_or((relative, ""));
        let mut segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        if segs.first().is_some_and(|s| is_version(s)) {
            segs.remove(0);
        }
        let mut params = parse_form(query);
        if let Some(body) = item.get("body").and_then(Value::as_str) {
            params.extend(parse_form(body));
        }
        if !params.iter().any(|(k, _)| k == "access_token")
            && let Some(t) = call.token()
        {
            params.push(("access_token".into(), t.to_string()));
        }
        let sub = Call {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            version: call.version.clone(),
            segs,
            params,
            files: Vec::new(),
            bearer: None,
            host: call.host.clone(),
            now: call.now,
            fault: Fault::None,
        };
        let reply = if sub.segs.is_empty() {
            GraphErr::param("A batch item needs a relative_url").reply()
        } else {
            dispatch(page, &sub)
        };
        let mut answer = json!({
            "code": reply.status.as_u16(),
            "body": reply.body.to_string(),
        });
        if headers {
            answer["headers"] =
                json!([{ "name": "Content-Type", "value": "application/json; charset=UTF-8" }]);
        }
        answers.push(answer);
    }
    Ok(ok(
        Value::Array(answers),
        format!("batch of {}", items.len()),
    ))
}
