//! Zalo OA OAuth v4 (`shared/api/zalo-oa.md` §2): the access token every Zalo call needs, its
//! refresh, and `loa auth zalo` (`--url`, `--code`, `--refresh-token`).
//!
//! The one fact that shapes this module: **a Zalo refresh token works once.** A successful refresh
//! spends it and returns a new pair; if that reply is lost, an OA admin has to consent again. So:
//!
//! - A refresh runs under two locks: a `tokio::sync::Mutex` inside the process (so ten tasks that
//!   see an expired token make one call, not ten) and the token store's exclusive file lock
//!   across processes (`loa run`, `loa run --once` and `loa auth` may overlap). The tokens are
//!   re-read inside both, and Zalo is called only if the token is still due: whoever waited finds
//!   the pair the winner stored.
//! - The new pair is written to disk (atomically, fsynced) **before** the new access token is
//!   returned. If that write fails, the pair is kept in memory and written on the next call; it
//!   is never handed out unsaved.
//! - A refresh runs in its own task, so a caller that gives up (a `select!`, a timeout) cannot
//!   cut it off between Zalo's reply and the write.
//! - A refresh token is sent at most twice: once, and once more only when the first reply was
//!   lost (timeout, 5xx, not JSON; §6 "token refresh → Ambiguous"). If that retry is refused, or
//!   also lost, the pair counts as lost: the store records `needs_reauth` and no further attempt
//!   is made until `loa auth zalo`. A request that never left (connection refused, DNS) spent
//!   nothing and is simply an [`AuthError::Transport`].
//! - Zalo's error bodies come with HTTP 200 (§1), so the body decides, never the status.
//!
//! Secrets: the app secret travels only in the `secret_key` header (marked sensitive), tokens
//! only in form bodies. No error text contains either: transport errors go through
//! `reqwest::Error::without_url`, and Zalo's own error text is scrubbed of every secret we sent.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::i18n::tr;
use crate::platform::json::{integer, text_field};
use crate::platform::redact::scrub_with;
use crate::platform::transport::Transport;
use crate::token_store::{TokenLock, TokenStore, TokenStoreError, Tokens, ZaloTokens};

/// The environment variable that seeds an empty token store (and is ignored after that, because
/// the token in it is spent by the first refresh).
pub const REFRESH_TOKEN_ENV: &str = "LOA_ZALO_REFRESH_TOKEN";

/// Refresh when the access token has this little left. With Zalo's 25 h tokens that is about
/// 20 h after issue, which leaves five hours of slack in which a failed refresh costs nothing.
pub const REFRESH_MARGIN: TimeDelta = TimeDelta::hours(5);

/// [`ZaloAuth::refresh_if_due`] refreshes a token this old even if it has not reached the
/// margin. Regular refreshes also keep the 3-month refresh token alive.
pub const REFRESH_AGE: TimeDelta = TimeDelta::hours(20);

/// How long a refresh token lives from issue (§2: 3 months).
pub const REFRESH_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(90);

/// [`TokenStatus::refresh_warning`] starts this close to the refresh token's end.
pub const REFRESH_TOKEN_WARNING: TimeDelta = TimeDelta::days(14);

/// The access token's life when Zalo's reply does not say (§2: 25 h = 90000 s).
const DEFAULT_ACCESS_LIFETIME: TimeDelta = TimeDelta::seconds(90_000);

/// An `expires_in` beyond this is not believed; [`DEFAULT_ACCESS_LIFETIME`] is used instead.
const MAX_ACCESS_LIFETIME: i64 = 366 * 24 * 3600;

/// A token this close to its expiry is not handed out even as a fallback: the call it is for
/// would likely be rejected on arrival.
const EXPIRY_SKEW: TimeDelta = TimeDelta::seconds(60);

/// Pause before the one retry after a lost reply: a 5xx often clears within a second, and the
/// file lock is held meanwhile, so it must stay short. Waited on the token manager's clock.
const AMBIGUOUS_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Upper bound on one token call, reply body included. The caller's client may have a shorter
/// timeout; this only makes sure the file lock is never held forever. Real time, not the
/// clock's: a reply takes real time to come, even when the demo's clock runs fast.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Tries at writing a new pair before giving up (and keeping it in memory).
const SAVE_ATTEMPTS: u32 = 3;

/// Zalo's "reached limit call api" (§6, §7).
const RATE_LIMIT_CODE: i64 = -32;

/// Zalo's error text is quoted up to this many characters.
const MAX_DETAIL_CHARS: usize = 300;

const TOKEN_PATH: &str = "/v4/oa/access_token";
const PERMISSION_PATH: &str = "/v4/oa/permission";

/// What a query value may keep unescaped: RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a token could not be had. No variant carries a token, a code, a PKCE verifier or the app
/// secret, so `Display` and `Debug` are safe to log and to store as `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token pair is gone or refused: an OA admin must consent again. The text says why and
    /// names the command (`loa auth zalo --url`). Retrying does not help.
    #[error("{0}")]
    NeedsReauth(String),
    /// Zalo's rate limit (`-32`, or HTTP 429). Nothing was spent; try again in a minute.
    #[error(
        "{}",
        tr(
            "Zalo's rate limit was reached while getting a token (error -32); loa tries again in a minute",
            "Đã chạm giới hạn gọi API của Zalo khi lấy token (lỗi -32); loa sẽ thử lại sau một phút"
        )
    )]
    RateLimited,
    /// Zalo could not be reached, or its reply was lost, and the token pair is still intact (or
    /// was never at stake). Try again later.
    #[error("{}: {}", tr("could not get a Zalo token", "không lấy được token Zalo"), .0)]
    Transport(String),
    /// The input is unusable: a blank token or code, a `state` that does not match, an app
    /// secret that cannot be sent.
    #[error("{0}")]
    Invalid(String),
    /// The token store could not be read or written.
    #[error(transparent)]
    Store(#[from] TokenStoreError),
    /// loa is shutting down and the work was not started.
    #[error(
        "{}",
        tr("interrupted: loa is shutting down", "bị ngắt: loa đang dừng")
    )]
    Interrupted,
}

