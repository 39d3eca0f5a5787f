//! The simulated Zalo OA API (`shared/api/zalo-oa.md`): OAuth v4 with single-use refresh
//! tokens and PKCE consent, the asynchronous article API (create → verify, update, remove,
//! getslice, getdetail), `getoa` and the article broadcast.
//!
//! It answers like Zalo: every refusal is HTTP 200 with `{"error":<negative>,"message":…}`
//! (OAuth refusals carry `error_name`/`error_reason`/`error_description`), every success is
//! `{"error":0,"message":"Success","data":{…}}`, the access token travels in the `access_token`
//! header only, and every answer carries `X-RateLimit-Limit` and `X-RateLimit-Remain`. Only an
//! injected fault answers HTTP 500, with an HTML page instead of JSON.
//!
//! What it checks, as strictly as the reference allows:
//! - OAuth: `secret_key` header, `app_id`, a refresh token works **once** (a spent one is
//!   refused with `-14014` and counted, see [`Oa::reused_refresh_tokens`]); a consent code works
//!   once, for 10 minutes, and only with the PKCE verifier whose S256 challenge was in the
//!   consent link.
//! - Access tokens expire after `faults.token_ttl` (25 h by default) on the sandbox clock, or
//!   after `faults.token_calls` Open API calls.
//! - Faults (never on the OAuth calls): `fail_rate` and `ghost_rate` on create, update and the
//!   broadcast; `rate_limit_rate` answers `-32` with `X-RateLimit-Remain: 0` (§7) without doing
//!   anything; `slow_rate` holds the answer back after the call did its work.
//! - Articles: `type` `normal`; `title` 1..=150 characters after NFC, `author` ≤ 50,
//!   `description` ≤ 300 (else `-210`); a `photo` cover with a public `https` URL and
//!   `status: show` (else `-201 cover is invalid!`); a non-empty body of `text`/`image` items
//!   with `https` image URLs; `status` and `comment` `show` or `hide`. URLs must be
//!   percent-encoded (no spaces, no raw Vietnamese letters): Zalo fetches them itself.
//! - Verify answers `-214` for the first one or two calls of each processing token (odd tokens
//!   twice, even ones once), then the id.
//! - Broadcasts: the §4 body, existing article ids, and not between 22:00 and 06:00
//!   Asia/Ho_Chi_Minh (`-234`).
//! - A switch ([`super::Sandbox::refuse_publishing`]) refuses every create with `-248`
//!   ("Violates our platform standards", a rejected article), nothing created.
//!
//! Invented where the reference is silent (a real OA may differ): the OAuth codes for a bad
//! consent code (`-14008`) and a bad PKCE verifier (`-14019`), the ids' shapes, the view and
//! share curves, and that an access token stays valid until it expires even after a refresh.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Form, Json, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Timelike, Utc};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::{Sandbox, ZALO_APP, ZALO_FIRST_REFRESH_TOKEN};

/// The OA's id (`oaid` in `getoa`, `oa_id` in the consent callback).
pub const OA_ID: &str = "2914078530119254567";
/// The OA's name.
pub const OA_NAME: &str = "UBND xã Thanh Kỳ (sandbox)";
/// The OA's followers (`num_follower`).
pub const FOLLOWERS: u64 = 1_284;
/// Requests per minute (`X-RateLimit-Limit`); past it, `-32`.
pub const RATE_LIMIT: u32 = 4_000;
/// An access token's life when `faults.token_ttl` is not set (§2: 25 h).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(25 * 3600);

const TITLE_MAX: usize = 150;
const AUTHOR_MAX: usize = 50;
const DESCRIPTION_MAX: usize = 300;
const SLICE_MAX: usize = 10;
const BROADCAST_MAX: usize = 5;
/// A consent code lives 10 minutes (§2).
const CODE_TTL: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// A refresh token lives 3 months from issue (§2).
const REFRESH_TTL: chrono::TimeDelta = chrono::TimeDelta::days(90);
/// The broadcast night window, local hours [22, 6).
const NIGHT_FROM: u32 = 22;
const NIGHT_UNTIL: u32 = 6;

const TOKEN_PATH: &str = "/v4/oa/access_token";
const PERMISSION_PATH: &str = "/v4/oa/permission";
const CREATE_PATH: &str = "/v2.0/article/create";
const VERIFY_PATH: &str = "/v2.0/article/verify";
const UPDATE_PATH: &str = "/v2.0/article/update";
const REMOVE_PATH: &str = "/v2.0/article/remove";
const SLICE_PATH: &str = "/v2.0/article/getslice";
const DETAIL_PATH: &str = "/v2.0/article/getdetail";
const GETOA_PATH: &str = "/v2.0/oa/getoa";
const MESSAGE_PATH: &str = "/v2.0/oa/message";

/// Zalo's texts (§6).
const TOKEN_INVALID: &str = "Access token is invalid";
const TOO_LONG: &str = "Parameter exceeds allowable limit";
const PROCESSING: &str = "Article is being processed";
const NIGHT: &str = "This message cannot be sent at night (10:00PM - 6:00AM)";
const CONTENT_REJECTED: &str = "Violates our platform standards";
const CALL_LIMIT: &str = "Your application (OA) reached limit call api";

