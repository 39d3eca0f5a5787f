//! Graph API errors: reading the `{"error":{…}}` body and sorting it into loa's outcome classes
//! (`shared/api/facebook-graph.md` §6).
//!
//! Every Facebook answer that is not a success goes through [`classify`], so "retry?", "pause
//! the channel?" and "ask the officer for a new token?" are decided in this one tested place.
//! It branches on `code`/`error_subcode`, not on the HTTP status, as the reference asks; the
//! status only decides when Facebook sent no code loa knows.
//!
//! The one rule that shapes the rest: **a publish POST is never blind-retried.** Facebook can
//! create the post and still answer with an error or nothing at all, so every "maybe" on a
//! publish becomes [`Outcome::Ambiguous`] and the engine reconciles before sending it again.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::facebook::usage::DEFAULT_PAUSE_MINUTES;
use crate::i18n::tr;
use crate::platform::json::{integer, text_field};
use crate::platform::redact::scrub;
use crate::platform::transport::{bare_answer, no_answer};
use crate::publisher::Outcome;

/// One Graph API error, as Facebook described it. Fields Facebook left out are `None` (or 0 /
/// empty), so nothing here fails on a partial body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphError {
    /// `error.code`; 0 when Facebook sent none (no code of its own is 0).
    pub code: i64,
    /// `error.error_subcode`, which often says more than the code.
    pub subcode: Option<i64>,
    /// `error.message`: Facebook's technical text, e.g. "(#506) Duplicate status message".
    pub message: String,
    /// `error.type`, e.g. "OAuthException".
    pub error_type: Option<String>,
    /// `error.error_user_title`: the heading Facebook wrote for a person to read.
    pub user_title: Option<String>,
    /// `error.error_user_msg`: Facebook's explanation for a person, kept as `last_error`.
    pub user_msg: Option<String>,
    /// `error.is_transient`: Facebook's own hint that the same call may succeed later.
    pub is_transient: bool,
    /// `error.fbtrace_id`: the id Facebook support asks for; log it with the error.
    pub fbtrace_id: Option<String>,
}

/// Reads a Graph error body, `{"error":{"message","type","code","error_subcode",…}}`.
///
/// Returns `None` when `body` is not JSON or has no `error` (a 5xx page from a proxy, a
/// `{"success":false}`): the caller then classifies on the HTTP status alone. Codes may come as
/// numbers or as strings; any missing field is left empty rather than failing.
pub fn parse_error(body: &str) -> Option<GraphError> {
    let value: Value = serde_json::from_str(body.trim()).ok()?;
    error_of(&value)
}

/// [`parse_error`] for a body already read as JSON: the one Graph error reader, used by the
/// client and by the token calls of [`crate::facebook::auth`].
pub fn error_of(value: &Value) -> Option<GraphError> {
    match value.get("error")? {
        Value::Object(error) => Some(from_object(error)),
        // Not the Graph shape, but some OAuth endpoints answer `{"error":"…"}`: keep the words.
        Value::String(message) => Some(GraphError {
            message: message.trim().to_string(),
            ..GraphError::default()
        }),
        _ => None,
    }
}

/// Builds a [`GraphError`] from the `error` object, field by field.
fn from_object(error: &Map<String, Value>) -> GraphError {
    let text = |key: &str| error.get(key).and_then(text_field);
    GraphError {
        code: error.get("code").and_then(integer).unwrap_or(0),
        subcode: error.get("error_subcode").and_then(integer),
        message: text("message").unwrap_or_default(),
        error_type: text("type"),
        user_title: text("error_user_title"),
        user_msg: text("error_user_msg"),
        is_transient: error.get("is_transient").is_some_and(truthy),
        fbtrace_id: text("fbtrace_id"),
    }
}

/// `true`, `"true"` or `1`: `is_transient` is a boolean in the docs, but tolerance is cheap.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

impl GraphError {
    /// Facebook's own words for the officer, e.g.
    /// "Duplicate Post: These photos were already posted. — Invalid parameter (#100/1366051)".
    ///
    /// The person-facing `error_user_title`/`error_user_msg` come first because they say what
    /// to change; the technical `message` follows because it is what a search or Facebook
    /// support recognises; the `(#code/subcode)` tag makes the case findable in the reference.
    /// loa never replaces Facebook's words with a vaguer "unknown error". Any token in the text
    /// is hidden, because this string is stored and shown.
    pub fn officer_message(&self) -> String {
        let user = match (&self.user_title, &self.user_msg) {
            (Some(title), Some(msg)) => Some(format!("{title}: {msg}")),
            (Some(only), None) | (None, Some(only)) => Some(only.clone()),
            (None, None) => None,
        };
        let message = self.message.trim();
        let mut parts: Vec<String> = user.into_iter().collect();
        if !message.is_empty() && !parts.iter().any(|p| p.contains(message)) {
            parts.push(message.to_string());
        }
        let mut text = if parts.is_empty() {
            tr("Facebook gave no explanation", "Facebook không nêu lý do").to_string()
        } else {
            parts.join(" — ")
        };
        if let Some(tag) = self.code_tag(message) {
            text.push(' ');
            text.push_str(&tag);
        }
        scrub(&text)
    }

    /// `(#code/subcode)`, or `(#code)`; left out when the message already starts with exactly
    /// that tag (Facebook's "(#506) Duplicate status message"), so it is not printed twice.
    fn code_tag(&self, message: &str) -> Option<String> {
        match self.subcode {
            Some(subcode) => Some(format!("(#{}/{subcode})", self.code)),
            None if self.code == 0 => None,
            None => {
                let tag = format!("(#{})", self.code);
                (!message.contains(&tag)).then_some(tag)
            }
        }
    }