/// What `loa status` shows about the Zalo tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenStatus {
    /// When the current access token expires (`token_expires_at`); `None` without one.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token runs out (issue + 90 days). A refresh renews it, so this moves
    /// forward every day while `loa run` refreshes.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Why an OA admin must consent again (with the command), or that no token is stored yet.
    pub needs_reauth: Option<String>,
    /// Set within 14 days of the refresh token's end, which only happens when refreshes stopped.
    pub refresh_warning: Option<String>,
    /// The token store could not be read; the other fields are then empty.
    pub store_error: Option<String>,
}

/// Gets and refreshes the Zalo OA access token, and runs `loa auth zalo`.
///
/// Cheap to clone; clones share the in-process refresh lock. Build one per process (two
/// instances on one `data_dir` are still safe, through the store's file lock, just less cheap).
#[derive(Clone)]
pub struct ZaloAuth {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ZaloAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZaloAuth")
            .field("oauth_url", &self.inner.oauth_url)
            .field("app_id", &self.inner.app_id)
            .field("store", &self.inner.store.path())
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    /// `zalo.oauth_url` without a trailing slash.
    oauth_url: String,
    app_id: String,
    app_secret: SecretString,
    store: TokenStore,
    clock: Clock,
    /// The in-process refresh lock. It also holds a pair Zalo issued that could not be written
    /// yet: the only copy of the only working refresh token, so it must not be dropped.
    gate: tokio::sync::Mutex<Option<Unsaved>>,
}

/// A pair that Zalo issued but the store could not save.
struct Unsaved {
    /// The refresh token it replaced; the pair is written only while that is still the stored
    /// one (otherwise a newer consent or seed has superseded it).
    spent: SecretString,
    pair: Pair,
    issued_at: DateTime<Utc>,
}

/// A token pair from a successful token call.
#[derive(Clone)]
struct Pair {
    access_token: SecretString,
    /// `None` if Zalo sent none; the old one is spent all the same.
    refresh_token: Option<SecretString>,
    lifetime: TimeDelta,
}

/// What one token call came to.
enum Reply {
    Granted(Pair),
    /// An error body other than the rate limit: the token (or code) is refused.
    Refused {
        code: i64,
        detail: String,
    },
    RateLimited,
    /// The request never left (no connection): nothing was spent.
    NotSent(String),
    /// The request may have reached Zalo but its answer is unknown.
    Ambiguous(String),
}

/// Why a refresh is being considered; decides, under the locks, whether it is still needed.
enum Trigger {
    /// [`ZaloAuth::access_token`]: the token is missing or inside the margin.
    Expiring,
    /// [`ZaloAuth::refresh_after_rejection`]: Zalo rejected this token.
    Rejected(SecretString),
    /// [`ZaloAuth::refresh_if_due`].
    Periodic,
}

/// What a refresh attempt ended with.
struct Done {
    token: Option<SecretString>,
    refreshed: bool,
}

