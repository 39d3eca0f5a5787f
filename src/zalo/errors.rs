//! Zalo OA errors: reading the `{"error":…,"message":…}` envelope and sorting failures into
//! loa's outcome classes (`shared/api/zalo-oa.md` §6).
//!
//! Zalo answers almost every failure with **HTTP 200** and a negative `error` in the body, so the
//! body decides, never the status (§1). The status only matters when there is no readable body:
//! then the §6 "Transport failures" table decides per call, exactly as for a timeout.
//!
//! Three rules shape the rest:
//! - a `create` or a broadcast that may have taken effect is never blind-retried: every "maybe"
//!   on them becomes [`Outcome::Ambiguous`] (a create is reconciled through the article list; a
//!   broadcast cannot be, so it is recorded as unconfirmed);
//! - a refresh token works once, so a refresh that may have gone through is Ambiguous too, and a
//!   refused refresh is terminal: only an OA admin's new consent helps;
//! - some errors are not outcomes but one extra step the Zalo client takes itself (poll verify
//!   again, refresh the token, re-create with the default cover, treat a missing article as
//!   removed); those are the other [`Classified`] variants.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::i18n::tr;
use crate::platform::json::{integer, text_field};
use crate::platform::redact::scrub;
use crate::platform::transport::{bare_answer, no_answer};
use crate::publisher::Outcome;

/// One Zalo error, from the Open API envelope or from the OAuth endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZaloError {
    /// Zalo's `error`, e.g. -216. 0 only when Zalo named an error without a number
    /// (`{"error":"invalid_request"}`), since 0 itself means success.
    pub code: i64,
    /// Zalo's own words: `message`, or for OAuth errors `error_description` / `error_reason`.
    /// Empty when Zalo gave none.
    pub message: String,
}

impl ZaloError {
    /// Zalo's words for the officer with the code appended, e.g.
    /// "Access token is invalid (error -216)".
    ///
    /// The code makes the case findable in the reference and in Zalo's table; loa never
    /// replaces Zalo's words with a vaguer "unknown error". Any token in the text is hidden,
    /// because this string is stored and shown.
    pub fn officer_message(&self) -> String {
        let message = self.message.trim();
        let mut text = if message.is_empty() {
            tr("Zalo gave no explanation", "Zalo không nêu lý do").to_string()
        } else {
            message.to_string()
        };
        if self.code != 0 {
            text.push_str(&tr(
                format!(" (error {})", self.code),
                format!(" (lỗi {})", self.code),
            ));
        }
        scrub(&text)
    }

    /// Whether Zalo's words contain `needle` (lowercase), ignoring case.
    fn says(&self, needle: &str) -> bool {
        self.message.to_lowercase().contains(needle)
    }
}

impl fmt::Display for ZaloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.officer_message())
    }
}

impl std::error::Error for ZaloError {}

/// What a Zalo reply body said.
#[derive(Clone, Debug, PartialEq)]
pub enum Envelope {
    /// `error` is 0 (or absent, with a `data` field): the `data` field, or `Null` when there is
    /// none (a remove answers `{"error":0,"message":"Success"}`).
    Ok(Value),
    /// `error` is non-zero: Zalo refused the call.
    Err(ZaloError),
    /// Not JSON, or JSON that is no Zalo envelope (an HTML error page from a proxy, an empty
    /// body, `[]`). The caller classifies it as a transport failure with the HTTP status. The
    /// OAuth success reply (`{"access_token":…}`) is no envelope either: the OAuth module reads
    /// it itself, and uses this function only to spot its error shape.
    NotJson,
}

/// Reads a Zalo reply body.
///
/// - `{"error":0,"message":"Success","data":{…}}` → `Ok(data)`.
/// - `{"error":-216,"message":"…"}` (Open API) and
///   `{"error":-14014,"error_name":"…","error_reason":"…","error_description":"…"}` (OAuth)
///   → `Err`. The code may be a number or a numeric string.
/// - anything else → `NotJson`.
pub fn parse_envelope(body: &str) -> Envelope {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body.trim()) else {
        return Envelope::NotJson;
    };
    match map.get("error") {
        None | Some(Value::Null) => match map.get("data") {
            Some(data) => Envelope::Ok(data.clone()),
            // Neither an error nor data: nothing says the call did what was asked.
            None => Envelope::NotJson,
        },
        Some(error) => match integer(error) {
            Some(0) => Envelope::Ok(map.get("data").cloned().unwrap_or(Value::Null)),
            Some(code) => Envelope::Err(ZaloError {
                code,
                message: words(&map).unwrap_or_default(),
            }),
            // `{"error":"invalid_request"}`: an error all the same; keep whatever words exist.
            None => match text_field(error) {
                Some(name) => Envelope::Err(ZaloError {
                    code: 0,
                    message: words(&map).unwrap_or(name),
                }),
                None => Envelope::NotJson,
            },
        },
    }
}

/// The best human text of an error body. `error_description` is the OAuth endpoint's sentence
/// and `error_reason` its short form; the Open API uses `message`; `error_name` is a last resort.
fn words(map: &Map<String, Value>) -> Option<String> {
    ["error_description", "error_reason", "message", "error_name"]
        .into_iter()
        .find_map(|key| map.get(key).and_then(text_field))
}

/// Which Zalo call failed: the same error means different things for a call that may have
/// created something and for one that cannot have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZaloCall {
    /// `POST /v2.0/article/create`: may create an article, so never blind-retried.
    Create,
    /// `POST /v2.0/article/verify`: turns the create token into the article id.
    Verify,
    /// `POST /v2.0/article/update`: repeating it is harmless.
    Update,
    /// `POST /v2.0/article/remove`.
    Remove,
    /// `GET /v2.0/article/getslice`: reconciliation and metrics.
    List,
    /// `GET /v2.0/oa/getoa`: the health check.
    GetOa,
    /// `GET /v2.0/article/getdetail`.
    Detail,
    /// `POST /v2.0/oa/message`: a broadcast cannot be looked up afterwards, so never resent.
    Broadcast,
    /// `POST /v4/oa/access_token`: a code exchange or a refresh (the refresh token is single-use).
    Token,
}