    /// What is wrong with the token, if this error is about the token: the same rows of §6
    /// that [`classify`] turns into [`Outcome::AuthExpired`], so the token calls and the
    /// publishing client never disagree about which errors need the officer.
    pub fn token_trouble(&self) -> Option<TokenTrouble> {
        // Token calls are reads; the kind of call only matters for rows that are not the token's.
        match rule_for(CallKind::Read, self)? {
            Rule::TokenDead => Some(TokenTrouble::Dead),
            Rule::PermissionMissing => Some(TokenTrouble::PermissionMissing),
            Rule::HumanAction => Some(TokenTrouble::HumanAction),
            _ => None,
        }
    }

    /// The code and the subcode, for rules that Facebook applies to either: some numbers of
    /// §6 (1609005, 1366046, …) are listed as codes in one source and as subcodes in another.
    fn is_any(&self, numbers: &[i64]) -> bool {
        numbers.contains(&self.code) || self.subcode.is_some_and(|s| numbers.contains(&s))
    }

    /// Whether Facebook's text (technical or for people) contains `needle`, ignoring case.
    fn says(&self, needle: &str) -> bool {
        [Some(&self.message), self.user_msg.as_ref()]
            .into_iter()
            .flatten()
            .any(|text| text.to_lowercase().contains(needle))
    }
}

/// Why Facebook refuses the token: the three token rows of §6. Each needs the officer, and
/// waiting does not help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenTrouble {
    /// 102, 190 (subcodes 458, 459, 460, 463, 464, 467, 492): invalid or expired, password
    /// changed, app removed, Page role lost. A new token is needed.
    Dead,
    /// 10, 200–299: a permission is missing or was removed. Re-authorise with it.
    PermissionMissing,
    /// Subcodes 1404078, 4854002, 1404112: a person must act on facebook.com; the token itself
    /// may be fine.
    HumanAction,
}

/// Which kind of Graph call failed: the same error means different things for a call that may
/// have created a post and for one that cannot have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// A call that can create a visible post: `POST /{page-id}/feed`, or `/photos` without
    /// `published=false`. Never blind-retried.
    PublishPost,
    /// `POST /{page-id}/photos` with `published=false`: not a post, so safe to retry.
    UnpublishedUpload,
    /// `POST /{post-id}`: edits an existing post; repeating it is harmless.
    Update,
    /// `DELETE /{post-id}`.
    Delete,
    /// Any GET: listings (reconciliation), insights, node fields, `debug_token`.
    Read,
}

/// What a failed Graph call means for loa.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// One of the engine's outcome classes.
    Outcome(Outcome),
    /// DELETE of a post that does not exist (code 100, subcode 33): the unpublish is done.
    AlreadyGone,
    /// An insights read refused with "(#100) The value must be a valid insights metric": the
    /// metric is retired (§5), so move to its fallback; it is not a failure.
    MetricRetired,
}

/// Sorts one failed Graph call into loa's classes, following every row of §6.
///
/// - `http_status`: the reply's status (for a batch item, the item's `code`).
/// - `error`: the parsed body, `None` when there was no readable one.
/// - `regain`: when the usage headers of this reply say the block ends (computed by the caller,
///   e.g. with [`crate::facebook::usage::pause_until`]); rate limits wait until then, or one
///   hour when Facebook gave no figure.
///
/// Subcode rules are checked before code rules: the subcode is the more precise of the two
/// (368 + 1404102 is abusive content, not a temporary block).
pub fn classify(
    kind: CallKind,
    http_status: u16,
    error: Option<&GraphError>,
    now: DateTime<Utc>,
    regain: Option<DateTime<Utc>>,
) -> Classified {
    let Some(error) = error else {
        return Classified::Outcome(without_body(kind, http_status, now, regain));
    };
    let outcome = match rule_for(kind, error) {
        Some(Rule::AlreadyGone) => return Classified::AlreadyGone,
        Some(Rule::MetricRetired) => return Classified::MetricRetired,
        Some(rule) => apply(rule, kind, error, now, regain),
        None => unknown_code(kind, http_status, error, now, regain),
    };
    Classified::Outcome(outcome)
}

/// What happened when no answer came at all (timeout, connection reset, no response): for a
/// publish POST the post may exist, so it is reconciled; anything else is simply retried.
/// `what` is the transport's description; tokens in it (a URL with `access_token=`) are hidden.
pub fn transport_failure(kind: CallKind, what: &str) -> Outcome {
    maybe_done(kind, no_answer("Facebook", what))
}