impl ZaloAuth {
    /// A client for the OAuth server at `oauth_url` (`zalo.oauth_url`), for app `app_id` with
    /// its secret (`LOA_ZALO_APP_SECRET`), keeping tokens in `store`.
    ///
    /// `http` should have a timeout; token calls are additionally capped at 60 s.
    pub fn new(
        http: reqwest::Client,
        oauth_url: &str,
        app_id: &str,
        app_secret: SecretString,
        store: TokenStore,
        clock: Clock,
    ) -> ZaloAuth {
        ZaloAuth {
            inner: Arc::new(Inner {
                http,
                oauth_url: oauth_url.trim().trim_end_matches('/').to_owned(),
                app_id: app_id.trim().to_owned(),
                app_secret,
                store,
                clock,
                gate: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// A usable access token: the stored one, or a new one when there is none or it has less
    /// than [`REFRESH_MARGIN`] left.
    ///
    /// If that refresh fails (no connection, rate limit, or even a refused refresh token, which
    /// is recorded for `loa status`) while the stored token still has time left, the stored token
    /// is returned: refreshing hours early exists so that failures cost nothing at once, and a
    /// dead pair keeps publishing until its access token runs out.
    pub async fn access_token(&self) -> Result<SecretString, AuthError> {
        let zalo = self.inner.load_zalo().await?;
        if is_fresh(&zalo, self.inner.clock.now())
            && let Some(token) = zalo.access_token
        {
            return Ok(token);
        }
        self.run(Trigger::Expiring)
            .await?
            .token
            .ok_or_else(|| AuthError::NeedsReauth(not_authorized()))
    }

    /// A new access token after Zalo rejected `rejected` (`-216`, `-220`).
    ///
    /// Refreshes only if the stored access token is still `rejected`; if another task or process
    /// refreshed meanwhile, the stored token is returned without calling Zalo. If the token
    /// returned here is rejected too, the caller should treat that as terminal (§6).
    pub async fn refresh_after_rejection(
        &self,
        rejected: &SecretString,
    ) -> Result<SecretString, AuthError> {
        self.run(Trigger::Rejected(rejected.clone()))
            .await?
            .token
            .ok_or_else(|| AuthError::NeedsReauth(not_authorized()))
    }

    /// For the periodic job: refreshes when the access token is [`REFRESH_AGE`] old (or inside
    /// the margin, or missing), and says whether it did. This also keeps the 3-month refresh
    /// token alive.
    pub async fn refresh_if_due(&self) -> Result<bool, AuthError> {
        let zalo = self.inner.load_zalo().await?;
        if !is_due(&zalo, self.inner.clock.now()) {
            return Ok(false);
        }
        Ok(self.run(Trigger::Periodic).await?.refreshed)
    }

    /// Seeds the store from `LOA_ZALO_REFRESH_TOKEN` if the store has no refresh token (and no
    /// `needs_reauth`), and says whether it did. After the first refresh the stored, rotated
    /// token is the live one and the variable is ignored. Blocks on the store's lock.
    pub fn seed_from_env(&self) -> Result<bool, AuthError> {
        match std::env::var(REFRESH_TOKEN_ENV) {
            Ok(token) => self.seed_if_empty(&token),
            Err(_) => Ok(false),
        }
    }

    /// [`ZaloAuth::seed_from_env`] with the value given: stores `refresh_token` only into an
    /// empty store. Blocks on the store's lock.
    pub fn seed_if_empty(&self, refresh_token: &str) -> Result<bool, AuthError> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .seed_zalo_refresh_token_if_empty(refresh_token, now)?)
    }

    /// `loa auth zalo --refresh-token T`: stores `refresh_token` as the live one, whatever was
    /// there, and clears `needs_reauth`. The stored access token belonged to the old pair and is
    /// dropped, so the next call refreshes at once and proves the new token works.
    ///
    /// The token's issue time is unknown and taken as now. Blocks on the store's lock.
    pub fn seed(&self, refresh_token: &str) -> Result<(), AuthError> {
        let token = refresh_token.trim();
        if token.is_empty() {
            return Err(AuthError::Invalid(
                tr("the refresh token is empty", "refresh token bị trống").to_owned(),
            ));
        }
        let now = self.inner.clock.now();
        self.inner.store.update(|tokens| {
            let zalo = zalo_of(tokens);
            zalo.refresh_token = Some(SecretString::from(token));
            zalo.refresh_issued_at = Some(now);
            zalo.access_token = None;
            zalo.access_expires_at = None;
            zalo.needs_reauth = None;
            Ok(())
        })?;
        Ok(())
    }

    /// `loa auth zalo --url`: the consent URL for an OA admin to open.
    ///
    /// Makes a fresh PKCE verifier (base64url of 32 random bytes, 43 characters) and `state`,
    /// and stores both so `--code` can use them in a later run; the challenge in the URL is
    /// base64url(SHA-256(verifier)). Only the latest URL's code can be exchanged. `redirect_uri`
    /// must equal the callback URL set in Zalo's developer console (else `-14003`). Blocks on
    /// the store's lock.
    pub fn consent_url(&self, redirect_uri: &str) -> Result<String, AuthError> {
        let redirect_uri = redirect_uri.trim();
        if redirect_uri.is_empty() {
            return Err(AuthError::Invalid(
                tr(
                    "the redirect URI is empty: give the OA callback URL set in Zalo's developer console",
                    "redirect URI bị trống: hãy dùng Callback URL của OA đã đặt trong trang Zalo for Developers",
                )
                .to_owned(),
            ));
        }
        // Verifier and state come from one pool through separate hashes: `state` is public (it
        // comes back in the callback URL), and must not let anyone work out the verifier.
        let pool = random_pool();
        let verifier = base64url(&Sha256::digest(
            [b"loa pkce verifier:".as_slice(), &pool].concat(),
        ));
        let state_bytes = Sha256::digest([b"loa pkce state:".as_slice(), &pool].concat());
        let state = base64url(&state_bytes[..16]);
        let challenge = pkce_challenge(&verifier);
        self.inner.store.update(|tokens| {
            let zalo = zalo_of(tokens);
            zalo.pkce_verifier = Some(SecretString::from(verifier.as_str()));
            zalo.pkce_state = Some(state.clone());
            Ok(())
        })?;
        let inner = &self.inner;
        Ok(format!(
            "{}{PERMISSION_PATH}?app_id={}&redirect_uri={}&code_challenge={challenge}&state={state}",
            inner.oauth_url,
            utf8_percent_encode(&inner.app_id, QUERY_VALUE),
            utf8_percent_encode(redirect_uri, QUERY_VALUE),
        ))
    }

    /// `loa auth zalo --code CODE`: exchanges the code from the callback for a token pair, with
    /// the verifier `--url` stored, and stores the pair (clearing `needs_reauth`, the verifier
    /// and the state).
    ///
    /// `state` is the callback's `state`, if the officer has it: a different one than `--url`
    /// made is refused. Without a stored verifier (a link not made by loa) the code is sent
    /// without one. A refused code leaves the store as it was, since the old pair may still work.
    pub async fn exchange_code(&self, code: &str, state: Option<&str>) -> Result<(), AuthError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(AuthError::Invalid(
                tr("the authorization code is empty", "mã uỷ quyền bị trống").to_owned(),
            ));
        }
        let state = state.map(str::trim).filter(|s| !s.is_empty());
        let inner = Arc::clone(&self.inner);
        let code = SecretString::from(code);
        let state = state.map(str::to_owned);
        join(tokio::spawn(
            async move { inner.exchange(code, state).await },
        ))
        .await?
    }