/// What a query value may keep unescaped: RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What a URL put in `Location` must escape (it came decoded in the consent link's query).
const IN_URL: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^');

/// The simulated OA: its tokens, articles and broadcasts.
#[derive(Debug)]
pub struct Oa {
    /// Makes this sandbox's tokens and ids differ from another run's.
    salt: u64,
    serial: u64,
    /// The one refresh token that works now.
    refresh_token: String,
    /// `None` for the first token (its issue time is unknown: it never runs out).
    refresh_issued_at: Option<DateTime<Utc>>,
    spent_refresh_tokens: Vec<String>,
    reused: usize,
    /// Access token → expiry (sandbox clock).
    access_tokens: HashMap<String, DateTime<Utc>>,
    /// Access token → Open API calls made with it (for [`super::Faults::token_calls`]).
    token_calls: HashMap<String, u32>,
    /// Consent code → what it was issued for.
    codes: HashMap<String, Consent>,
    articles: Vec<Article>,
    /// Processing token → work still "in progress".
    processing: HashMap<String, Processing>,
    broadcasts: Vec<Broadcast>,
    /// (minute since the epoch, calls in it), for the rate limit.
    minute: (i64, u32),
    /// The highest share of the minute's budget used, in percent.
    peak_percent: u64,
    /// Calls refused with `-32`.
    refusals: usize,
    /// Every create is refused with `-248` ([`super::Sandbox::refuse_publishing`]).
    refuse_publishing: bool,
}

#[derive(Debug)]
struct Consent {
    challenge: Option<String>,
    expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Content {
    title: String,
    author: String,
    description: String,
    cover_url: String,
    body: Vec<Value>,
    status: String,
    comment: String,
}

#[derive(Clone, Debug)]
struct Article {
    seq: u64,
    id: String,
    content: Content,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    updates: usize,
    removed: bool,
}

#[derive(Debug)]
struct Processing {
    article_id: String,
    /// Verifies still answered `-214`.
    busy: u32,
}

#[derive(Clone, Debug)]
struct Broadcast {
    article_ids: Vec<String>,
}

/// An article as the sandbox holds it, for inspection.
#[derive(Clone, Debug, Serialize)]
pub struct ArticleView {
    /// The article id (`data.id` of verify).
    pub id: String,
    /// The title as received.
    pub title: String,
    /// The cover's `photo_url`.
    pub cover_url: String,
    /// The body's image URLs, in order.
    pub images: Vec<String>,
    /// When it was created (sandbox clock).
    pub created: DateTime<Utc>,
    /// Updates received.
    pub updates: usize,
    /// Removed by `article/remove`.
    pub removed: bool,
}

impl Default for Oa {
    fn default() -> Oa {
        Oa::new()
    }
}

impl Oa {
    /// An OA with no article, whose live refresh token is [`ZALO_FIRST_REFRESH_TOKEN`].
    pub fn new() -> Oa {
        Oa {
            salt: fastrand::u64(..),
            serial: 0,
            refresh_token: ZALO_FIRST_REFRESH_TOKEN.to_string(),
            refresh_issued_at: None,
            spent_refresh_tokens: Vec::new(),
            reused: 0,
            access_tokens: HashMap::new(),
            token_calls: HashMap::new(),
            codes: HashMap::new(),
            articles: Vec::new(),
            processing: HashMap::new(),
            broadcasts: Vec::new(),
            minute: (i64::MIN, 0),
            peak_percent: 0,
            refusals: 0,
            refuse_publishing: false,
        }
    }

    /// While `on`, every `article/create` is refused with `-248` ("Violates our platform
    /// standards") and creates nothing: `shared/api/zalo-oa.md` §6 classes it as Permanent
    /// (content rejected), so loa marks the delivery `failed` without a retry.
    pub fn refuse_publishing(&mut self, on: bool) {
        self.refuse_publishing = on;
    }

    /// The highest share of a minute's call budget used so far, in percent (over 100 when
    /// calls came past the limit).
    /// Adds a published article titled `title`, created at `at`, as if loa had created and
    /// verified it; returns its id. For benchmarks that need thousands of articles without
    /// thousands of create calls.
    #[doc(hidden)]
    pub fn seed_article(&mut self, title: &str, at: DateTime<Utc>) -> String {
        let seq = self.next();
        let id = format!("{:016x}", mix(self.salt.wrapping_add(seq)));
        self.articles.push(Article {
            seq,
            id: id.clone(),
            content: Content {
                title: title.to_string(),
                author: "UBND".into(),
                description: String::new(),
                cover_url: String::new(),
                body: Vec::new(),
                status: "show".into(),
                comment: "show".into(),
            },
            created: at,
            updated: at,
            updates: 0,
            removed: false,
        });
        id
    }

    pub fn peak_usage_percent(&self) -> u64 {
        self.peak_percent
    }

    /// How many calls were refused with `-32` (over [`RATE_LIMIT`] in a minute).
    pub fn rate_limit_refusals(&self) -> usize {
        self.refusals
    }