/// Code 1 ("unknown error"), 2 (temporary downtime): passing failures.
const TRANSIENT_CODES: &[i64] = &[1, 2];
/// "Service temporarily unavailable" subcodes.
const TRANSIENT_SUBCODES: &[i64] = &[1_363_047, 1_609_010];
/// App (4), user (17), Page (32), custom (613) and application (341) rate limits; the Business
/// Use Case range 80000–80014 is checked separately.
const RATE_LIMIT_CODES: &[i64] = &[4, 17, 32, 613, 341];
/// Business Use Case rate limits (80001 = Pages).
const BUC_RATE_LIMIT_CODES: std::ops::RangeInclusive<i64> = 80_000..=80_014;
/// "We limit how often you can post" (with code 368).
const POSTING_LIMIT_SUBCODE: i64 = 1_390_008;
/// Temporarily blocked for policy reasons; "already posted" is a duplicate refusal under it.
const POLICY_BLOCK_CODE: i64 = 368;
/// "Duplicate status message".
const DUPLICATE_CODE: i64 = 506;
/// "These photos were already posted".
const DUPLICATE_SUBCODE: i64 = 1_366_051;
/// Token invalid or expired (102: session key; 190: access token, with subcodes 458, 459, 460,
/// 463, 464, 467, 492 saying why).
const TOKEN_CODES: &[i64] = &[102, 190];
/// Permission missing or removed: 10, and the whole 200–299 range.
const PERMISSION_CODE: i64 = 10;
/// The range of permission codes.
const PERMISSION_CODES: std::ops::RangeInclusive<i64> = 200..=299;
/// Publishing authorisation, identity confirmation, account limited: a person must act on
/// facebook.com; no token fixes them.
const HUMAN_ACTION_SUBCODES: &[i64] = &[1_404_078, 4_854_002, 1_404_112];
/// Invalid parameter.
const INVALID_PARAMETER_CODE: i64 = 100;
/// With code 100: the object does not exist (deleted, or never existed).
const OBJECT_MISSING_SUBCODE: i64 = 33;
/// Capability missing (3), empty post (197).
const PERMANENT_CODES: &[i64] = &[3, 197];
/// Link not fetchable (1609005); facebook.com link or bad URL (1609008, 2061006); abusive or
/// against the Community Standards (1346003, 1404102); photo too large or wrong type (1366046).
const PERMANENT_SUBCODES: &[i64] = &[
    1_609_005, 1_609_008, 2_061_006, 1_346_003, 1_404_102, 1_366_046,
];

/// The rows of §6, once the kind of call is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// Retry (or reconcile, for a publish).
    Transient,
    /// Pause the channel until the usage headers say, else one hour.
    RateLimited,
    /// Pause the channel one hour (or longer if the headers say so): Facebook gives no figure.
    Blocked,
    /// A duplicate refusal: the post may already be there.
    Duplicate,
    /// The token is dead: a new one is needed.
    TokenDead,
    /// The token lacks a permission: re-authorise with it.
    PermissionMissing,
    /// A person must act on facebook.com.
    HumanAction,
    /// Refused for good.
    Permanent,
    /// An update of a post that no longer exists.
    PostGone,
    /// A delete of a post that no longer exists.
    AlreadyGone,
    /// An insights read of a retired metric.
    MetricRetired,
}

/// Finds the §6 row for `error`, or `None` when loa does not know the code.
///
/// `is_transient` is consulted last: Facebook also sets it on rate-limit errors, where retrying
/// at once would extend the block, so a known code always decides first.
fn rule_for(kind: CallKind, error: &GraphError) -> Option<Rule> {
    special_100(kind, error)
        .or_else(|| by_subcode(error))
        .or_else(|| by_code(error))
        .or_else(|| error.is_transient.then_some(Rule::Transient))
}

/// The cases of code 100 that are not plain "invalid parameter".
fn special_100(kind: CallKind, error: &GraphError) -> Option<Rule> {
    if error.code != INVALID_PARAMETER_CODE {
        return None;
    }
    match kind {
        CallKind::Delete if error.subcode == Some(OBJECT_MISSING_SUBCODE) => {
            Some(Rule::AlreadyGone)
        }
        // The edited post is gone (deleted on facebook.com): there is nothing to update, and no
        // retry can change that, so it fails for good with a message saying so.
        CallKind::Update if error.subcode == Some(OBJECT_MISSING_SUBCODE) => Some(Rule::PostGone),
        CallKind::Read if error.says("valid insights metric") => Some(Rule::MetricRetired),
        // A Read of a missing object (a post's metrics after it was deleted) stays Permanent:
        // the metrics collector stops collecting for that post, as §6 asks.
        _ => None,
    }
}

/// The rows decided by the subcode, which take precedence over the code.
fn by_subcode(error: &GraphError) -> Option<Rule> {
    if error.is_any(HUMAN_ACTION_SUBCODES) {
        Some(Rule::HumanAction)
    } else if error.is_any(&[POSTING_LIMIT_SUBCODE]) {
        Some(Rule::Blocked)
    } else if error.is_any(&[DUPLICATE_SUBCODE]) {
        Some(Rule::Duplicate)
    } else if error.is_any(PERMANENT_SUBCODES) {
        Some(Rule::Permanent)
    } else if error.is_any(TRANSIENT_SUBCODES) {
        Some(Rule::Transient)
    } else {
        None
    }
}

/// The rows decided by the code alone.
fn by_code(error: &GraphError) -> Option<Rule> {
    let code = error.code;
    if TRANSIENT_CODES.contains(&code) {
        Some(Rule::Transient)
    } else if RATE_LIMIT_CODES.contains(&code) || BUC_RATE_LIMIT_CODES.contains(&code) {
        Some(Rule::RateLimited)
    } else if code == POLICY_BLOCK_CODE && error.says("already posted") {
        Some(Rule::Duplicate)
    } else if code == POLICY_BLOCK_CODE {
        Some(Rule::Blocked)
    } else if code == DUPLICATE_CODE {
        Some(Rule::Duplicate)
    } else if TOKEN_CODES.contains(&code) {
        Some(Rule::TokenDead)
    } else if code == PERMISSION_CODE || PERMISSION_CODES.contains(&code) {
        Some(Rule::PermissionMissing)
    } else if code == INVALID_PARAMETER_CODE || PERMANENT_CODES.contains(&code) {
        Some(Rule::Permanent)
    } else {
        None
    }
}