    /// The token state for `loa status`. Reads the store without locking (never blocks long).
    pub fn status(&self) -> TokenStatus {
        let now = self.inner.clock.now();
        let zalo = match self.inner.store.load() {
            Ok(tokens) => tokens.zalo.unwrap_or_default(),
            Err(e) => {
                return TokenStatus {
                    store_error: Some(e.to_string()),
                    ..TokenStatus::default()
                };
            }
        };
        let has_refresh = has_refresh_token(&zalo);
        let refresh_expires_at = zalo
            .refresh_issued_at
            .filter(|_| has_refresh)
            .map(|at| at + REFRESH_TOKEN_LIFETIME);
        let needs_reauth = zalo
            .needs_reauth
            .clone()
            .or_else(|| (!has_refresh).then(not_authorized));
        let refresh_warning = match refresh_expires_at {
            Some(end) if needs_reauth.is_none() && end - now <= REFRESH_TOKEN_WARNING => {
                Some(refresh_warning(end, now))
            }
            _ => None,
        };
        TokenStatus {
            access_expires_at: zalo
                .access_expires_at
                .filter(|_| zalo.access_token.is_some()),
            refresh_expires_at,
            needs_reauth,
            refresh_warning,
            store_error: None,
        }
    }

    /// Runs a refresh in its own task, so that a caller who stops waiting cannot interrupt it
    /// between Zalo's reply and the write of the new pair.
    async fn run(&self, trigger: Trigger) -> Result<Done, AuthError> {
        let inner = Arc::clone(&self.inner);
        join(tokio::spawn(async move { inner.refresh(trigger).await })).await?
    }
}

impl Inner {
    /// The Zalo tokens, read without the lock (a rename makes every read see a whole file).
    async fn load_zalo(&self) -> Result<ZaloTokens, AuthError> {
        let store = self.store.clone();
        let tokens = blocking(move || store.load()).await??;
        Ok(tokens.zalo.unwrap_or_default())
    }

    /// Takes the store's cross-process lock on a blocking thread.
    async fn lock_store(&self) -> Result<TokenLock, AuthError> {
        let store = self.store.clone();
        Ok(blocking(move || store.lock()).await??)
    }

    /// The refresh, under both locks. See the module docs for the rules it keeps.
    async fn refresh(self: Arc<Self>, trigger: Trigger) -> Result<Done, AuthError> {
        let mut unsaved = self.gate.lock().await;
        let mut lock = self.lock_store().await?;

        // A pair from an earlier refresh that could not be saved is written first: it holds
        // the only live refresh token.
        if let Some(pending) = unsaved.take() {
            let current = lock
                .tokens()
                .zalo
                .as_ref()
                .and_then(|z| z.refresh_token.as_ref());
            if current.is_some_and(|t| same(t, &pending.spent)) {
                apply(&pending.pair, zalo_of(lock.tokens_mut()), pending.issued_at);
                let (back, saved) = save(lock, &self.clock).await?;
                lock = back;
                if let Err(e) = saved {
                    *unsaved = Some(pending);
                    return Err(e.into());
                }
                tracing::info!("saved the Zalo token pair that could not be saved earlier");
            } else {
                tracing::warn!(
                    "dropped an unsaved Zalo token pair: the token store has been given a new token since"
                );
            }
        }

        let now = self.clock.now();
        let zalo = lock.tokens().zalo.clone().unwrap_or_default();
        // Decide again under the locks: another task or process may have refreshed while this
        // one waited, and then its pair is the one to use.
        match &trigger {
            Trigger::Expiring => {
                if is_fresh(&zalo, now) {
                    return Ok(Done {
                        token: zalo.access_token,
                        refreshed: false,
                    });
                }
            }
            Trigger::Rejected(rejected) => {
                if let Some(current) = &zalo.access_token
                    && !same(current, rejected)
                {
                    return Ok(Done {
                        token: Some(current.clone()),
                        refreshed: false,
                    });
                }
            }
            Trigger::Periodic => {
                if !is_due(&zalo, now) {
                    return Ok(Done {
                        token: zalo.access_token,
                        refreshed: false,
                    });
                }
            }
        }

        // What `access_token` may still hand out if the refresh cannot happen right now.
        let fallback = match trigger {
            Trigger::Expiring => usable(&zalo, now),
            _ => None,
        };
        let fall_back = |error: AuthError| match &fallback {
            Some(token) => {
                tracing::warn!(%error, "could not refresh the Zalo access token; using the current one while it lasts");
                Ok(Done {
                    token: Some(token.clone()),
                    refreshed: false,
                })
            }
            None => Err(error),
        };

        if let Some(reason) = zalo.needs_reauth.clone() {
            return fall_back(AuthError::NeedsReauth(reason));
        }
        let Some(refresh_token) = zalo
            .refresh_token
            .clone()
            .filter(|_| has_refresh_token(&zalo))
        else {
            return fall_back(AuthError::NeedsReauth(not_authorized()));
        };

        match self.spend(lock, refresh_token, now, &mut unsaved).await {
            // A refusal just recorded is treated like one recorded earlier (above).
            Err(
                e @ (AuthError::Transport(_) | AuthError::RateLimited | AuthError::NeedsReauth(_)),
            ) => fall_back(e),
            other => other,
        }
    }