/// What a failed Zalo call means for loa.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// One of the engine's outcome classes.
    Outcome(Outcome),
    /// `-214` at verify: Zalo is still fetching the media; poll verify again with the same token
    /// (never create again while a token exists).
    Processing,
    /// `-216`/`-220`: refresh the access token, then replay the call once. If the replay gets
    /// them again, the channel needs re-auth: see [`after_refresh`].
    RefreshToken,
    /// `-200` at verify: Zalo could not fetch or take the cover; re-create once with
    /// `zalo.default_cover_url`.
    CoverRejected,
    /// A remove of an article Zalo says is not there: the unpublish is done.
    NotFound,
}

/// The per-minute limit (4,000 calls/min per app, §7): `-32` or `X-RateLimit-Remain: 0`.
const RATE_LIMIT_PAUSE_SECONDS: i64 = 60;
/// `-211` "Out of quota": the period is undocumented, so a day.
const QUOTA_PAUSE_HOURS: i64 = 24;
/// The broadcast night window ends at 06:00 local (`-234`).
const MORNING_HOUR: u32 = 6;

/// Your application (OA) reached limit call api.
const CALL_LIMIT: i64 = -32;
/// Send message failed / Upload media failed.
const MEDIA_FAILED: i64 = -200;
/// `<field>` is invalid!
const INVALID_FIELD: i64 = -201;
/// Out of quota.
const OUT_OF_QUOTA: i64 = -211;
/// Article is being processed.
const PROCESSING: i64 = -214;
/// Access token is invalid.
const TOKEN_INVALID: i64 = -216;
/// access_token is expired or removed.
const TOKEN_EXPIRED: i64 = -220;
/// Not authorized for this API, or the monthly article quota: the words tell which.
const NOT_AUTHORIZED_OR_QUOTA: i64 = -223;
/// This message cannot be sent at night.
const NIGHT: i64 = -234;
/// OAuth: invalid app id or app not activated (reported).
const INVALID_APP_ID: i64 = -14002;
/// OAuth: invalid redirect uri (reported).
const INVALID_REDIRECT: i64 = -14003;
/// The rows of §6 that refuse for good; -100, -213, -230, -232 are per-user messaging gates
/// loa's calls should never meet, kept here so that they are not mistaken for unknown codes.
const PERMANENT_CODES: &[i64] = &[
    INVALID_FIELD,
    -204,
    -205,
    -209,
    -210,
    -212,
    -221,
    -224,
    -240,
    -242,
    -248,
    INVALID_APP_ID,
    INVALID_REDIRECT,
    -100,
    -213,
    -230,
    -232,
];

/// Whether §6 has a row for `code`.
fn is_known(code: i64) -> bool {
    PERMANENT_CODES.contains(&code)
        || [
            CALL_LIMIT,
            MEDIA_FAILED,
            OUT_OF_QUOTA,
            PROCESSING,
            TOKEN_INVALID,
            TOKEN_EXPIRED,
            NOT_AUTHORIZED_OR_QUOTA,
            NIGHT,
        ]
        .contains(&code)
}