    /// Every article ever created, removed ones included, oldest first.
    pub fn articles(&self) -> Vec<ArticleView> {
        self.articles
            .iter()
            .map(|a| ArticleView {
                id: a.id.clone(),
                title: a.content.title.clone(),
                cover_url: a.content.cover_url.clone(),
                images: a
                    .content
                    .body
                    .iter()
                    .filter(|i| i["type"] == "image")
                    .filter_map(|i| i["url"].as_str().map(str::to_string))
                    .collect(),
                created: a.created,
                updates: a.updates,
                removed: a.removed,
            })
            .collect()
    }

    /// The article ids of every broadcast sent, in order (one per element).
    pub fn broadcasts(&self) -> Vec<String> {
        self.broadcasts
            .iter()
            .flat_map(|b| b.article_ids.iter().cloned())
            .collect()
    }

    /// The refresh tokens spent by successful refreshes, in order.
    pub fn refresh_tokens_used(&self) -> Vec<String> {
        self.spent_refresh_tokens.clone()
    }

    /// The one refresh token that works now (a test compares it with loa's token store to see
    /// whether a refresh is between Zalo's answer and loa's save).
    pub fn live_refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// How many refresh requests presented a refresh token that had already been spent.
    pub fn reused_refresh_tokens(&self) -> usize {
        self.reused
    }

    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A short suffix that differs between sandboxes.
    fn tag(&self, n: u64) -> String {
        format!("{:08x}", mix(self.salt ^ n) >> 32)
    }

    /// Counts a call in the current minute; the calls left after it (negative: over).
    fn meter(&mut self, now: DateTime<Utc>) -> i64 {
        let minute = now.timestamp().div_euclid(60);
        if self.minute.0 != minute {
            self.minute = (minute, 0);
        }
        self.minute.1 = self.minute.1.saturating_add(1);
        let percent = u64::from(self.minute.1) * 100 / u64::from(RATE_LIMIT);
        self.peak_percent = self.peak_percent.max(percent);
        let remain = i64::from(RATE_LIMIT) - i64::from(self.minute.1);
        if remain < 0 {
            self.refusals += 1;
        }
        remain
    }

    fn token_ok(&self, headers: &HeaderMap, now: DateTime<Utc>) -> bool {
        headers
            .get("access_token")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| self.access_tokens.get(t.trim()))
            .is_some_and(|expires| now < *expires)
    }

    /// Counts a call made with the access token in `headers`; false once it has made `limit`
    /// calls ([`super::Faults::token_calls`]; `None`: no limit).
    fn token_use(&mut self, headers: &HeaderMap, limit: Option<u32>) -> bool {
        let Some(limit) = limit else {
            return true;
        };
        let token = headers
            .get("access_token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default();
        let used = self.token_calls.entry(token.to_string()).or_default();
        *used = used.saturating_add(1);
        *used <= limit
    }

    /// A new token pair; the new refresh token becomes the only live one.
    fn issue(&mut self, now: DateTime<Utc>, ttl: Duration) -> Value {
        let n = self.next();
        let access = format!("sandbox-access-{n}-{}", self.tag(n));
        let refresh = format!("sandbox-refresh-{n}-{}", self.tag(n + 1));
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX);
        self.access_tokens.insert(access.clone(), expires);
        self.refresh_token = refresh.clone();
        self.refresh_issued_at = Some(now);
        json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl.as_secs().max(1).to_string(),
        })
    }

    /// A processing token for `article_id`, busy for one or two verifies.
    fn processing_token(&mut self, article_id: &str) -> String {
        let n = self.next();
        let token = format!("tk{n:05}{}", self.tag(n));
        self.processing.insert(
            token.clone(),
            Processing {
                article_id: article_id.to_string(),
                busy: 1 + u32::from(n % 2 == 1),
            },
        );
        token
    }

    fn live(&self, id: &str) -> Option<&Article> {
        self.articles.iter().find(|a| a.id == id && !a.removed)
    }

    fn live_mut(&mut self, id: &str) -> Option<&mut Article> {
        self.articles.iter_mut().find(|a| a.id == id && !a.removed)
    }
}

impl Article {
    /// Views grow with age, fast at first, towards about 720 × (3..=6) (deterministic).
    fn views(&self, now: DateTime<Utc>) -> u64 {
        let minutes = u64::try_from((now - self.created).num_minutes()).unwrap_or(0);
        let rate = 3 + self.seq % 4;
        minutes.saturating_mul(rate).saturating_mul(720) / (720 + minutes)
    }

    fn shares(&self, now: DateTime<Utc>) -> u64 {
        self.views(now) / (30 + self.seq % 20)
    }

    fn link(&self) -> String {
        format!(
            "https://zalo-oa.sandbox.invalid/{OA_ID}/article/{}",
            self.id
        )
    }

    fn summary(&self, now: DateTime<Utc>) -> Value {
        json!({
            "id": self.id,
            "type": "normal",
            "title": self.content.title,
            "status": self.content.status,
            "total_view": self.views(now),
            "total_share": self.shares(now),
            "create_date": self.created.timestamp_millis(),
            "update_date": self.updated.timestamp_millis(),
            "thumb": self.content.cover_url,
            "link_view": self.link(),
        })
    }