    /// Sends `refresh_token` (at most twice: once more only after a lost reply) and stores the
    /// outcome: the new pair, or `needs_reauth`.
    async fn spend(
        &self,
        lock: TokenLock,
        refresh_token: SecretString,
        now: DateTime<Utc>,
        unsaved: &mut Option<Unsaved>,
    ) -> Result<Done, AuthError> {
        let pair = match self.post_refresh(&refresh_token).await {
            Reply::Granted(pair) => pair,
            Reply::Refused { code, detail } => {
                let cause = tr(
                    format!("Zalo refused the refresh token (error {code}: {detail})"),
                    format!("Zalo từ chối refresh token (lỗi {code}: {detail})"),
                );
                return self.lose_pair(lock, cause).await;
            }
            Reply::RateLimited => return Err(AuthError::RateLimited),
            Reply::NotSent(detail) => return Err(AuthError::Transport(detail)),
            Reply::Ambiguous(first) => {
                // Zalo may have spent the token and lost the reply, or never seen it. Sending it
                // once more is the only way to tell: a new pair means it had not been spent.
                tracing::warn!(detail = %first, "the reply to a Zalo token refresh was lost; retrying once with the same refresh token");
                self.clock.sleep(AMBIGUOUS_RETRY_DELAY).await;
                match self.post_refresh(&refresh_token).await {
                    Reply::Granted(pair) => pair,
                    Reply::Refused { code, detail } => {
                        let cause = tr(
                            format!(
                                "the reply to a token refresh was lost ({first}), and Zalo now refuses \
                                 the refresh token (error {code}: {detail}): the lost reply held the \
                                 only new token pair"
                            ),
                            format!(
                                "mất câu trả lời của một lần làm mới token ({first}), và Zalo nay từ chối \
                                 refresh token (lỗi {code}: {detail}): cặp token mới duy nhất nằm trong \
                                 câu trả lời đã mất"
                            ),
                        );
                        return self.lose_pair(lock, cause).await;
                    }
                    Reply::Ambiguous(second) => {
                        let cause = tr(
                            format!(
                                "Zalo did not answer two token refreshes ({first}; then {second}); the \
                                 refresh token may have been spent, and loa does not send it a third time"
                            ),
                            format!(
                                "Zalo không trả lời hai lần làm mới token ({first}; rồi {second}); refresh \
                                 token có thể đã bị dùng, và loa không gửi nó lần thứ ba"
                            ),
                        );
                        return self.lose_pair(lock, cause).await;
                    }
                    // The retry was not processed, so it did not count: the token's state is
                    // what the first attempt left, and the next refresh is still that retry.
                    Reply::RateLimited => return Err(AuthError::RateLimited),
                    Reply::NotSent(detail) => {
                        return Err(AuthError::Transport(format!("{first}; {detail}")));
                    }
                }
            }
        };
        self.keep_pair(lock, refresh_token, pair, now, unsaved)
            .await
    }

    /// Writes the new pair, and only then returns its access token.
    async fn keep_pair(
        &self,
        mut lock: TokenLock,
        spent: SecretString,
        pair: Pair,
        issued_at: DateTime<Utc>,
        unsaved: &mut Option<Unsaved>,
    ) -> Result<Done, AuthError> {
        apply(&pair, zalo_of(lock.tokens_mut()), issued_at);
        let (lock, saved) = save(lock, &self.clock).await?;
        drop(lock);
        match saved {
            Ok(()) => {
                tracing::info!(
                    expires_at = %(issued_at + pair.lifetime),
                    "refreshed the Zalo access token"
                );
                Ok(Done {
                    token: Some(pair.access_token),
                    refreshed: true,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "could not save the new Zalo token pair; keeping it in memory and saving it on the next call");
                *unsaved = Some(Unsaved {
                    spent,
                    pair,
                    issued_at,
                });
                Err(e.into())
            }
        }
    }

    /// Records that the pair is lost and returns [`AuthError::NeedsReauth`]. The dead refresh
    /// token stays in the file: deleting it gains nothing, and keeps a person from retrying it
    /// by hand if Zalo's error turns out to have been a fluke.
    async fn lose_pair(&self, mut lock: TokenLock, cause: String) -> Result<Done, AuthError> {
        let reason = reauth_reason(&cause);
        zalo_of(lock.tokens_mut()).needs_reauth = Some(reason.clone());
        let (_lock, saved) = save(lock, &self.clock).await?;
        if let Err(e) = saved {
            tracing::error!(error = %e, "could not record in the token store that Zalo needs re-authorization");
        }
        tracing::error!(reason = %reason, "the Zalo token pair is lost");
        Err(AuthError::NeedsReauth(reason))
    }

    /// `--code`, under both locks.
    async fn exchange(
        self: Arc<Self>,
        code: SecretString,
        state: Option<String>,
    ) -> Result<(), AuthError> {
        let mut unsaved = self.gate.lock().await;
        let mut lock = self.lock_store().await?;
        let zalo = lock.tokens().zalo.clone().unwrap_or_default();
        if let (Some(got), Some(want)) = (state.as_deref(), zalo.pkce_state.as_deref())
            && got != want
        {
            return Err(AuthError::Invalid(
                tr(
                    "the state in the callback does not match the consent URL loa made last: run \
                     `loa auth zalo --url` again and use the code from that link",
                    "state trong đường dẫn trả về không khớp với URL uỷ quyền loa tạo gần nhất: hãy \
                     chạy lại `loa auth zalo --url` và dùng mã từ liên kết đó",
                )
                .to_owned(),
            ));
        }
        let verifier = zalo.pkce_verifier.clone();
        if verifier.is_none() {
            tracing::warn!(
                "no PKCE verifier is stored (no `loa auth zalo --url` before); sending the code without one"
            );
        }
        let now = self.clock.now();
        let mut form = vec![
            ("code", code.expose_secret()),
            ("app_id", self.app_id.as_str()),
            ("grant_type", "authorization_code"),
        ];
        if let Some(verifier) = &verifier {
            form.push(("code_verifier", verifier.expose_secret()));
        }
        let mut sent = vec![code.expose_secret()];
        sent.extend(verifier.as_ref().map(|v| v.expose_secret()));
        match self.post(&form, &sent).await {
            Reply::Granted(pair) => {
                let zalo = zalo_of(lock.tokens_mut());
                apply(&pair, zalo, now);
                zalo.pkce_verifier = None;
                zalo.pkce_state = None;
                // A new consent supersedes any pair still waiting to be saved.
                *unsaved = None;
                let (_lock, saved) = save(lock, &self.clock).await?;
                saved?;
                tracing::info!(expires_at = %(now + pair.lifetime), "stored the Zalo token pair");
                Ok(())
            }
            Reply::Refused { code, detail } => Err(AuthError::NeedsReauth(reauth_reason(&tr(
                format!(
                    "Zalo refused the authorization code (error {code}: {detail}); a code works once \
                     and for 10 minutes"
                ),
                format!(
                    "Zalo từ chối mã uỷ quyền (lỗi {code}: {detail}); mỗi mã chỉ dùng được một lần \
                     và trong 10 phút"
                ),
            )))),
            Reply::RateLimited => Err(AuthError::RateLimited),
            Reply::NotSent(detail) => Err(AuthError::Transport(detail)),
            Reply::Ambiguous(detail) => Err(AuthError::Transport(tr(
                format!(
                    "{detail}; the code may have been used up: if `loa status` shows no Zalo token, \
                     run `loa auth zalo --url` again"
                ),
                format!(
                    "{detail}; mã có thể đã bị dùng: nếu `loa status` không có token Zalo, hãy chạy \
                     lại `loa auth zalo --url`"
                ),
            ))),
        }
    }

    /// One refresh call.
    async fn post_refresh(&self, refresh_token: &SecretString) -> Reply {
        let form = [
            ("refresh_token", refresh_token.expose_secret()),
            ("app_id", self.app_id.as_str()),
            ("grant_type", "refresh_token"),
        ];
        self.post(&form, &[refresh_token.expose_secret()]).await
    }

    /// `POST {oauth_url}/v4/oa/access_token` with `form`, classified. `sent` lists the secrets in
    /// the form, to be scrubbed from any text Zalo sends back.
    async fn post(&self, form: &[(&str, &str)], sent: &[&str]) -> Reply {
        let Ok(mut secret) = HeaderValue::from_str(self.app_secret.expose_secret()) else {
            return Reply::NotSent(
                tr(
                    "the Zalo app secret (LOA_ZALO_APP_SECRET) contains characters an HTTP header cannot carry",
                    "app secret Zalo (LOA_ZALO_APP_SECRET) chứa ký tự không gửi được trong header HTTP",
                )
                .to_owned(),
            );
        };
        // Keeps it out of any `Debug` of the request, and out of HTTP/2 header compression.
        secret.set_sensitive(true);
        let call = crate::platform::transport::exchange(
            self.http
                .post(format!("{}{TOKEN_PATH}", self.oauth_url))
                .header("secret_key", secret)
                .form(form),
        );
        // Real time on purpose: see REQUEST_TIMEOUT.
        let (status, body) = match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
            Ok(Ok(answered)) => (
                StatusCode::from_u16(answered.status).unwrap_or(StatusCode::BAD_GATEWAY),
                answered.body.into_bytes(),
            ),
            Ok(Err(no_answer)) => {
                // A connection that was never made carried nothing; anything later may have.
                let e = no_answer.error;
                return if e.is_connect() || e.is_builder() {
                    Reply::NotSent(describe(e))
                } else {
                    Reply::Ambiguous(describe(e))
                };
            }
            Err(_) => {
                return Reply::Ambiguous(format!(
                    "{} {} s",
                    tr("no reply within", "không có câu trả lời sau"),
                    REQUEST_TIMEOUT.as_secs()
                ));
            }
        };
        let mut secrets = sent.to_vec();
        secrets.push(self.app_secret.expose_secret());
        classify(status, &body, &secrets)
    }
}