/// Turns a §6 row into the engine's outcome, with a message that says what happens next.
fn apply(
    rule: Rule,
    kind: CallKind,
    error: &GraphError,
    now: DateTime<Utc>,
    regain: Option<DateTime<Utc>>,
) -> Outcome {
    let said = error.officer_message();
    match rule {
        Rule::Transient => maybe_done(kind, said),
        Rule::RateLimited => rate_limited(said, rate_limit_until(now, regain)),
        Rule::Blocked => rate_limited(said, blocked_until(now, regain)),
        Rule::Duplicate if kind == CallKind::PublishPost => Outcome::Ambiguous {
            message: tr(
                format!(
                    "Facebook refused this as a duplicate, so it may already be on the Page; \
                     loa checks the Page before anything else: {said}"
                ),
                format!(
                    "Facebook từ chối vì trùng lặp, có thể bài đã có trên Trang; \
                     loa kiểm tra Trang trước khi làm gì khác: {said}"
                ),
            ),
        },
        Rule::Duplicate | Rule::Permanent => Outcome::Permanent { message: said },
        Rule::PostGone => Outcome::Permanent {
            message: tr(
                format!(
                    "the post no longer exists on Facebook (deleted on facebook.com?), \
                     so it cannot be updated: {said}"
                ),
                format!(
                    "bài không còn trên Facebook (đã bị xoá trên facebook.com?), \
                     nên không cập nhật được: {said}"
                ),
            ),
        },
        Rule::TokenDead => auth_expired(token_dead(error, &said)),
        Rule::PermissionMissing => auth_expired(permission_missing(&said)),
        Rule::HumanAction => auth_expired(human_action(&said)),
        // Handled by `classify` before an outcome is built; kept total rather than panicking.
        Rule::AlreadyGone | Rule::MetricRetired => Outcome::Permanent { message: said },
    }
}

/// A code loa does not know: the HTTP status decides, as the last rows of §6 say.
fn unknown_code(
    kind: CallKind,
    http_status: u16,
    error: &GraphError,
    now: DateTime<Utc>,
    regain: Option<DateTime<Utc>>,
) -> Outcome {
    let said = error.officer_message();
    match http_status {
        429 => rate_limited(said, rate_limit_until(now, regain)),
        // A server error with an unknown code: Facebook failed mid-way, which on a publish may
        // still have created the post.
        408 | 500..=599 => maybe_done(kind, said),
        _ => Outcome::Permanent { message: said },
    }
}

/// A failed reply with no readable error body.
fn without_body(
    kind: CallKind,
    http_status: u16,
    now: DateTime<Utc>,
    regain: Option<DateTime<Utc>>,
) -> Outcome {
    let bare = bare_answer("Facebook", http_status);
    match http_status {
        429 => rate_limited(bare, rate_limit_until(now, regain)),
        // 408 is a timeout under another name: treat it like one (§6 "timeout").
        408 | 500..=599 => maybe_done(kind, bare),
        // A success status whose body the caller could not use (no id, `success:false`):
        // Facebook accepted the call, so a publish may have gone through.
        200..=299 => maybe_done(kind, bare),
        _ => Outcome::Permanent {
            message: tr(
                format!("Facebook refused the request (HTTP {http_status}) without saying why"),
                format!("Facebook từ chối yêu cầu (HTTP {http_status}) mà không nêu lý do"),
            ),
        },
    }
}

/// A failure that may be retried, except on a publish POST, where the post may exist and must
/// be looked for first (§4: "Never blind-retry a publish POST").
fn maybe_done(kind: CallKind, what: String) -> Outcome {
    match kind {
        CallKind::PublishPost => Outcome::Ambiguous {
            message: tr(
                format!(
                    "{what} — the post may have been published anyway; \
                     loa checks the Page before sending it again"
                ),
                format!(
                    "{what} — bài có thể vẫn đã được đăng; \
                     loa kiểm tra Trang trước khi gửi lại"
                ),
            ),
        },
        CallKind::UnpublishedUpload | CallKind::Update | CallKind::Delete | CallKind::Read => {
            // No Retry-After from Meta (§7): the engine's backoff decides.
            Outcome::Transient {
                message: what,
                retry_after: None,
            }
        }
    }
}

/// The whole channel waits; the message says why and that it is not the post's fault. The time
/// is left out of the text: `until` travels beside it, and status shows it in local time.
fn rate_limited(said: String, until: DateTime<Utc>) -> Outcome {
    Outcome::RateLimited {
        message: tr(
            format!("Facebook is limiting requests, so loa pauses the Facebook channel: {said}"),
            format!("Facebook đang giới hạn yêu cầu nên loa tạm dừng kênh Facebook: {said}"),
        ),
        until,
    }
}

/// One hour: Facebook documents no duration for its blocks, and [mixpost] waits this long.
fn default_pause() -> chrono::Duration {
    chrono::Duration::minutes(i64::try_from(DEFAULT_PAUSE_MINUTES).unwrap_or(60))
}

/// For a rate-limit code: the headers' estimate when it is still ahead, else one hour. A
/// `regain` in the past would mean calling again at once, which extends Facebook's block.
fn rate_limit_until(now: DateTime<Utc>, regain: Option<DateTime<Utc>>) -> DateTime<Utc> {
    regain
        .filter(|at| *at > now)
        .unwrap_or_else(|| now + default_pause())
}

/// For a posting or policy block (368): one hour, the reference's choice for an undocumented
/// duration, or longer if the usage headers say the Page is blocked longer anyway.
fn blocked_until(now: DateTime<Utc>, regain: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let hour = now + default_pause();
    regain.map_or(hour, |at| at.max(hour))
}

/// The channel needs a person; the message carries Facebook's words and the fix.
fn auth_expired(message: String) -> Outcome {
    Outcome::AuthExpired { message }
}

/// What to run to get a working Page token, in both languages.
fn reauth_command() -> &'static str {
    tr(
        "run `loa auth facebook --user-token …` or set a new LOA_FACEBOOK_PAGE_TOKEN, then restart loa",
        "chạy `loa auth facebook --user-token …` hoặc đặt LOA_FACEBOOK_PAGE_TOKEN mới, rồi khởi động lại loa",
    )
}