/// Sorts one failed Zalo call into loa's classes, following every row of §6.
///
/// - `http_status`: the reply's status. With an `error` it matters only for a code §6 does not
///   know (429 pauses; a 5xx is a server failure, classified like a lost answer).
/// - `error`: the parsed [`Envelope::Err`]; `None` when there was no readable body (non-JSON,
///   empty, or a reply without the expected result), which follows §6 "Transport failures".
/// - `now`, `tz`: for pauses that end at a local time (the night window, the monthly quota);
///   `tz` is the config's timezone (Asia/Ho_Chi_Minh for a Vietnamese commune).
pub fn classify(
    call: ZaloCall,
    http_status: u16,
    error: Option<&ZaloError>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Classified {
    let Some(error) = error else {
        return Classified::Outcome(without_body(call, http_status, now));
    };
    let said = error.officer_message();
    let outcome = match error.code {
        // A rate limit says nothing about the token or the payload, even at the token endpoint.
        CALL_LIMIT => per_minute_limit(said, now),
        INVALID_APP_ID | INVALID_REDIRECT => permanent(error),
        // A code §6 does not know, on a failed status: Zalo sends its refusals with HTTP 200,
        // so this is a gateway or server failure, not a considered refusal.
        code if !is_known(code) && http_status == 429 => per_minute_limit(said, now),
        code if !is_known(code) && (http_status == 408 || http_status >= 500) => {
            maybe_done(call, said)
        }
        // Every other refused refresh or exchange: the refresh token is used up or revoked, and
        // only an OA admin's new consent gives a new pair (§6, "-14014 or any other").
        _ if call == ZaloCall::Token => Outcome::AuthExpired {
            message: refresh_refused(&said),
        },
        MEDIA_FAILED if call == ZaloCall::Verify => return Classified::CoverRejected,
        MEDIA_FAILED => transient(said),
        PROCESSING if call == ZaloCall::Verify => return Classified::Processing,
        PROCESSING => transient(said),
        TOKEN_INVALID | TOKEN_EXPIRED => return Classified::RefreshToken,
        OUT_OF_QUOTA => rate_limited(
            tr(
                format!(
                    "Zalo says the OA is out of quota, so loa pauses the Zalo channel for \
                     {QUOTA_PAUSE_HOURS} hours: {said}"
                ),
                format!(
                    "Zalo báo OA đã hết hạn mức, nên loa tạm dừng kênh Zalo \
                     {QUOTA_PAUSE_HOURS} giờ: {said}"
                ),
            ),
            now + Duration::hours(QUOTA_PAUSE_HOURS),
        ),
        NOT_AUTHORIZED_OR_QUOTA => not_authorized_or_quota(error, &said, now, tz),
        NIGHT => rate_limited(
            tr(
                format!(
                    "Zalo does not send broadcasts at night, so loa waits until \
                     {MORNING_HOUR:02}:00: {said}"
                ),
                format!(
                    "Zalo không gửi tin quảng bá vào ban đêm, nên loa chờ đến \
                     {MORNING_HOUR:02}:00: {said}"
                ),
            ),
            next_morning(now, tz),
        ),
        code if call == ZaloCall::Remove
            && (code == INVALID_FIELD || !is_known(code))
            && says_missing(error) =>
        {
            return Classified::NotFound;
        }
        _ => permanent(error),
    };
    Classified::Outcome(outcome)
}

/// What happened when no answer came at all (timeout, connection reset): §6 "Transport
/// failures". `what` is the transport's description; tokens in it are hidden.
pub fn transport_failure(call: ZaloCall, what: &str) -> Outcome {
    maybe_done(call, no_answer("Zalo", what))
}

/// The pause that the `X-RateLimit-Remain` header asks for: none while calls remain, 60 s once
/// it reaches 0 (§7; the header is "Remain", not "Remaining"). An absent or unreadable header
/// asks for nothing: the `-32` body still catches the limit.
pub fn rate_limit_remain_pause(remain: Option<&str>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let left: i64 = remain?.trim().parse().ok()?;
    (left <= 0).then(|| now + Duration::seconds(RATE_LIMIT_PAUSE_SECONDS))
}

/// `-216`/`-220` again right after a successful refresh (the one replay that
/// [`Classified::RefreshToken`] allows): a fresh token that Zalo rejects will not get better by
/// refreshing again, so the channel needs an OA admin. Terminal.
pub fn after_refresh(error: &ZaloError) -> Outcome {
    let said = error.officer_message();
    let fix = reauth_command();
    Outcome::AuthExpired {
        message: tr(
            format!("Zalo rejects even a freshly refreshed access token: {said} — {fix}"),
            format!("Zalo từ chối cả access token vừa được làm mới: {said} — {fix}"),
        ),
    }
}

/// A failed reply with no readable error body.
fn without_body(call: ZaloCall, http_status: u16, now: DateTime<Utc>) -> Outcome {
    let bare = bare_answer("Zalo", http_status);
    match http_status {
        429 => per_minute_limit(bare, now),
        // Zalo answered, but not with what the call expects (no token, no id, not JSON), or
        // failed without saying why: the call may still have taken effect.
        _ => maybe_done(call, bare),
    }
}

/// A failure after which the call may or may not have taken effect, per §6 "Transport
/// failures": reads and idempotent writes are retried; a create is reconciled; a broadcast and
/// a token call cannot be safely repeated blind.
fn maybe_done(call: ZaloCall, what: String) -> Outcome {
    match call {
        ZaloCall::Create => Outcome::Ambiguous {
            message: tr(
                format!(
                    "{what} — the article may have been created anyway; loa looks for it in \
                     the OA's article list before creating it again"
                ),
                format!(
                    "{what} — bài có thể vẫn đã được tạo; loa tìm bài trong danh sách bài viết \
                     của OA trước khi tạo lại"
                ),
            ),
        },
        ZaloCall::Broadcast => Outcome::Ambiguous {
            message: tr(
                format!(
                    "{what} — the broadcast may have been sent; Zalo offers no way to check, \
                     so loa records it as unconfirmed and never sends it again"
                ),
                format!(
                    "{what} — tin quảng bá có thể đã được gửi; Zalo không cho kiểm tra, \
                     nên loa ghi là chưa xác nhận và không bao giờ gửi lại"
                ),
            ),
        },
        ZaloCall::Token => Outcome::Ambiguous {
            message: tr(
                format!(
                    "{what} — the token refresh may have gone through and used up the refresh \
                     token; loa retries once with the same refresh token, and if Zalo refuses \
                     it an OA admin must consent again with `loa auth zalo --url`"
                ),
                format!(
                    "{what} — việc làm mới token có thể đã thành công và dùng mất refresh \
                     token; loa thử lại một lần với cùng refresh token, nếu Zalo từ chối thì \
                     quản trị viên OA phải uỷ quyền lại bằng `loa auth zalo --url`"
                ),
            ),
        },
        // Reads, and writes that are harmless to repeat (§6: "not found" after a remove means
        // done). Zalo sends no Retry-After, so the engine's backoff decides.
        ZaloCall::Verify
        | ZaloCall::List
        | ZaloCall::GetOa
        | ZaloCall::Detail
        | ZaloCall::Update
        | ZaloCall::Remove => transient(what),
    }
}

/// Try again after the engine's backoff.
fn transient(message: String) -> Outcome {
    Outcome::Transient {
        message,
        retry_after: None,
    }
}

/// The whole channel waits until `until`; the time is left out of the text because `until`
/// travels beside it and status shows it in local time.
fn rate_limited(message: String, until: DateTime<Utc>) -> Outcome {
    Outcome::RateLimited { message, until }
}

/// `-32`, HTTP 429 or `X-RateLimit-Remain: 0`: the per-minute limit, so a minute's pause.
fn per_minute_limit(said: String, now: DateTime<Utc>) -> Outcome {
    rate_limited(
        tr(
            format!(
                "Zalo is limiting requests, so loa pauses the Zalo channel for a minute: {said}"
            ),
            format!("Zalo đang giới hạn yêu cầu nên loa tạm dừng kênh Zalo một phút: {said}"),
        ),
        now + Duration::seconds(RATE_LIMIT_PAUSE_SECONDS),
    )
}

/// `-223` is two errors under one code (§6): "has not authorized this API" needs an admin's
/// consent; "reach the limit quota create article" waits for the monthly quota. When the words
/// say neither, consent is the documented meaning ([docs-err]) and, unlike a month's silent
/// pause, it puts the officer in front of Zalo's words at once.
fn not_authorized_or_quota(error: &ZaloError, said: &str, now: DateTime<Utc>, tz: Tz) -> Outcome {
    if error.says("quota") {
        rate_limited(
            tr(
                format!(
                    "the OA has used its monthly quota for new articles, so loa pauses the \
                     Zalo channel until the 1st of next month: {said}"
                ),
                format!(
                    "OA đã dùng hết hạn mức tạo bài viết trong tháng, nên loa tạm dừng kênh \
                     Zalo đến ngày 1 tháng sau: {said}"
                ),
            ),
            next_month(now, tz),
        )
    } else {
        let fix = reauth_command();
        Outcome::AuthExpired {
            message: tr(
                format!(
                    "the Zalo OA has not authorized loa's app for this API, so an OA admin \
                     must consent again: {said} — {fix}"
                ),
                format!(
                    "OA Zalo chưa uỷ quyền API này cho ứng dụng của loa, nên quản trị viên OA \
                     phải uỷ quyền lại: {said} — {fix}"
                ),
            ),
        }
    }
}

/// A refused refresh or code exchange (§6: "-14014 or any other refresh failure").
fn refresh_refused(said: &str) -> String {
    let fix = reauth_command();
    tr(
        format!(
            "Zalo refused loa's refresh token, and a refresh token cannot be reused, so an OA \
             admin must consent again: {said} — {fix}"
        ),
        format!(
            "Zalo từ chối refresh token của loa, và refresh token không dùng lại được, nên quản \
             trị viên OA phải uỷ quyền lại: {said} — {fix}"
        ),
    )
}

/// What to run to get a new token pair, in both languages.
fn reauth_command() -> &'static str {
    tr(
        "run `loa auth zalo --url` and follow it, then restart loa",
        "chạy `loa auth zalo --url` và làm theo hướng dẫn, rồi khởi động lại loa",
    )
}