/// Reads a token call's reply (§2). A reply carrying an access token is a success whatever
/// else it says, because the old token is spent by then and this pair is the only one left.
fn classify(status: StatusCode, body: &[u8], secrets: &[&str]) -> Reply {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Reply::RateLimited;
        }
        let what = if body.is_empty() {
            tr("an empty reply", "câu trả lời rỗng")
        } else {
            tr("a reply that is not JSON", "câu trả lời không phải JSON")
        };
        return Reply::Ambiguous(format!("HTTP {}, {what}", status.as_u16()));
    };
    if let Some(access_token) = object.get("access_token").and_then(text_field) {
        let lifetime = object
            .get("expires_in")
            .and_then(seconds)
            .unwrap_or_else(|| {
                tracing::warn!("Zalo's token reply has no usable expires_in; assuming 25 h");
                DEFAULT_ACCESS_LIFETIME
            });
        return Reply::Granted(Pair {
            access_token: SecretString::from(access_token),
            refresh_token: object
                .get("refresh_token")
                .and_then(text_field)
                .map(SecretString::from),
            lifetime,
        });
    }
    let code = object.get("error").and_then(integer).filter(|c| *c != 0);
    match code {
        Some(RATE_LIMIT_CODE) => Reply::RateLimited,
        _ if status == StatusCode::TOO_MANY_REQUESTS => Reply::RateLimited,
        // A server error says Zalo is in trouble, not that it judged the token; whatever the
        // body says, the request's fate is unknown.
        _ if status.is_server_error() => Reply::Ambiguous(format!("HTTP {}", status.as_u16())),
        Some(code) => Reply::Refused {
            code,
            detail: error_detail(&object, secrets),
        },
        None => Reply::Ambiguous(format!(
            "HTTP {}, {}",
            status.as_u16(),
            tr(
                "a reply with neither a token nor an error code",
                "câu trả lời không có token cũng không có mã lỗi"
            )
        )),
    }
}