/// A dead token (102, 190): why, when the subcode says, and how to get a new one.
fn token_dead(error: &GraphError, said: &str) -> String {
    let why = match error.subcode {
        Some(458) => tr(
            "the loa app was removed from the Facebook account",
            "ứng dụng loa đã bị gỡ khỏi tài khoản Facebook",
        ),
        Some(459 | 464) => tr(
            "Facebook wants the account holder to log in to facebook.com first",
            "Facebook yêu cầu chủ tài khoản đăng nhập facebook.com trước",
        ),
        Some(460) => tr(
            "the account's password was changed",
            "mật khẩu tài khoản đã được đổi",
        ),
        Some(463) => tr("the token has expired", "token đã hết hạn"),
        Some(492) => tr(
            "the account no longer has a role on the Page",
            "tài khoản không còn vai trò trên Trang",
        ),
        _ => tr("the token is invalid", "token không hợp lệ"),
    };
    let fix = reauth_command();
    tr(
        format!("Facebook no longer accepts loa's Page token ({why}): {said} — {fix}"),
        format!("Facebook không còn nhận token Trang của loa ({why}): {said} — {fix}"),
    )
}

/// A missing permission (10, 200–299): name the permissions loa needs.
fn permission_missing(said: &str) -> String {
    let fix = reauth_command();
    tr(
        format!(
            "the Facebook token is missing a permission loa needs, or lost its Page role: {said} — \
             get a user token granting pages_manage_posts, pages_read_engagement, \
             pages_show_list and read_insights (and the person must manage the Page); {fix}"
        ),
        format!(
            "token Facebook thiếu quyền loa cần, hoặc đã mất vai trò trên Trang: {said} — \
             lấy token người dùng có quyền pages_manage_posts, pages_read_engagement, \
             pages_show_list và read_insights (người đó phải quản lý Trang); {fix}"
        ),
    )
}