    fn detail(&self, now: DateTime<Utc>) -> Value {
        let c = &self.content;
        json!({
            "id": self.id,
            "type": "normal",
            "title": c.title,
            "author": c.author,
            "description": c.description,
            "cover": {"cover_type": "photo", "photo_url": c.cover_url, "status": "show"},
            "body": c.body,
            "status": c.status,
            "comment": c.comment,
            "create_date": self.created.timestamp_millis(),
            "update_date": self.updated.timestamp_millis(),
            "total_view": self.views(now),
            "total_share": self.shares(now),
            "link_view": self.link(),
        })
    }
}

/// SplitMix64's finalizer: spreads a counter into ids that look random but repeat per salt.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn oa(sandbox: &Sandbox) -> MutexGuard<'_, Oa> {
    sandbox.zalo.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// One answer and the few words recorded for it (never a token).
enum Answer {
    /// `error: 0` with `data`.
    Ok(Value, String),
    /// `error: 0` without `data` (remove).
    Done(String),
    /// An Open API refusal.
    Refused(i64, String),
    /// An OAuth refusal: code, `error_name`, `error_reason`, `error_description`.
    OAuth(i64, &'static str, String, &'static str),
    /// The token pair, top level.
    Granted(Value, String),
    /// An injected server failure; `String` says what happened meanwhile.
    Broken(String),
    /// `302 Found` to this address.
    Redirect(String, String),
}

fn refused(code: i64, message: impl Into<String>) -> Answer {
    Answer::Refused(code, message.into())
}

fn invalid(field: &str) -> Answer {
    refused(-201, format!("{field} is invalid!"))
}

impl Answer {
    fn finish(self) -> (Response, String) {
        match self {
            Answer::Ok(data, said) => (
                Json(json!({"error": 0, "message": "Success", "data": data})).into_response(),
                said,
            ),
            Answer::Done(said) => (
                Json(json!({"error": 0, "message": "Success"})).into_response(),
                said,
            ),
            Answer::Refused(code, message) => {
                let said = format!("error {code} {message}");
                (
                    Json(json!({"error": code, "message": message})).into_response(),
                    said,
                )
            }
            Answer::OAuth(code, name, reason, description) => {
                let said = format!("error {code} {name}: {reason}");
                let body = json!({
                    "error": code,
                    "error_name": name,
                    "error_reason": reason,
                    "error_description": description,
                    "ref_doc": "https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new",
                });
                (Json(body).into_response(), said)
            }
            Answer::Granted(pair, said) => (Json(pair).into_response(), said),
            Answer::Broken(said) => (
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    "<html><head><title>500 Internal Server Error</title></head>\
                     <body><h1>500 Internal Server Error</h1><hr>nginx</body></html>",
                )
                    .into_response(),
                format!("HTTP 500 (injected){}", said),
            ),
            Answer::Redirect(location, said) => {
                let response = match HeaderValue::from_str(&location) {
                    Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
                    Err(_) => {
                        return Answer::OAuth(
                            -14003,
                            "invalid_redirect_uri",
                            "the redirect uri cannot be used".into(),
                            "Invalid redirect uri",
                        )
                        .finish();
                    }
                };
                (response, said)
            }
        }
    }
}

/// Records `answer` for `method path` and returns its response.
fn reply(sandbox: &Sandbox, method: &str, path: &str, answer: Answer) -> Response {
    let (response, said) = answer.finish();
    sandbox.record("zalo", method, path, said);
    response
}

/// An Open API call: the `access_token` header first, then `work` under the OA's lock.
fn api(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    work: impl FnOnce(&mut Oa, DateTime<Utc>) -> Answer,
) -> Response {
    let now = sandbox.clock.now();
    let answer = {
        let mut oa = oa(sandbox);
        if oa.token_ok(headers, now) && oa.token_use(headers, sandbox.faults.token_calls) {
            work(&mut oa, now)
        } else {
            refused(-216, TOKEN_INVALID)
        }
    };
    reply(sandbox, method, path, answer)
}

/// A JSON body, or the refusal for one that is not.
fn json_body(body: Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>, Answer> {
    match body {
        Ok(Json(Value::Object(map))) => Ok(map),
        _ => Err(invalid("body")),
    }
}

/// An id sent as a string or a number.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Characters after NFC (§3.1).
fn nfc_len(s: &str) -> usize {
    s.nfc().count()
}

/// An absolute `https` URL Zalo could fetch: a host, only printable ASCII (spaces and
/// Vietnamese letters percent-encoded), and every `%` followed by two hex digits.
fn is_https_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let bytes = url.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// An optional string field: absent → `default`; present but not a string → refused.
fn text_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    default: &'a str,
) -> Result<&'a str, Answer> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(key)),
    }
}

fn show_or_hide(
    map: &Map<String, Value>,
    key: &str,
    default: &'static str,
) -> Result<String, Answer> {
    match text_field(map, key, default)? {
        v @ ("show" | "hide") => Ok(v.to_string()),
        _ => Err(invalid(key)),
    }
}