/// Zalo's words for an error, from the OAuth shape (`error_name`, `error_reason`,
/// `error_description`) or the API envelope (`message`), without any secret we sent (or any
/// the platform edge's redactor knows by its key).
fn error_detail(object: &Map<String, Value>, secrets: &[&str]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for key in ["error_name", "error_description", "error_reason", "message"] {
        if let Some(text) = object.get(key).and_then(Value::as_str) {
            let text = text.trim();
            if !text.is_empty() && !parts.contains(&text) {
                parts.push(text);
            }
        }
    }
    let mut detail = if parts.is_empty() {
        tr("no description", "không có mô tả").to_owned()
    } else {
        scrub_with(&parts.join("; "), secrets)
    };
    if detail.chars().count() > MAX_DETAIL_CHARS {
        detail = detail.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    detail
}

/// `expires_in` as a lifetime, if it is a believable one.
fn seconds(value: &Value) -> Option<TimeDelta> {
    integer(value)
        .filter(|s| (1..=MAX_ACCESS_LIFETIME).contains(s))
        .map(TimeDelta::seconds)
}

/// A transport error in the officer's words: its kind and what to do. The library's own text
/// (English, and naming hosts) is not shown.
fn describe(error: reqwest::Error) -> String {
    if error.is_builder() {
        return tr(
            "the request could not be built (check zalo.oauth_url)",
            "không tạo được yêu cầu (hãy kiểm tra zalo.oauth_url)",
        )
        .to_string();
    }
    Transport::of(&error).words().to_string()
}

/// Puts `pair` into the store's Zalo entry, as issued at `issued_at`.
fn apply(pair: &Pair, zalo: &mut ZaloTokens, issued_at: DateTime<Utc>) {
    zalo.access_token = Some(pair.access_token.clone());
    zalo.access_expires_at = Some(issued_at + pair.lifetime);
    match &pair.refresh_token {
        Some(refresh_token) => {
            zalo.refresh_token = Some(refresh_token.clone());
            zalo.refresh_issued_at = Some(issued_at);
            zalo.needs_reauth = None;
        }
        None => {
            // The old refresh token is spent; without a new one the access token is the last
            // thing that works, for its 25 h.
            zalo.refresh_token = None;
            zalo.needs_reauth = Some(reauth_reason(tr(
                "Zalo's token reply carried no new refresh token",
                "câu trả lời cấp token của Zalo không có refresh token mới",
            )));
        }
    }
}

/// The store's Zalo entry, created if missing.
fn zalo_of(tokens: &mut Tokens) -> &mut ZaloTokens {
    tokens.zalo.get_or_insert_with(ZaloTokens::default)
}

fn has_refresh_token(zalo: &ZaloTokens) -> bool {
    zalo.refresh_token
        .as_ref()
        .is_some_and(|t| !t.expose_secret().trim().is_empty())
}

fn same(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

/// How close to its expiry a token gets refreshed: [`REFRESH_MARGIN`], or a fifth of its life
/// if Zalo ever issues short-lived tokens again (a 1 h token would otherwise be refreshed on
/// every call).
fn margin(zalo: &ZaloTokens) -> TimeDelta {
    match (zalo.access_expires_at, zalo.refresh_issued_at) {
        (Some(expires), Some(issued)) if expires > issued => {
            REFRESH_MARGIN.min((expires - issued) / 5)
        }
        _ => REFRESH_MARGIN,
    }
}

/// An access token outside the refresh margin.
fn is_fresh(zalo: &ZaloTokens, now: DateTime<Utc>) -> bool {
    let has_token = zalo
        .access_token
        .as_ref()
        .is_some_and(|t| !t.expose_secret().is_empty());
    has_token
        && zalo
            .access_expires_at
            .is_some_and(|expires| now < expires - margin(zalo))
}

/// Whether the periodic job should refresh.
fn is_due(zalo: &ZaloTokens, now: DateTime<Utc>) -> bool {
    !is_fresh(zalo, now)
        || zalo
            .refresh_issued_at
            .is_none_or(|issued| now - issued >= REFRESH_AGE)
}

/// The access token, if it has not expired (with a minute to spare).
fn usable(zalo: &ZaloTokens, now: DateTime<Utc>) -> Option<SecretString> {
    let expires = zalo.access_expires_at?;
    let token = zalo.access_token.as_ref()?;
    (now + EXPIRY_SKEW < expires && !token.expose_secret().is_empty()).then(|| token.clone())
}

/// `cause` plus what to do about it.
fn reauth_reason(cause: &str) -> String {
    tr(
        format!(
            "{cause}. An OA admin must authorize loa again: run `loa auth zalo --url`, open the \
             link, then run `loa auth zalo --code CODE`"
        ),
        format!(
            "{cause}. Quản trị viên OA cần uỷ quyền lại cho loa: chạy `loa auth zalo --url`, mở \
             liên kết, rồi chạy `loa auth zalo --code MÃ`"
        ),
    )
}

fn not_authorized() -> String {
    reauth_reason(tr(
        "no Zalo refresh token is stored (set LOA_ZALO_REFRESH_TOKEN once, or authorize)",
        "chưa có refresh token Zalo (đặt LOA_ZALO_REFRESH_TOKEN một lần, hoặc uỷ quyền)",
    ))
}

fn refresh_warning(end: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let when = end.format("%Y-%m-%d %H:%M UTC");
    if end <= now {
        tr(
            format!("the Zalo refresh token ran out on {when}: run `loa auth zalo --url`"),
            format!("refresh token Zalo đã hết hạn lúc {when}: hãy chạy `loa auth zalo --url`"),
        )
    } else {
        let days = (end - now).num_days();
        tr(
            format!(
                "the Zalo refresh token runs out on {when} (in {days} day(s)); `loa run` renews it \
                 with each daily refresh, so check that it is running"
            ),
            format!(
                "refresh token Zalo hết hạn lúc {when} (còn {days} ngày); `loa run` gia hạn nó mỗi \
                 lần làm mới hằng ngày, hãy kiểm tra `loa run` có đang chạy không"
            ),
        )
    }
}

/// Saves on a blocking thread, a few times if need be (a full disk may clear), pausing between
/// tries on `clock`, and hands the lock back with the outcome.
async fn save(
    mut lock: TokenLock,
    clock: &Clock,
) -> Result<(TokenLock, Result<(), TokenStoreError>), AuthError> {
    let mut attempt = 1;
    loop {
        let (back, saved) = blocking(move || {
            let saved = lock.save();
            (lock, saved)
        })
        .await?;
        lock = back;
        match saved {
            Err(e) if attempt < SAVE_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "could not write the token store; trying again");
                clock
                    .sleep(Duration::from_millis(200 * u64::from(attempt)))
                    .await;
                attempt += 1;
            }
            saved => return Ok((lock, saved)),
        }
    }
}