/// Refused for good: Zalo's words, then what a person must do when §6 says (an OA admin or the
/// app's developer console, not loa, can fix these).
fn permanent(error: &ZaloError) -> Outcome {
    let said = error.officer_message();
    let message = match advice(error.code) {
        Some(advice) => format!("{said} — {advice}"),
        None => said,
    };
    Outcome::Permanent { message }
}

/// What the officer should do (or ask the OA admin to do) for a permanent refusal.
fn advice(code: i64) -> Option<&'static str> {
    let text = match code {
        INVALID_FIELD => tr(
            "Zalo rejected a field of the article (named above); this is a loa bug, please report it",
            "Zalo từ chối một trường của bài viết (nêu ở trên); đây là lỗi của loa, xin hãy báo lại",
        ),
        -204 => tr(
            "the Official Account is disabled: an OA admin must re-activate it at oa.zalo.me",
            "Official Account đang bị vô hiệu hoá: quản trị viên OA phải kích hoạt lại tại oa.zalo.me",
        ),
        -205 => tr(
            "Zalo cannot find the Official Account: an OA admin must check it at oa.zalo.me, \
             then consent again with `loa auth zalo --url`",
            "Zalo không tìm thấy Official Account: quản trị viên OA phải kiểm tra tại oa.zalo.me, \
             rồi uỷ quyền lại bằng `loa auth zalo --url`",
        ),
        -209 | -212 => tr(
            "the Zalo app is not set up for this API: the app's admin must enable it at \
             developers.zalo.me (articles need the \"quản lý bài viết\" permission), then \
             consent again with `loa auth zalo --url`",
            "ứng dụng Zalo chưa được cấu hình cho API này: quản trị viên ứng dụng phải bật tại \
             developers.zalo.me (bài viết cần quyền \"quản lý bài viết\"), rồi uỷ quyền lại bằng \
             `loa auth zalo --url`",
        ),
        -210 => tr(
            "a value is too long or a file too large; `loa check` lists Zalo's limits",
            "có giá trị quá dài hoặc tệp quá lớn; `loa check` nêu các giới hạn của Zalo",
        ),
        -221 => tr(
            "the Official Account must be verified first: an OA admin must complete the \
             verification at oa.zalo.me",
            "Official Account cần được xác thực trước: quản trị viên OA phải hoàn tất xác thực \
             tại oa.zalo.me",
        ),
        -224 => tr(
            "the OA's package does not allow this API (Basic cannot post articles): an OA admin \
             must upgrade the OA package at oa.zalo.me",
            "gói dịch vụ của OA không cho dùng API này (gói Cơ bản không đăng bài qua API được): \
             quản trị viên OA phải nâng cấp gói OA tại oa.zalo.me",
        ),
        -242 => tr(
            "Zalo rejected the appsecret_proof header; check LOA_ZALO_APP_SECRET",
            "Zalo từ chối header appsecret_proof; hãy kiểm tra LOA_ZALO_APP_SECRET",
        ),
        -248 => tr(
            "Zalo rejected the content under its platform standards; edit the post",
            "Zalo từ chối nội dung theo tiêu chuẩn nền tảng; hãy sửa bài",
        ),
        INVALID_APP_ID => tr(
            "check zalo.app_id in the config against developers.zalo.me, and that the app is activated",
            "kiểm tra zalo.app_id trong cấu hình so với developers.zalo.me, và ứng dụng đã được kích hoạt",
        ),
        INVALID_REDIRECT => tr(
            "the redirect URI must equal the \"Official Account Callback Url\" set for the app at \
             developers.zalo.me",
            "redirect URI phải trùng với \"Official Account Callback Url\" đặt cho ứng dụng tại \
             developers.zalo.me",
        ),
        _ => return None,
    };
    Some(text)
}

/// Whether Zalo's words say the thing asked for does not exist. No code for "article not found"
/// is documented, so a remove looks at the words; the OA codes (-204, -205) never get here.
fn says_missing(error: &ZaloError) -> bool {
    [
        "not found",
        "not exist",
        "no longer exist",
        "already removed",
        "already deleted",
        "has been removed",
        "has been deleted",
        "không tồn tại",
        // `-201 "id is invalid!"`: the id names no article (any more).
        "id is invalid",
    ]
    .into_iter()
    .any(|needle| error.says(needle))
}

/// The next 06:00 in `tz` strictly after `now`: the end of the broadcast night window (`-234`).
fn next_morning(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz);
    let morning = NaiveTime::from_hms_opt(MORNING_HOUR, 0, 0).unwrap_or(NaiveTime::MIN);
    let today = local.date_naive();
    let at = start_of(tz, today, morning);
    if at > now {
        at
    } else {
        start_of(tz, today.succ_opt().unwrap_or(today), morning)
    }
}

/// 00:00 on the 1st of the month after `now`'s month, both in `tz`: when the monthly article
/// quota (`-223`) is expected to renew (the reset time is uncertain, §6).
fn next_month(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    let (year, month) = if local.month() == 12 {
        (local.year() + 1, 1)
    } else {
        (local.year(), local.month() + 1)
    };
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(local);
    start_of(tz, first, NaiveTime::MIN)
}