/// The article of a create or update body, checked like Zalo checks it (§3.1).
fn article_content(map: &Map<String, Value>) -> Result<Content, Answer> {
    if map.get("type").and_then(Value::as_str) != Some("normal") {
        return Err(invalid("type"));
    }
    let Some(title) = map.get("title").and_then(Value::as_str) else {
        return Err(invalid("title"));
    };
    if !(1..=TITLE_MAX).contains(&nfc_len(title.trim())) {
        return Err(refused(-210, TOO_LONG));
    }
    let author = text_field(map, "author", "")?;
    if nfc_len(author) > AUTHOR_MAX {
        return Err(refused(-210, TOO_LONG));
    }
    let Some(description) = map.get("description").and_then(Value::as_str) else {
        return Err(invalid("description"));
    };
    if nfc_len(description) > DESCRIPTION_MAX {
        return Err(refused(-210, TOO_LONG));
    }
    let cover = map.get("cover").and_then(Value::as_object);
    let cover_url = cover
        .filter(|c| {
            c.get("cover_type").and_then(Value::as_str) == Some("photo")
                && c.get("status").and_then(Value::as_str) == Some("show")
        })
        .and_then(|c| c.get("photo_url"))
        .and_then(Value::as_str)
        .filter(|u| is_https_url(u))
        .ok_or_else(|| invalid("cover"))?;
    let items = map
        .get("body")
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| invalid("body"))?;
    for item in items {
        let ok = match item.get("type").and_then(Value::as_str) {
            Some("text") => item
                .get("content")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.trim().is_empty()),
            Some("image") => {
                item.get("url")
                    .and_then(Value::as_str)
                    .is_some_and(is_https_url)
                    && item.get("caption").is_none_or(Value::is_string)
            }
            _ => false,
        };
        if !ok {
            return Err(invalid("body"));
        }
    }
    Ok(Content {
        title: title.to_string(),
        author: author.to_string(),
        description: description.to_string(),
        cover_url: cover_url.to_string(),
        body: items.clone(),
        status: show_or_hide(map, "status", "hide")?,
        comment: show_or_hide(map, "comment", "show")?,
    })
}

/// The article ids of a §4 broadcast body.
fn broadcast_ids(map: &Map<String, Value>, oa: &Oa) -> Result<Vec<String>, Answer> {
    const TARGET_KEYS: [&str; 6] = [
        "ages",
        "gender",
        "locations",
        "cities",
        "platform",
        "platforms",
    ];
    let target = map
        .get("recipient")
        .and_then(|r| r.get("target"))
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("recipient"))?;
    if target.keys().any(|k| !TARGET_KEYS.contains(&k.as_str())) {
        return Err(invalid("target"));
    }
    let attachment = map
        .get("message")
        .and_then(|m| m.get("attachment"))
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("template"))
        .ok_or_else(|| invalid("attachment"))?;
    let payload = attachment
        .get("payload")
        .filter(|p| p.get("template_type").and_then(Value::as_str) == Some("media"))
        .ok_or_else(|| invalid("template_type"))?;
    let elements = payload
        .get("elements")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("elements"))?;
    if elements.len() > BROADCAST_MAX {
        return Err(refused(-210, TOO_LONG));
    }
    let mut ids = Vec::new();
    for element in elements {
        if element.get("media_type").and_then(Value::as_str) != Some("article") {
            return Err(invalid("media_type"));
        }
        match id_of(element.get("attachment_id")) {
            Some(id) if oa.live(&id).is_some() => ids.push(id),
            _ => return Err(invalid("attachment_id")),
        }
    }
    Ok(ids)
}

/// Between 22:00 and 06:00 in Vietnam.
fn is_night(now: DateTime<Utc>) -> bool {
    let hour = now.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).hour();
    !(NIGHT_UNTIL..NIGHT_FROM).contains(&hour)
}

// ---------------------------------------------------------------------------------------------
// OAuth
// ---------------------------------------------------------------------------------------------

/// base64url (RFC 4648 §5) without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn bad_app() -> Answer {
    Answer::OAuth(
        -14002,
        "invalid_app_id",
        "the app id is unknown or the app is not activated".into(),
        "Invalid app id",
    )
}

fn bad_secret() -> Answer {
    Answer::OAuth(
        -14002,
        "invalid_app",
        "the secret_key header does not match the app's secret".into(),
        "Invalid app id or secret key",
    )
}

fn bad_refresh(reason: &str) -> Answer {
    Answer::OAuth(
        -14014,
        "invalid_grant",
        reason.to_string(),
        "Invalid refresh token",
    )
}

fn bad_code(reason: &str) -> Answer {
    Answer::OAuth(
        -14008,
        "invalid_code",
        reason.to_string(),
        "Invalid authorization code",
    )
}