/// Runs blocking file work off the async threads. A panic there is passed on unchanged.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    join(tokio::task::spawn_blocking(work)).await
}

/// Waits for a spawned task; its panic is passed on, its cancellation (runtime shutdown) is
/// [`AuthError::Interrupted`].
async fn join<T>(
    task: impl Future<Output = Result<T, tokio::task::JoinError>>,
) -> Result<T, AuthError> {
    match task.await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(AuthError::Interrupted),
    }
}

/// base64url (RFC 4648 §5) without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        // 1, 2 or 3 bytes make 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The PKCE challenge for `verifier`: base64url(SHA-256(verifier)), i.e. S256.
fn pkce_challenge(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// 32 unpredictable bytes for the PKCE verifier and `state`.
///
/// Not `fastrand` alone: it seeds from the time and thread id only (hashed with fixed keys), and
/// its generator is not cryptographic, so one visible output (`state` is in the callback URL)
/// could give away the verifier. Instead SHA-256 mixes the OS's generator (`/dev/urandom`
/// where there is one) with std's `RandomState`, whose keys the OS provides on every platform
/// (SipHash with secret keys is a PRF); `fastrand` and the time are added but not relied on.
fn random_pool() -> [u8; 32] {
    use std::hash::BuildHasher;
    let mut hasher = Sha256::new();
    #[cfg(unix)]
    {
        use std::io::Read;
        let mut os = [0u8; 32];
        if std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut os))
            .is_ok()
        {
            hasher.update(os);
        }
    }
    // Entropy, not a time: the system clock's nanoseconds are one more input to the hash.
    let now = std::time::SystemTime::now();
    for i in 0u8..4 {
        let keyed = std::hash::RandomState::new().hash_one((i, now, std::process::id()));
        hasher.update(keyed.to_le_bytes());
    }
    hasher.update(fastrand::u64(..).to_le_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        // RFC 4648 §10, with padding dropped and the URL alphabet.
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64url(input.as_bytes()), expected);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xfe]), "-__-");
    }

    #[test]
    fn challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_pools_differ() {
        assert_ne!(random_pool(), random_pool());
        assert_eq!(base64url(&random_pool()).len(), 43);
    }

    #[test]
    fn expires_in_is_a_number_or_a_numeric_string() {
        assert_eq!(seconds(&json!("90000")), Some(TimeDelta::seconds(90_000)));
        assert_eq!(seconds(&json!(90000)), Some(TimeDelta::seconds(90_000)));
        assert_eq!(seconds(&json!(" 3600 ")), Some(TimeDelta::seconds(3600)));
        assert_eq!(seconds(&json!("0")), None);
        assert_eq!(seconds(&json!("-5")), None);
        assert_eq!(seconds(&json!("soon")), None);
        assert_eq!(seconds(&json!(1e12)), None);
    }

    #[test]
    fn margin_shrinks_for_short_lived_tokens() {
        let issued = Utc::now();
        let mut zalo = ZaloTokens {
            access_token: Some("AT".into()),
            access_expires_at: Some(issued + TimeDelta::seconds(90_000)),
            refresh_issued_at: Some(issued),
            ..ZaloTokens::default()
        };
        assert_eq!(margin(&zalo), REFRESH_MARGIN);
        assert!(is_fresh(&zalo, issued + TimeDelta::hours(19)));
        assert!(!is_fresh(&zalo, issued + TimeDelta::hours(20)));
        zalo.access_expires_at = Some(issued + TimeDelta::hours(1));
        assert_eq!(margin(&zalo), TimeDelta::minutes(12));
        assert!(is_fresh(&zalo, issued + TimeDelta::minutes(30)));
    }

    #[test]
    fn error_detail_scrubs_what_was_sent() {
        let body = json!({"error": -14014, "error_name": "invalid_grant",
            "error_description": "Invalid refresh token RT-SECRET-1"});
        let detail = error_detail(body.as_object().unwrap(), &["RT-SECRET-1"]);
        assert_eq!(detail, "invalid_grant; Invalid refresh token [hidden]");
    }

    #[test]
    fn a_reply_with_tokens_wins_over_an_error_field() {
        let body =
            br#"{"error":-1,"access_token":"AT2","refresh_token":"RT2","expires_in":"90000"}"#;
        assert!(matches!(
            classify(StatusCode::OK, body, &[]),
            Reply::Granted(_)
        ));
        assert!(matches!(
            classify(StatusCode::OK, br#"{"error":"-32","message":"limit"}"#, &[]),
            Reply::RateLimited
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, br#"{"error":-14014}"#, &[]),
            Reply::Ambiguous(_)
        ));
        assert!(matches!(
            classify(StatusCode::OK, b"<html>", &[]),
            Reply::Ambiguous(_)
        ));
    }
}