/// A block that only a person on facebook.com can lift (identity check, publishing
/// authorisation, account restriction); the token itself may be fine.
fn human_action(said: &str) -> String {
    tr(
        format!(
            "Facebook wants a Page admin to act on facebook.com before posting can continue: \
             {said} — log in to facebook.com with the Page admin's account, follow Facebook's \
             instructions, then restart loa (if Facebook asks to log in again, also run \
             `loa auth facebook --user-token …`)"
        ),
        format!(
            "Facebook yêu cầu quản trị viên Trang xử lý trên facebook.com trước khi đăng tiếp: \
             {said} — đăng nhập facebook.com bằng tài khoản quản trị Trang, làm theo hướng dẫn \
             của Facebook, rồi khởi động lại loa (nếu Facebook yêu cầu đăng nhập lại, chạy thêm \
             `loa auth facebook --user-token …`)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallKind::{Delete, PublishPost, Read, UnpublishedUpload, Update};
    use chrono::{Duration, TimeZone};

    const ALL: [CallKind; 5] = [PublishPost, UnpublishedUpload, Update, Delete, Read];

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
    }

    /// A Graph error body shaped as documented in §6.
    fn body(code: i64, subcode: Option<i64>, message: &str) -> String {
        let mut error = serde_json::json!({
            "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "T1"
        });
        if let Some(subcode) = subcode {
            error["error_subcode"] = subcode.into();
        }
        serde_json::json!({ "error": error }).to_string()
    }

    fn class_name(classified: &Classified) -> &'static str {
        match classified {
            Classified::Outcome(outcome) => outcome.class(),
            Classified::AlreadyGone => "already_gone",
            Classified::MetricRetired => "metric_retired",
        }
    }

    /// Parses `body` as the client would, then classifies it.
    fn run(kind: CallKind, status: u16, body: &str, regain: Option<DateTime<Utc>>) -> Classified {
        classify(kind, status, parse_error(body).as_ref(), now(), regain)
    }

    fn outcome(kind: CallKind, status: u16, body: &str) -> Outcome {
        match run(kind, status, body, None) {
            Classified::Outcome(outcome) => outcome,
            other => panic!("expected an outcome, got {other:?}"),
        }
    }

    type Row = (CallKind, u16, String, &'static str);

    /// The same class whatever the call.
    fn every(status: u16, body: String, class: &'static str) -> Vec<Row> {
        ALL.iter()
            .map(|&k| (k, status, body.clone(), class))
            .collect()
    }

    /// One class for a publish POST, another for every other call.
    fn publish_or(
        status: u16,
        body: String,
        publish: &'static str,
        other: &'static str,
    ) -> Vec<Row> {
        ALL.iter()
            .map(|&k| {
                let class = if k == PublishPost { publish } else { other };
                (k, status, body.clone(), class)
            })
            .collect()
    }

    /// The §6 table, row by row, for every kind of call it distinguishes.
    fn table() -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        // 1, 2, is_transient, 1363047, 1609010: retry, but reconcile a publish.
        for maybe in [
            (500, body(1, None, "An unknown error has occurred.")),
            (
                503,
                body(
                    2,
                    None,
                    "An unexpected error has occurred. Please retry your request later.",
                ),
            ),
            (
                400,
                r#"{"error":{"message":"Please retry","code":9999,"is_transient":true}}"#.into(),
            ),
            (
                400,
                body(100, Some(1_363_047), "Service temporarily unavailable"),
            ),
            (
                400,
                body(100, Some(1_609_010), "Service temporarily unavailable"),
            ),
            (500, body(12_345, None, "Something broke")),
            (500, String::new()),
            (502, "<html><body>Bad Gateway</body></html>".into()),
            (504, r#"{"success":false}"#.into()),
            (408, String::new()),
            (200, r#"{"success":false}"#.into()),
        ] {
            rows.extend(publish_or(maybe.0, maybe.1, "ambiguous", "transient"));
        }
        // 4, 17, 32, 613 (also 613/1996), 341, 80000–80014, 368/1390008, 368 other, HTTP 429.
        for limited in [
            body(4, None, "(#4) Application request limit reached"),
            body(17, None, "(#17) User request limit reached"),
            body(32, None, "(#32) Page request limit reached"),
            body(613, None, "(#613) Calls to this api have exceeded the rate limit."),
            body(613, Some(1996), "(#613) inconsistent request volume"),
            body(341, None, "(#341) Application limit reached"),
            body(80_000, None, "(#80000) too many calls"),
            // §8 "throttled", verbatim.
            r#"{"error":{"message":"(#80001) There have been too many calls to this Page account. …","type":"OAuthException","code":80001,"fbtrace_id":"A4"}}"#.into(),
            body(80_014, None, "(#80014) too many calls"),
            body(368, Some(1_390_008), "We limit how often you can post"),
            body(368, None, "The action attempted has been deemed abusive or is otherwise disallowed"),
        ] {
            rows.extend(every(400, limited, "rate_limited"));
        }
        rows.extend(every(429, String::new(), "rate_limited"));
        rows.extend(every(429, body(777, None, "Too many"), "rate_limited"));
        // Duplicates: reconcile a publish; anything else is refused for good.
        for duplicate in [
            // §8, verbatim.
            r#"{"error":{"message":"(#506) Duplicate status message","type":"OAuthException","code":506,"fbtrace_id":"A1"}}"#.into(),
            body(368, None, "It looks like you've already posted this."),
            body(100, Some(1_366_051), "These photos were already posted."),
        ] {
            rows.extend(publish_or(400, duplicate, "ambiguous", "permanent"));
        }
        // 102, 190 and its subcodes, 10, 200–299, and the facebook.com subcodes (which win over
        // a rate-limit, transient or invalid-parameter code).
        let mut auth = vec![
            body(102, None, "Session key invalid"),
            body(190, None, "Invalid OAuth access token."),
            // §8 "dead token", verbatim.
            r#"{"error":{"message":"Error validating access token: Session has expired …","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A3"}}"#.into(),
            body(10, None, "(#10) Application does not have permission for this action"),
            body(200, None, "(#200) Permissions error"),
            body(250, None, "(#250) permission missing"),
            body(299, None, "(#299) permission missing"),
            body(100, Some(1_404_078), "publish authorisation required"),
            body(368, Some(4_854_002), "confirm your identity"),
            body(1, Some(1_404_112), "account limited"),
        ];
        for subcode in [458, 459, 460, 464, 467, 492] {
            auth.push(body(190, Some(subcode), "Error validating access token"));
        }
        for dead in auth {
            rows.extend(every(400, dead, "auth_expired"));
        }
        // Permanent: 100, 3, 197, the content subcodes (winning over 368 and 100), unknown 4xx.
        for refused in [
            body(100, None, "(#100) Invalid parameter"),
            body(
                3,
                None,
                "(#3) Application does not have the capability to make this API call.",
            ),
            body(197, None, "(#197) The post is empty"),
            body(1_609_005, None, "Error Posting Link"),
            body(100, Some(1_609_005), "Error Posting Link"),
            body(100, Some(1_609_008), "Can't post a facebook.com link"),
            body(100, Some(2_061_006), "Please enter a valid URL"),
            body(368, Some(1_346_003), "abusive"),
            body(368, Some(1_404_102), "goes against our Community Standards"),
            body(
                100,
                Some(1_366_046),
                "Photos should be smaller than 4 MB and saved as JPG, PNG",
            ),
            body(12_345, None, "Something new"),
            body(79_999, None, "just below the BUC range"),
            body(80_015, None, "just above the BUC range"),
            body(300, None, "just above the permission range"),
        ] {
            rows.extend(every(400, refused, "permanent"));
        }
        rows.extend(every(403, String::new(), "permanent"));
        rows.extend(every(404, "<html>Not Found</html>".into(), "permanent"));
        // Code 100 special cases: subcode 33 and retired metrics.
        let gone = body(
            100,
            Some(33),
            "Unsupported delete request. Object with ID '1_2' does not exist",
        );
        rows.push((Delete, 400, gone.clone(), "already_gone"));
        rows.push((Update, 400, gone.clone(), "permanent"));
        rows.push((Read, 400, gone.clone(), "permanent"));
        rows.push((PublishPost, 400, gone.clone(), "permanent"));
        rows.push((UnpublishedUpload, 400, gone, "permanent"));
        // §8 retired metric, verbatim: only a Read means "metric retired".
        let retired = r#"{"error":{"message":"(#100) The value must be a valid insights metric","type":"OAuthException","code":100,"fbtrace_id":"A2"}}"#;
        rows.push((Read, 400, retired.into(), "metric_retired"));
        for kind in [PublishPost, UnpublishedUpload, Update, Delete] {
            rows.push((kind, 400, retired.into(), "permanent"));
        }
        rows
    }

    #[test]
    fn every_row_of_the_error_table() {
        let mut wrong = Vec::new();
        for (kind, status, body, expected) in table() {
            let got = class_name(&run(kind, status, &body, None));
            if got != expected {
                wrong.push(format!(
                    "{kind:?} {status} {body}: expected {expected}, got {got}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn rate_limits_wait_for_the_usage_estimate_or_an_hour() {
        let until = |kind, status, body: &str, regain| match run(kind, status, body, regain) {
            Classified::Outcome(Outcome::RateLimited { until, .. }) => until,
            other => panic!("expected rate_limited, got {other:?}"),
        };
        let buc = body(80_001, None, "(#80001) too many calls");
        let in_12 = now() + Duration::minutes(12);
        assert_eq!(until(PublishPost, 400, &buc, Some(in_12)), in_12);
        assert_eq!(until(Read, 400, &buc, None), now() + Duration::hours(1));
        // An estimate already past would mean calling at once, which extends the block.
        assert_eq!(
            until(Read, 400, &buc, Some(now())),
            now() + Duration::hours(1)
        );
        assert_eq!(until(Read, 429, "", Some(in_12)), in_12);
        // 368 blocks: one hour, or longer when the headers say so.
        let block = body(368, Some(1_390_008), "We limit how often you can post");
        assert_eq!(
            until(PublishPost, 400, &block, Some(in_12)),
            now() + Duration::hours(1)
        );
        let in_2h = now() + Duration::hours(2);
        assert_eq!(until(PublishPost, 400, &block, Some(in_2h)), in_2h);
        let policy = body(368, None, "temporarily blocked");
        assert_eq!(
            until(Update, 400, &policy, None),
            now() + Duration::hours(1)
        );
    }

    #[test]
    fn auth_messages_say_what_to_do() {
        let dead = body(
            190,
            Some(463),
            "Error validating access token: Session has expired",
        );
        let Outcome::AuthExpired { message } = outcome(Read, 400, &dead) else {
            panic!("expected auth_expired");
        };
        assert!(message.contains("Session has expired"), "{message}");
        assert!(message.contains("(#190/463)"), "{message}");
        assert!(
            message.contains("loa auth facebook --user-token"),
            "{message}"
        );
        assert!(message.contains("LOA_FACEBOOK_PAGE_TOKEN"), "{message}");

        let scope = body(200, None, "(#200) Requires pages_manage_posts permission");
        let Outcome::AuthExpired { message } = outcome(PublishPost, 403, &scope) else {
            panic!("expected auth_expired");
        };
        assert!(
            message.contains("(#200) Requires pages_manage_posts"),
            "{message}"
        );
        assert!(message.contains("read_insights"), "{message}");
        assert!(message.contains("loa auth facebook"), "{message}");

        let human = body(368, Some(4_854_002), "Please confirm your identity");
        let Outcome::AuthExpired { message } = outcome(PublishPost, 400, &human) else {
            panic!("expected auth_expired");
        };
        assert!(
            message.contains("Please confirm your identity"),
            "{message}"
        );
        assert!(message.contains("facebook.com"), "{message}");
        assert!(message.contains("loa"), "{message}");
    }

    #[test]
    fn refusals_keep_facebooks_words() {
        let photo = r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,
            "error_subcode":1366046,"error_user_title":"Can't Read Files",
            "error_user_msg":"Photos should be smaller than 4 MB and saved as JPG, PNG","fbtrace_id":"X"}}"#;
        assert_eq!(
            outcome(UnpublishedUpload, 400, photo),
            Outcome::Permanent {
                message:
                    "Can't Read Files: Photos should be smaller than 4 MB and saved as JPG, PNG \
                          — Invalid parameter (#100/1366046)"
                        .into()
            }
        );
        let duplicate = body(506, None, "(#506) Duplicate status message");
        let Outcome::Ambiguous { message } = outcome(PublishPost, 400, &duplicate) else {
            panic!("expected ambiguous");
        };
        assert!(
            message.contains("(#506) Duplicate status message"),
            "{message}"
        );
        let Outcome::Transient {
            message,
            retry_after,
        } = outcome(Delete, 500, &body(2, None, "Try later"))
        else {
            panic!("expected transient");
        };
        assert_eq!(message, "Try later (#2)");
        assert_eq!(retry_after, None);
    }

    #[test]
    fn transport_failures_reconcile_only_publishes_and_hide_tokens() {
        let what = "error sending request for url (https://graph.facebook.com/v25.0/1/feed?access_token=EAAGsecret&fields=id): timed out";
        let publish = transport_failure(PublishPost, what);
        assert_eq!(publish.class(), "ambiguous");
        for kind in [UnpublishedUpload, Update, Delete, Read] {
            assert_eq!(
                transport_failure(kind, what).class(),
                "transient",
                "{kind:?}"
            );
        }
        // The wording and the hiding are the platform edge's (`platform::transport`): every
        // kind of call goes through them.
        for outcome in ALL.map(|k| transport_failure(k, what)) {
            let message = outcome.message().unwrap_or_default();
            let hidden = message.contains("access_token=[hidden]&fields=id");
            assert!(hidden && !message.contains("EAAGsecret"), "{message}");
        }
    }

    #[test]
    fn officer_message_puts_the_person_facing_words_first() {
        let error = GraphError {
            code: 100,
            subcode: Some(1_366_051),
            message: "Invalid parameter".into(),
            user_title: Some("Duplicate Post".into()),
            user_msg: Some("These photos were already posted.".into()),
            ..GraphError::default()
        };
        assert_eq!(
            error.officer_message(),
            "Duplicate Post: These photos were already posted. — Invalid parameter (#100/1366051)"
        );
    }

    #[test]
    fn officer_message_does_not_repeat_itself() {
        let tagged = GraphError {
            code: 506,
            message: "(#506) Duplicate status message".into(),
            ..GraphError::default()
        };
        assert_eq!(tagged.officer_message(), "(#506) Duplicate status message");
        let same = GraphError {
            code: 1,
            message: "Please retry".into(),
            user_msg: Some("Please retry".into()),
            ..GraphError::default()
        };
        assert_eq!(same.officer_message(), "Please retry (#1)");
        let untagged = GraphError {
            code: 190,
            subcode: Some(463),
            message: "(#190) Session has expired".into(),
            ..GraphError::default()
        };
        assert_eq!(
            untagged.officer_message(),
            "(#190) Session has expired (#190/463)"
        );
    }

    #[test]
    fn officer_message_without_words_still_names_the_code() {
        let bare = parse_error(r#"{"error":{"code":190}}"#).unwrap();
        let message = bare.officer_message();
        assert!(message.contains("(#190)"), "{message}");
        assert!(
            !message.to_lowercase().contains("unknown error"),
            "{message}"
        );
        let title_only = GraphError {
            code: 368,
            user_title: Some("Blocked".into()),
            ..GraphError::default()
        };
        assert_eq!(title_only.officer_message(), "Blocked (#368)");
    }

    #[test]
    fn officer_message_hides_tokens() {
        let error = GraphError {
            code: 190,
            message: "Bad token access_token=EAAB123xyz for input_token=PT2 (Bearer abc.def)"
                .into(),
            user_msg: Some("Mã ACCESS_TOKEN=zzz&x=1 không hợp lệ".into()),
            ..GraphError::default()
        };
        let message = error.officer_message();
        for secret in ["EAAB123xyz", "PT2", "abc.def", "zzz"] {
            assert!(!message.contains(secret), "{message}");
        }
        assert!(
            message.contains("Mã ACCESS_TOKEN=[hidden]&x=1 không hợp lệ"),
            "{message}"
        );
        assert!(
            message.contains("access_token=[hidden] for input_token=[hidden] (Bearer [hidden])"),
            "{message}"
        );
    }

    #[test]
    fn parse_error_reads_the_documented_body() {
        let error = parse_error(
            r#"{"error":{"message":"Error validating access token: Session has expired …","type":"OAuthException","code":190,"error_subcode":463,"error_user_title":"T","error_user_msg":"M","is_transient":false,"fbtrace_id":"A3"}}"#,
        )
        .unwrap();
        assert_eq!(
            error,
            GraphError {
                code: 190,
                subcode: Some(463),
                message: "Error validating access token: Session has expired …".into(),
                error_type: Some("OAuthException".into()),
                user_title: Some("T".into()),
                user_msg: Some("M".into()),
                is_transient: false,
                fbtrace_id: Some("A3".into()),
            }
        );
    }

    #[test]
    fn parse_error_tolerates_odd_shapes() {
        let code_as_string =
            parse_error(r#"{"error":{"code":"190","error_subcode":"460","message":"x"}}"#).unwrap();
        assert_eq!(
            (code_as_string.code, code_as_string.subcode),
            (190, Some(460))
        );
        let code_as_float = parse_error(r#"{"error":{"code":2.0,"is_transient":"true"}}"#).unwrap();
        assert_eq!(code_as_float.code, 2);
        assert!(code_as_float.is_transient);
        let empty = parse_error(r#"{"error":{}}"#).unwrap();
        assert_eq!(empty, GraphError::default());
        let wrong_types = parse_error(
            r#"{"error":{"code":[1],"error_subcode":null,"message":5,"fbtrace_id":""}}"#,
        )
        .unwrap();
        assert_eq!(wrong_types, GraphError::default());
        let words_only = parse_error(r#"{"error":"invalid_request"}"#).unwrap();
        assert_eq!(
            (words_only.code, words_only.message.as_str()),
            (0, "invalid_request")
        );
        assert_eq!(
            parse_error(" \n{\"error\":{\"code\":4}}\n").map(|e| e.code),
            Some(4)
        );
    }

    #[test]
    fn parse_error_rejects_what_is_not_an_error() {
        for junk in [
            "",
            "garbage",
            "<html><body>502 Bad Gateway</body></html>",
            "{",
            "[]",
            "null",
            r#"{"success":false}"#,
            r#"{"id":"1_2"}"#,
            r#"{"error":null}"#,
            r#"{"error":42}"#,
        ] {
            assert_eq!(parse_error(junk), None, "{junk}");
        }
    }

    #[test]
    fn redaction_leaves_ordinary_text_alone() {
        let text = "Chuyển đổi số: token_type bearer-free text, access_token= (empty)";
        assert_eq!(scrub(text), text);
    }

    #[test]
    fn one_token_table_for_the_client_and_the_token_calls() {
        // Whatever the client calls "auth_expired", the token calls call a token trouble, and
        // nothing else: the two read the same rows.
        let mut wrong = Vec::new();
        for (kind, status, body, expected) in table() {
            let Some(error) = parse_error(&body) else {
                continue;
            };
            if kind != Read {
                continue;
            }
            let trouble = error.token_trouble();
            if (expected == "auth_expired") != trouble.is_some() {
                wrong.push(format!("{status} {body}: {expected} but {trouble:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        let trouble = |code, subcode| {
            GraphError {
                code,
                subcode,
                ..GraphError::default()
            }
            .token_trouble()
        };
        assert_eq!(trouble(190, Some(463)), Some(TokenTrouble::Dead));
        assert_eq!(trouble(190, Some(467)), Some(TokenTrouble::Dead));
        assert_eq!(trouble(102, None), Some(TokenTrouble::Dead));
        assert_eq!(trouble(10, None), Some(TokenTrouble::PermissionMissing));
        assert_eq!(trouble(299, None), Some(TokenTrouble::PermissionMissing));
        // A person must act on facebook.com: the subcode wins over the code.
        assert_eq!(
            trouble(368, Some(4_854_002)),
            Some(TokenTrouble::HumanAction)
        );
        assert_eq!(trouble(4, None), None);
        assert_eq!(trouble(100, None), None);
        assert_eq!(trouble(1, None), None);
    }
}