/// `POST /v4/oa/access_token`: a refresh or a code exchange.
async fn access_token(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let now = sandbox.clock.now();
    let ttl = sandbox.faults.token_ttl.unwrap_or(DEFAULT_TOKEN_TTL);
    let answer = match form {
        Err(_) => Answer::OAuth(
            -14001,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded".into(),
            "Invalid request",
        ),
        Ok(Form(form)) => {
            let field = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or_default();
            let secret = headers.get("secret_key").and_then(|v| v.to_str().ok());
            if field("app_id") != ZALO_APP.0 {
                bad_app()
            } else if secret != Some(ZALO_APP.1) {
                bad_secret()
            } else {
                let mut oa = oa(&sandbox);
                match field("grant_type") {
                    "refresh_token" => refresh(&mut oa, field("refresh_token"), now, ttl),
                    "authorization_code" => {
                        exchange(&mut oa, field("code"), field("code_verifier"), now, ttl)
                    }
                    _ => Answer::OAuth(
                        -14001,
                        "invalid_request",
                        "grant_type must be refresh_token or authorization_code".into(),
                        "Invalid grant type",
                    ),
                }
            }
        }
    };
    reply(&sandbox, "POST", TOKEN_PATH, answer)
}

fn refresh(oa: &mut Oa, token: &str, now: DateTime<Utc>, ttl: Duration) -> Answer {
    if token.is_empty() {
        return bad_refresh("no refresh_token was sent");
    }
    if oa.spent_refresh_tokens.iter().any(|t| t == token) {
        oa.reused += 1;
        return bad_refresh("this refresh token was already used (a refresh token works once)");
    }
    if token != oa.refresh_token {
        return bad_refresh("unknown refresh token");
    }
    if oa
        .refresh_issued_at
        .is_some_and(|at| now >= at + REFRESH_TTL)
    {
        return bad_refresh("the refresh token is older than 3 months");
    }
    oa.spent_refresh_tokens.push(token.to_string());
    let pair = oa.issue(now, ttl);
    Answer::Granted(
        pair,
        format!(
            "refreshed (refresh {} spent, new pair for {} s)",
            oa.spent_refresh_tokens.len(),
            ttl.as_secs()
        ),
    )
}

fn exchange(oa: &mut Oa, code: &str, verifier: &str, now: DateTime<Utc>, ttl: Duration) -> Answer {
    if code.is_empty() {
        return bad_code("no code was sent");
    }
    // A code works once, whatever comes of it.
    let Some(consent) = oa.codes.remove(code) else {
        return bad_code("unknown or already used code");
    };
    if now >= consent.expires_at {
        return bad_code("the code is older than 10 minutes");
    }
    if let Some(challenge) = &consent.challenge
        && base64url(&Sha256::digest(verifier.as_bytes())) != *challenge
    {
        return Answer::OAuth(
            -14019,
            "invalid_code_verifier",
            "SHA-256 of code_verifier does not match the code_challenge of the consent".into(),
            "Invalid code verifier",
        );
    }
    let pair = oa.issue(now, ttl);
    Answer::Granted(
        pair,
        format!("code exchanged, new pair for {} s", ttl.as_secs()),
    )
}

/// `GET /v4/oa/permission`: the OA admin consents at once; 302 to the callback.
async fn permission(
    State(sandbox): State<Arc<Sandbox>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let now = sandbox.clock.now();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let field = |k: &str| query.get(k).map(|v| v.trim()).unwrap_or_default();
    let redirect = field("redirect_uri");
    let answer = if field("app_id") != ZALO_APP.0 {
        bad_app()
    } else if !(redirect.starts_with("https://") || redirect.starts_with("http://"))
        || redirect.contains('#')
        || redirect.len() < "http://x".len()
    {
        Answer::OAuth(
            -14003,
            "invalid_redirect_uri",
            "redirect_uri must be the OA callback URL".into(),
            "Invalid redirect uri",
        )
    } else {
        let mut oa = oa(&sandbox);
        let n = oa.next();
        let code = format!("sandbox-code-{n}-{}", oa.tag(n));
        let challenge = Some(field("code_challenge"))
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        let pkce = if challenge.is_some() {
            "with"
        } else {
            "without"
        };
        oa.codes.insert(
            code.clone(),
            Consent {
                challenge,
                expires_at: now + CODE_TTL,
            },
        );
        let mut location: String = utf8_percent_encode(redirect, IN_URL).collect();
        location.push(if redirect.contains('?') { '&' } else { '?' });
        location.push_str(&format!("code={code}&oa_id={OA_ID}"));
        let state = field("state");
        if !state.is_empty() {
            location.push_str("&state=");
            location.extend(utf8_percent_encode(state, QUERY_VALUE));
        }
        Answer::Redirect(
            location,
            format!("consent given ({pkce} PKCE); 302 to the callback"),
        )
    };
    reply(&sandbox, "GET", PERMISSION_PATH, answer)
}

// ---------------------------------------------------------------------------------------------
// Articles
// ---------------------------------------------------------------------------------------------