/// The first instant at or after `time` on `date` in `tz`. A time that a DST jump skips does
/// not exist, so the first existing half hour after it is taken instead of failing.
fn start_of(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    (0..=6)
        .find_map(|step| {
            tz.from_local_datetime(&(naive + Duration::minutes(30 * step)))
                .earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&naive),
            |at| at.with_timezone(&Utc),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ZaloCall::{Broadcast, Create, Detail, GetOa, List, Remove, Token, Update, Verify};
    use chrono_tz::Asia::Ho_Chi_Minh;

    const ALL: [ZaloCall; 9] = [
        Create, Verify, Update, Remove, List, GetOa, Detail, Broadcast, Token,
    ];

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
    }

    /// An Open API error body as §6 and §8 show it.
    fn body(code: i64, message: &str) -> String {
        serde_json::json!({ "error": code, "message": message }).to_string()
    }

    fn class_name(classified: &Classified) -> &'static str {
        match classified {
            Classified::Outcome(outcome) => outcome.class(),
            Classified::Processing => "processing",
            Classified::RefreshToken => "refresh_token",
            Classified::CoverRejected => "cover_rejected",
            Classified::NotFound => "not_found",
        }
    }

    /// Parses `body` as the client would, then classifies it at `at`.
    fn run_at(call: ZaloCall, status: u16, body: &str, at: DateTime<Utc>) -> Classified {
        match parse_envelope(body) {
            Envelope::Err(error) => classify(call, status, Some(&error), at, Ho_Chi_Minh),
            Envelope::NotJson => classify(call, status, None, at, Ho_Chi_Minh),
            Envelope::Ok(data) => panic!("{body} parsed as success: {data}"),
        }
    }

    fn run(call: ZaloCall, status: u16, body: &str) -> Classified {
        run_at(call, status, body, now())
    }

    fn outcome(call: ZaloCall, status: u16, body: &str) -> Outcome {
        match run(call, status, body) {
            Classified::Outcome(outcome) => outcome,
            other => panic!("expected an outcome, got {other:?}"),
        }
    }

    fn until(call: ZaloCall, body: &str, at: DateTime<Utc>) -> DateTime<Utc> {
        match run_at(call, 200, body, at) {
            Classified::Outcome(Outcome::RateLimited { until, .. }) => until,
            other => panic!("expected rate_limited, got {other:?}"),
        }
    }

    /// A moment given in Ho Chi Minh City time.
    fn hcm(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Ho_Chi_Minh
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    type Row = (ZaloCall, u16, String, &'static str);

    /// One class for `call`, another for every other call.
    fn at_or(
        status: u16,
        body: String,
        call: ZaloCall,
        there: &'static str,
        elsewhere: &'static str,
    ) -> Vec<Row> {
        ALL.iter()
            .map(|&c| {
                (
                    c,
                    status,
                    body.clone(),
                    if c == call { there } else { elsewhere },
                )
            })
            .collect()
    }

    /// The same class at every call but the token call, where any refusal means re-auth.
    fn except_token(body: String, class: &'static str) -> Vec<Row> {
        at_or(200, body, Token, "auth_expired", class)
    }

    /// §6 "Transport failures", for a reply with no readable body.
    fn transport(status: u16, body: &str) -> Vec<Row> {
        ALL.iter()
            .map(|&c| {
                let class = match c {
                    Create | Broadcast | Token => "ambiguous",
                    Verify | List | GetOa | Detail | Update | Remove => "transient",
                };
                (c, status, body.to_string(), class)
            })
            .collect()
    }

    /// The §6 table, row by row, for every call it distinguishes.
    fn table() -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        // -32 pauses a minute, at the token endpoint too (a rate limit says nothing of the token).
        let limit = body(-32, "Your application (OA) reached limit call api");
        rows.extend(ALL.map(|c| (c, 200, limit.clone(), "rate_limited")));
        // -200: re-create with the default cover at verify, a retry elsewhere.
        let mut media = at_or(
            200,
            body(-200, "Upload media failed"),
            Verify,
            "cover_rejected",
            "transient",
        );
        media.retain(|row| row.0 != Token);
        rows.extend(media);
        rows.push((
            Token,
            200,
            body(-200, "Send message failed"),
            "auth_expired",
        ));
        // The permanent rows.
        for (code, message) in [
            (-201, "title is invalid!"),
            (-204, "Offical Account is disable"),
            (-205, "Offical Account is not exist"),
            (-209, "Not supported this api"),
            (-210, "Parameter exceeds allowable limit"),
            (-212, "App has not registed this api"),
            (-221, "Official Account needs to be verified"),
            (-224, "Official Account needs to upgrade OA Tier Package"),
            (-240, "MessageV2 API has been shut down"),
            (-242, "Invalid appsecret_proof"),
            (-248, "Violates our platform standards"),
            (-100, "Attachment expired"),
            (-213, "User has not followed the OA"),
            (
                -230,
                "User has not interacted with the OA in the last 7 days",
            ),
            (-232, "User has not interacted recently"),
            (-9_999, "Something new"),
        ] {
            rows.extend(except_token(body(code, message), "permanent"));
        }
        // -14002, -14003: a config mistake, also (and mostly) at the token endpoint.
        for (code, message) in [
            (-14_002, "Invalid app id"),
            (-14_003, "Invalid redirect uri"),
        ] {
            rows.extend(ALL.map(|c| (c, 200, body(code, message), "permanent")));
        }
        // -211: a day's pause.
        rows.extend(except_token(body(-211, "Out of quota"), "rate_limited"));
        // -214: poll again at verify; anywhere else a plain retry.
        let mut processing = at_or(
            200,
            body(-214, "Article is being processed"),
            Verify,
            "processing",
            "transient",
        );
        processing.retain(|row| row.0 != Token);
        rows.extend(processing);
        rows.push((
            Token,
            200,
            body(-214, "Article is being processed"),
            "auth_expired",
        ));
        // -216, -220: refresh and replay, except at the token call itself.
        rows.extend(except_token(
            body(-216, "Access token is invalid"),
            "refresh_token",
        ));
        rows.extend(except_token(
            body(-220, "access_token is expired or removed"),
            "refresh_token",
        ));
        // -223: the words decide.
        rows.extend(ALL.map(|c| {
            (
                c,
                200,
                body(-223, "Official Account has not authorized this API"),
                "auth_expired",
            )
        }));
        rows.extend(except_token(
            body(
                -223,
                "Official Account reach the limit quota create article",
            ),
            "rate_limited",
        ));
        // -234: wait for the morning.
        rows.extend(except_token(
            body(
                -234,
                "This message cannot be sent at night (10:00PM - 6:00AM)",
            ),
            "rate_limited",
        ));
        // OAuth refusals: terminal at the token call; elsewhere an unknown code.
        let oauth = r#"{"error":-14014,"error_name":"invalid_grant","error_reason":"invalid","error_description":"Invalid refresh token"}"#;
        rows.extend(at_or(200, oauth.into(), Token, "auth_expired", "permanent"));
        rows.push((Token, 200, body(-14_020, "Invalid code"), "auth_expired"));
        rows.push((
            Token,
            200,
            r#"{"error":"invalid_request"}"#.into(),
            "auth_expired",
        ));
        // HTTP 429 pauses, with or without a body.
        rows.extend(ALL.map(|c| (c, 429, String::new(), "rate_limited")));
        rows.extend(ALL.map(|c| (c, 429, body(-9_999, "slow down"), "rate_limited")));
        // An unknown code on a 5xx is a server failure: the transport table. A known code
        // decides whatever the status.
        rows.extend(transport(502, &body(-9_999, "Bad gateway")));
        rows.extend(
            except_token(body(-201, "title is invalid!"), "permanent")
                .into_iter()
                .map(|(c, _, b, class)| (c, 500, b, class)),
        );
        rows.extend(
            except_token(body(-216, "Access token is invalid"), "refresh_token")
                .into_iter()
                .map(|(c, _, b, class)| (c, 503, b, class)),
        );
        // Transport failures: no readable body, whatever the status.
        for (status, garbage) in [
            (500, ""),
            (502, "<html><body>502 Bad Gateway</body></html>"),
            (503, "Service Unavailable"),
            (504, "{"),
            (404, "<html>Not Found</html>"),
            (400, "[]"),
            (200, ""),
            (200, "garbage"),
            (200, "null"),
            (200, r#"{"success":false}"#),
            (200, r#"{"error":true}"#),
            (200, r#"{"error":{"code":-216}}"#),
            (200, r#"{"error":null}"#),
        ] {
            rows.extend(transport(status, garbage));
        }
        // A remove of an article that is not there is done; an OA that is not there is not.
        rows.extend(
            at_or(
                200,
                body(-201, "Article does not exist"),
                Remove,
                "not_found",
                "permanent",
            )
            .into_iter()
            .map(|(c, s, b, class)| (c, s, b, if c == Token { "auth_expired" } else { class })),
        );
        rows.push((Remove, 200, body(-9_998, "Media not found"), "not_found"));
        rows.push((
            Remove,
            200,
            body(-205, "Offical Account is not exist"),
            "permanent",
        ));
        // The sandbox (and, likely, Zalo) answers a remove of a gone article this way: done.
        rows.push((Remove, 200, body(-201, "id is invalid!"), "not_found"));
        rows
    }

    #[test]
    fn every_row_of_the_error_table() {
        let mut wrong = Vec::new();
        let rows = table();
        for (call, status, body, expected) in &rows {
            let got = class_name(&run(*call, *status, body));
            if got != *expected {
                wrong.push(format!(
                    "{call:?} {status} {body}: expected {expected}, got {got}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // Every code of §6 appears at every call.
        for code in [
            -32, -200, -201, -204, -205, -209, -210, -211, -212, -214, -216, -220, -221, -223,
            -224, -234, -240, -242, -248, -14_002, -14_003, -14_014, -100, -213, -230, -232,
        ] {
            for call in ALL {
                let tag = format!("\"error\":{code},");
                assert!(
                    rows.iter()
                        .any(|(c, _, b, _)| *c == call && b.contains(&tag)),
                    "{code} at {call:?} is missing from the table"
                );
            }
        }
    }

    #[test]
    fn pauses_last_as_long_as_section_6_says() {
        let limit = body(-32, "Your application reached limit call api");
        assert_eq!(until(Create, &limit, now()), now() + Duration::seconds(60));
        assert_eq!(until(Token, &limit, now()), now() + Duration::seconds(60));
        let Classified::Outcome(Outcome::RateLimited { until: at, .. }) = run(List, 429, "") else {
            panic!("expected rate_limited");
        };
        assert_eq!(at, now() + Duration::seconds(60));
        assert_eq!(
            until(Create, &body(-211, "Out of quota"), now()),
            now() + Duration::hours(24)
        );
    }

    #[test]
    fn night_broadcasts_wait_for_six_in_the_morning() {
        let night = body(
            -234,
            "This message cannot be sent at night (10:00PM - 6:00AM)",
        );
        // Late evening: the next morning.
        assert_eq!(
            until(Broadcast, &night, hcm(2026, 12, 1, 23, 30)),
            hcm(2026, 12, 2, 6, 0)
        );
        // Small hours: the same morning, which is the previous day in UTC.
        let small_hours = hcm(2026, 12, 2, 3, 0);
        assert_eq!(
            small_hours.date_naive(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            until(Broadcast, &night, small_hours),
            hcm(2026, 12, 2, 6, 0)
        );
        // At the stroke of six Zalo still said night: the next 06:00 is strictly later.
        assert_eq!(
            until(Broadcast, &night, hcm(2026, 12, 2, 6, 0)),
            hcm(2026, 12, 3, 6, 0)
        );
        // New Year's Eve rolls over the year.
        assert_eq!(
            until(Broadcast, &night, hcm(2026, 12, 31, 22, 15)),
            hcm(2027, 1, 1, 6, 0)
        );
        let Outcome::RateLimited { message, .. } = outcome(Broadcast, 200, &night) else {
            panic!("expected rate_limited");
        };
        assert!(message.contains("06:00"), "{message}");
        assert!(message.contains("(error -234)"), "{message}");
    }

    #[test]
    fn the_article_quota_waits_for_the_first_of_next_month() {
        let quota = body(
            -223,
            "Official Account reach the limit quota create article",
        );
        assert_eq!(
            until(Create, &quota, hcm(2026, 11, 14, 9, 0)),
            hcm(2026, 12, 1, 0, 0)
        );
        // December rolls over into January of the next year.
        assert_eq!(
            until(Create, &quota, hcm(2026, 12, 15, 10, 0)),
            hcm(2027, 1, 1, 0, 0)
        );
        assert_eq!(
            hcm(2027, 1, 1, 0, 0),
            Utc.with_ymd_and_hms(2026, 12, 31, 17, 0, 0).unwrap()
        );
        // The local month counts, not UTC's: 17:30 UTC on 30 Nov is already 1 Dec in Vietnam.
        assert_eq!(
            until(
                Create,
                &quota,
                Utc.with_ymd_and_hms(2026, 11, 30, 17, 30, 0).unwrap()
            ),
            hcm(2027, 1, 1, 0, 0)
        );
        // And 1 Jan 01:00 local is still 31 Dec in UTC: the next reset is February's.
        assert_eq!(
            until(Create, &quota, hcm(2027, 1, 1, 1, 0)),
            hcm(2027, 2, 1, 0, 0)
        );
        let Outcome::RateLimited { message, .. } = outcome(Create, 200, &quota) else {
            panic!("expected rate_limited");
        };
        assert!(message.contains("limit quota create article"), "{message}");
        assert!(message.contains("(error -223)"), "{message}");
    }

    #[test]
    fn the_two_faces_of_223() {
        let consent = body(-223, "Official Account has not authorized this API");
        let Outcome::AuthExpired { message } = outcome(Create, 200, &consent) else {
            panic!("expected auth_expired");
        };
        assert!(message.contains("has not authorized this API"), "{message}");
        assert!(message.contains("(error -223)"), "{message}");
        assert!(message.contains("loa auth zalo --url"), "{message}");
        // "Unauthorized" is the same meaning; no words at all default to consent, not a month's
        // silent pause.
        for words in ["App is unauthorized for this API", ""] {
            assert_eq!(
                outcome(Update, 200, &body(-223, words)).class(),
                "auth_expired",
                "{words}"
            );
        }
        let quota = body(-223, "OA reach the LIMIT QUOTA create article");
        assert_eq!(outcome(Create, 200, &quota).class(), "rate_limited");
    }

    #[test]
    fn section_8_bodies_verbatim() {
        // Success replies.
        let created = r#"{"error":0,"message":"Success","data":{"token":"tk_01"}}"#;
        assert_eq!(
            parse_envelope(created),
            Envelope::Ok(serde_json::json!({"token":"tk_01"}))
        );
        let verified = r#"{"error":0,"message":"Success","data":{"id":"8f1c2a0e5b"}}"#;
        assert_eq!(
            parse_envelope(verified),
            Envelope::Ok(serde_json::json!({"id":"8f1c2a0e5b"}))
        );
        let slice = r#"{"error":0,"message":"Success","data":{"total":1,"medias":[{"id":"8f1c2a0e5b","type":"normal",
      "title":"Chuyển đổi số là gì?","status":"show","total_view":300,"total_share":4,"create_date":1796083200000}]}}"#;
        let Envelope::Ok(data) = parse_envelope(slice) else {
            panic!("getslice did not parse");
        };
        assert_eq!(data["medias"][0]["title"], "Chuyển đổi số là gì?");
        let sent = r#"{"error":0,"message":"Success","data":{"message_id":"b7d0…"}}"#;
        assert_eq!(
            parse_envelope(sent),
            Envelope::Ok(serde_json::json!({"message_id":"b7d0…"}))
        );
        let removed = r#"{"error":0,"message":"Success"}"#;
        assert_eq!(parse_envelope(removed), Envelope::Ok(Value::Null));
        // The token reply has no envelope: the OAuth module reads it itself.
        let token = r#"{"access_token":"AT2","refresh_token":"RT2","expires_in":"90000"}"#;
        assert_eq!(parse_envelope(token), Envelope::NotJson);

        // Failures.
        let reused = r#"{"error":-14014,"error_name":"…","error_reason":"…","error_description":"Invalid refresh token"}"#;
        assert_eq!(
            parse_envelope(reused),
            Envelope::Err(ZaloError {
                code: -14_014,
                message: "Invalid refresh token".into()
            })
        );
        let Outcome::AuthExpired { message } = outcome(Token, 200, reused) else {
            panic!("expected auth_expired");
        };
        assert!(
            message.contains("Invalid refresh token (error -14014)"),
            "{message}"
        );
        assert!(message.contains("loa auth zalo --url"), "{message}");

        let processing = r#"{"error":-214,"message":"Article is being processed"}"#;
        assert_eq!(run(Verify, 200, processing), Classified::Processing);

        let expired = r#"{"error":-216,"message":"Access token is invalid"}"#;
        for call in [
            Create, Verify, Update, Remove, List, GetOa, Detail, Broadcast,
        ] {
            assert_eq!(
                run(call, 200, expired),
                Classified::RefreshToken,
                "{call:?}"
            );
        }

        let limit = r#"{"error":-32,"message":"Your application reached limit call api"}"#;
        let Outcome::RateLimited { message, until } = outcome(Create, 200, limit) else {
            panic!("expected rate_limited");
        };
        assert_eq!(until, now() + Duration::seconds(60));
        assert!(
            message.contains("Your application reached limit call api (error -32)"),
            "{message}"
        );
        // The same reply's header, `X-RateLimit-Remain: 0`, asks for the same pause.
        assert_eq!(
            rate_limit_remain_pause(Some("0"), now()),
            Some(now() + Duration::seconds(60))
        );
    }

    #[test]
    fn codes_may_come_as_numeric_strings() {
        let cases = [
            (
                r#"{"error":"-216","message":"Access token is invalid"}"#,
                -216,
            ),
            (r#"{"error":" -32 ","message":"limit"}"#, -32),
            (r#"{"error":-214.0,"message":"processing"}"#, -214),
            (
                r#"{"error":"-14014","error_description":"Invalid refresh token"}"#,
                -14_014,
            ),
        ];
        for (text, code) in cases {
            let Envelope::Err(error) = parse_envelope(text) else {
                panic!("{text} did not parse as an error");
            };
            assert_eq!(error.code, code, "{text}");
        }
        assert_eq!(
            run(
                Verify,
                200,
                r#"{"error":"-214","message":"Article is being processed"}"#
            ),
            Classified::Processing
        );
        assert_eq!(
            parse_envelope(r#"{"error":"0","message":"Success","data":{"id":"1"}}"#),
            Envelope::Ok(serde_json::json!({"id":"1"}))
        );
        // No `error`, but data: a success all the same.
        assert_eq!(
            parse_envelope(r#"{"data":{"id":"2"}}"#),
            Envelope::Ok(serde_json::json!({"id":"2"}))
        );
    }

    #[test]
    fn garbage_bodies_are_not_envelopes() {
        for junk in [
            "",
            "   ",
            "garbage",
            "<html><body>502 Bad Gateway</body></html>",
            "{",
            "[]",
            "null",
            "-216",
            r#""error""#,
            r#"{"success":false}"#,
            r#"{"error":null}"#,
            r#"{"error":true}"#,
            r#"{"error":[-216]}"#,
            r#"{"error":{"code":-216}}"#,
            r#"{"error":""}"#,
            r#"{"error":" "}"#,
        ] {
            assert_eq!(parse_envelope(junk), Envelope::NotJson, "{junk}");
        }
    }

    #[test]
    fn oauth_words_are_picked_in_order() {
        let only_reason = r#"{"error":-14003,"error_name":"invalid_redirect","error_reason":"Invalid redirect uri"}"#;
        let Envelope::Err(error) = parse_envelope(only_reason) else {
            panic!("expected an error");
        };
        assert_eq!(error.message, "Invalid redirect uri");
        let only_name = r#"{"error":-14002,"error_name":"invalid_app_id"}"#;
        let Envelope::Err(error) = parse_envelope(only_name) else {
            panic!("expected an error");
        };
        assert_eq!(error.message, "invalid_app_id");
        let named = r#"{"error":"invalid_request","error_description":"Missing code"}"#;
        assert_eq!(
            parse_envelope(named),
            Envelope::Err(ZaloError {
                code: 0,
                message: "Missing code".into()
            })
        );
    }

    #[test]
    fn officer_messages_keep_zalos_words_and_the_code() {
        let bare = ZaloError {
            code: -216,
            message: String::new(),
        };
        let message = bare.officer_message();
        assert_eq!(message, "Zalo gave no explanation (error -216)");
        assert_eq!(bare.to_string(), message);
        for call in ALL {
            for text in [
                body(-201, "title is invalid!"),
                body(-9_999, ""),
                r#"{"error":-248}"#.to_string(),
            ] {
                let Classified::Outcome(outcome) = run(call, 200, &text) else {
                    continue;
                };
                let message = outcome.message().unwrap_or_default().to_string();
                assert!(message.contains("(error -"), "{call:?} {text}: {message}");
                assert!(
                    !message.to_lowercase().contains("unknown error"),
                    "{message}"
                );
            }
        }
        assert_eq!(
            outcome(Create, 200, &body(-201, "title is invalid!")),
            Outcome::Permanent {
                message: "title is invalid! (error -201) — Zalo rejected a field of the \
                          article (named above); this is a loa bug, please report it"
                    .into()
            }
        );
        assert_eq!(
            outcome(Create, 200, &body(-9_999, "Something new")),
            Outcome::Permanent {
                message: "Something new (error -9999)".into()
            }
        );
    }

    #[test]
    fn admin_rows_say_what_the_oa_admin_must_do() {
        for (code, message, hint) in [
            (-204, "Offical Account is disable", "re-activate"),
            (-205, "Offical Account is not exist", "oa.zalo.me"),
            (-209, "Not supported this api", "developers.zalo.me"),
            (-212, "App has not registed this api", "quản lý bài viết"),
            (
                -221,
                "Official Account needs to be verified",
                "verification",
            ),
            (
                -224,
                "Official Account needs to upgrade OA Tier Package",
                "upgrade the OA package",
            ),
        ] {
            let Outcome::Permanent { message: text } = outcome(Create, 200, &body(code, message))
            else {
                panic!("{code}: expected permanent");
            };
            assert!(text.starts_with(message), "{text}");
            assert!(text.contains(&format!("(error {code})")), "{text}");
            assert!(
                text.contains("OA admin") || text.contains("app's admin"),
                "{text}"
            );
            assert!(text.contains(hint), "{text}");
        }
    }

    #[test]
    fn a_second_token_refusal_is_terminal() {
        let error = ZaloError {
            code: -216,
            message: "Access token is invalid".into(),
        };
        let Outcome::AuthExpired { message } = after_refresh(&error) else {
            panic!("expected auth_expired");
        };
        assert!(
            message.contains("Access token is invalid (error -216)"),
            "{message}"
        );
        assert!(message.contains("loa auth zalo --url"), "{message}");
        let Outcome::AuthExpired { message } = outcome(
            Token,
            200,
            &body(-220, "access_token is expired or removed"),
        ) else {
            panic!("expected auth_expired");
        };
        assert!(message.contains("loa auth zalo --url"), "{message}");
    }

    #[test]
    fn transport_failures_follow_the_call_and_hide_tokens() {
        let what = "error sending request for url (https://openapi.zalo.me/v2.0/article/getslice?access_token=AT2secret&offset=0): operation timed out";
        for call in ALL {
            let outcome = transport_failure(call, what);
            let expected = match call {
                Create | Broadcast | Token => "ambiguous",
                Verify | List | GetOa | Detail | Update | Remove => "transient",
            };
            assert_eq!(outcome.class(), expected, "{call:?}");
            // The wording and the hiding are the platform edge's (`platform::transport`).
            let message = outcome.message().unwrap_or_default();
            let hidden = message.contains("access_token=[hidden]&offset=0");
            assert!(hidden && !message.contains("AT2secret"), "{message}");
        }
        let Outcome::Ambiguous { message } = transport_failure(Broadcast, "connection reset")
        else {
            panic!("expected ambiguous");
        };
        assert!(message.contains("never sends it again"), "{message}");
        let Outcome::Ambiguous { message } = transport_failure(Token, "connection reset") else {
            panic!("expected ambiguous");
        };
        assert!(message.contains("same refresh token"), "{message}");
        assert_eq!(
            transport_failure(Update, "reset"),
            Outcome::Transient {
                message: "no answer from Zalo: reset".into(),
                retry_after: None
            }
        );
    }

    #[test]
    fn the_remain_header_pauses_only_at_zero() {
        let pause = Some(now() + Duration::seconds(60));
        assert_eq!(rate_limit_remain_pause(Some("0"), now()), pause);
        assert_eq!(rate_limit_remain_pause(Some(" 0 "), now()), pause);
        assert_eq!(rate_limit_remain_pause(Some("-1"), now()), pause);
        assert_eq!(rate_limit_remain_pause(Some("1"), now()), None);
        assert_eq!(rate_limit_remain_pause(Some("3999"), now()), None);
        assert_eq!(rate_limit_remain_pause(Some("soon"), now()), None);
        assert_eq!(rate_limit_remain_pause(Some(""), now()), None);
        assert_eq!(rate_limit_remain_pause(None, now()), None);
    }

    #[test]
    fn redaction_hides_only_secrets() {
        assert_eq!(
            scrub("POST refresh_token=RT1&app_id=1 secret_key: s3cret code_verifier=abc"),
            "POST refresh_token=[hidden]&app_id=1 secret_key: [hidden] code_verifier=[hidden]"
        );
        let plain = "Chuyển đổi số: access_token= (empty)";
        assert_eq!(scrub(plain), plain);
    }
}