async fn create(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let faults = sandbox.faults.clone();
    api(&sandbox, "POST", CREATE_PATH, &headers, |oa, now| {
        let content = match json_body(body).and_then(|m| article_content(&m)) {
            Ok(c) => c,
            Err(refusal) => return refusal,
        };
        if oa.refuse_publishing {
            return refused(-248, CONTENT_REJECTED);
        }
        if sandbox.roll(faults.fail_rate) {
            return Answer::Broken(", nothing created".into());
        }
        let seq = oa.next();
        let id = format!("{:016x}", mix(oa.salt.wrapping_add(seq)));
        oa.articles.push(Article {
            seq,
            id: id.clone(),
            content,
            created: now,
            updated: now,
            updates: 0,
            removed: false,
        });
        let token = oa.processing_token(&id);
        if sandbox.roll(faults.ghost_rate) {
            return Answer::Broken(format!(", but article {id} was created"));
        }
        Answer::Ok(
            json!({ "token": token }),
            format!("created article {id} (processing)"),
        )
    })
}

async fn verify(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    api(&sandbox, "POST", VERIFY_PATH, &headers, |oa, _| {
        let map = match json_body(body) {
            Ok(m) => m,
            Err(refusal) => return refusal,
        };
        let token = map.get("token").and_then(Value::as_str).unwrap_or_default();
        match oa.processing.get_mut(token) {
            None => invalid("token"),
            Some(p) if p.busy > 0 => {
                p.busy -= 1;
                refused(-214, PROCESSING)
            }
            Some(p) => {
                let id = p.article_id.clone();
                Answer::Ok(json!({ "id": id }), format!("verified article {id}"))
            }
        }
    })
}

async fn update(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let faults = sandbox.faults.clone();
    api(&sandbox, "POST", UPDATE_PATH, &headers, |oa, now| {
        let map = match json_body(body) {
            Ok(m) => m,
            Err(refusal) => return refusal,
        };
        let Some(id) = id_of(map.get("id")).filter(|id| oa.live(id).is_some()) else {
            return invalid("id");
        };
        let content = match article_content(&map) {
            Ok(c) => c,
            Err(refusal) => return refusal,
        };
        if sandbox.roll(faults.fail_rate) {
            return Answer::Broken(format!(", article {id} not updated"));
        }
        if let Some(article) = oa.live_mut(&id) {
            article.content = content;
            article.updated = now;
            article.updates += 1;
        }
        let token = oa.processing_token(&id);
        Answer::Ok(
            json!({ "token": token }),
            format!("updated article {id} (processing)"),
        )
    })
}

async fn remove(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    api(&sandbox, "POST", REMOVE_PATH, &headers, |oa, _| {
        let map = match json_body(body) {
            Ok(m) => m,
            Err(refusal) => return refusal,
        };
        let id = id_of(map.get("id")).unwrap_or_default();
        match oa.live_mut(&id) {
            Some(article) => {
                article.removed = true;
                Answer::Done(format!("removed article {id}"))
            }
            None => invalid("id"),
        }
    })
}

async fn getslice(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    api(&sandbox, "GET", SLICE_PATH, &headers, |oa, now| {
        let query = query.map(|Query(q)| q).unwrap_or_default();
        let number = |key: &str, default: usize| match query.get(key).map(|v| v.trim()) {
            None => Ok(default),
            Some(v) => v.parse::<usize>().map_err(|_| invalid(key)),
        };
        let kind = query.get("type").map(|t| t.trim()).unwrap_or_default();
        if kind != "normal" && kind != "video" {
            return refused(-201, "type accept only 2 value normal and video.");
        }
        let (offset, limit) = match (number("offset", 0), number("limit", SLICE_MAX)) {
            (Ok(o), Ok(l)) => (o, l),
            (Err(refusal), _) | (_, Err(refusal)) => return refusal,
        };
        if limit > SLICE_MAX {
            return refused(-210, TOO_LONG);
        }
        // The sandbox holds normal articles only; newest first.
        let mut live: Vec<&Article> = if kind == "normal" {
            oa.articles.iter().filter(|a| !a.removed).collect()
        } else {
            Vec::new()
        };
        live.sort_by_key(|a| std::cmp::Reverse((a.created, a.seq)));
        let medias: Vec<Value> = live
            .iter()
            .skip(offset)
            .take(limit)
            .map(|a| a.summary(now))
            .collect();
        let said = format!("{} of {} articles from {offset}", medias.len(), live.len());
        Answer::Ok(json!({ "total": live.len(), "medias": medias }), said)
    })
}

async fn getdetail(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    api(&sandbox, "GET", DETAIL_PATH, &headers, |oa, now| {
        let query = query.map(|Query(q)| q).unwrap_or_default();
        let id = query.get("id").map(|v| v.trim()).unwrap_or_default();
        match oa.live(id) {
            Some(article) => Answer::Ok(article.detail(now), format!("article {id}")),
            None => invalid("id"),
        }
    })
}

async fn getoa(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap) -> Response {
    api(&sandbox, "GET", GETOA_PATH, &headers, |_, now| {
        let through = (now + chrono::TimeDelta::days(365))
            .format("%d/%m/%Y")
            .to_string();
        Answer::Ok(
            json!({
                "oaid": OA_ID,
                "name": OA_NAME,
                "description": "Trang thông tin của UBND xã (môi trường thử nghiệm của loa)",
                "avatar": "https://zalo-oa.sandbox.invalid/avatar.jpg",
                "cover": "https://zalo-oa.sandbox.invalid/cover.jpg",
                "is_verified": true,
                "num_follower": FOLLOWERS,
                "package_name": "Nâng cao",
                "package_valid_through_date": through,
            }),
            format!("{FOLLOWERS} followers"),
        )
    })
}

async fn message(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let faults = sandbox.faults.clone();
    api(&sandbox, "POST", MESSAGE_PATH, &headers, |oa, now| {
        let ids = match json_body(body).and_then(|m| broadcast_ids(&m, oa)) {
            Ok(ids) => ids,
            Err(refusal) => return refusal,
        };
        if is_night(now) {
            return refused(-234, NIGHT);
        }
        if sandbox.roll(faults.fail_rate) {
            return Answer::Broken(", nothing sent".into());
        }
        let n = oa.next();
        let message_id = format!(
            "{:032x}",
            u128::from(mix(n)) << 64 | u128::from(mix(oa.salt ^ n))
        );
        let said = format!("broadcast of {}", ids.join(", "));
        oa.broadcasts.push(Broadcast { article_ids: ids });
        Answer::Ok(json!({ "message_id": message_id }), said)
    })
}

/// A token request being answered, counted in [`Sandbox::zalo_token_calls_in_flight`] until
/// its answer is handed over.
struct InFlight(Arc<Sandbox>);

impl InFlight {
    fn new(sandbox: &Arc<Sandbox>) -> InFlight {
        sandbox
            .zalo_token_calls_in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlight(sandbox.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .zalo_token_calls_in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Latency, the per-minute call limit, and its headers on every answer; the injected rate
/// limits and slow answers (never on the OAuth calls: see the module `sandbox`).
async fn meter(State(sandbox): State<Arc<Sandbox>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let _token_call = (path == TOKEN_PATH).then(|| InFlight::new(&sandbox));
    sandbox.lag().await;
    let mut remain = oa(&sandbox).meter(sandbox.clock.now());
    let faultable = path != TOKEN_PATH && path != PERMISSION_PATH;
    if remain >= 0 && faultable && sandbox.roll_rate_limit() {
        remain = -1;
    }
    let slow = faultable && sandbox.roll_slow();
    let method = request.method().to_string();
    let mut response = if remain < 0 {
        reply(&sandbox, &method, &path, refused(-32, CALL_LIMIT))
    } else {
        next.run(request).await
    };
    if slow {
        // After the call did its work: the platform acted, only the answer is late.
        sandbox.record("zalo", &method, &path, "(answer held back)");
        sandbox.hold().await;
    }
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    headers.insert("x-ratelimit-remain", HeaderValue::from(remain.max(0)));
    response
}

/// The Zalo routes.
pub fn routes(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(access_token))
        .route(PERMISSION_PATH, get(permission))
        .route(CREATE_PATH, post(create))
        .route(VERIFY_PATH, post(verify))
        .route(UPDATE_PATH, post(update))
        .route(REMOVE_PATH, post(remove))
        .route(SLICE_PATH, get(getslice))
        .route(DETAIL_PATH, get(getdetail))
        .route(GETOA_PATH, get(getoa))
        .route(MESSAGE_PATH, post(message))
        .route_layer(middleware::from_fn_with_state(sandbox.clone(), meter))
        .with_state(sandbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_7636_appendix_b() {
        let challenge = base64url(&Sha256::digest(
            b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn urls_must_be_encoded_https() {
        assert!(is_https_url("https://example.gov.vn/a%20b.jpg"));
        assert!(!is_https_url("http://example.gov.vn/a.jpg"));
        assert!(!is_https_url("https://example.gov.vn/a b.jpg"));
        assert!(!is_https_url("https://example.gov.vn/bìa.jpg"));
        assert!(!is_https_url("https://example.gov.vn/100%.jpg"));
        assert!(!is_https_url("https:///a.jpg"));
    }

    #[test]
    fn the_night_is_local() {
        let at = |h, m| {
            DateTime::parse_from_rfc3339(&format!("2026-12-01T{h:02}:{m:02}:00+07:00"))
                .unwrap()
                .with_timezone(&Utc)
        };
        assert!(is_night(at(22, 0)));
        assert!(is_night(at(5, 59)));
        assert!(!is_night(at(6, 0)));
        assert!(!is_night(at(21, 59)));
    }

    #[test]
    fn views_grow_with_age() {
        let created = Utc::now();
        let article = Article {
            seq: 1,
            id: "a".into(),
            content: Content {
                title: String::new(),
                author: String::new(),
                description: String::new(),
                cover_url: String::new(),
                body: Vec::new(),
                status: "show".into(),
                comment: "show".into(),
            },
            created,
            updated: created,
            updates: 0,
            removed: false,
        };
        let mut last = 0;
        for minutes in [0, 1, 10, 60, 719, 720, 721, 10_000] {
            let v = article.views(created + chrono::TimeDelta::minutes(minutes));
            assert!(v >= last, "{minutes}: {v} < {last}");
            last = v;
        }
        assert!(last > 1000);
    }
}
