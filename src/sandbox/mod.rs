//! The sandbox: a simulated Facebook Graph API and Zalo OA API served by loa itself on
//! 127.0.0.1, for `loa sandbox`, `loa demo` and loa's own end-to-end tests.
//!
//! It answers the same requests the references in `shared/api/` describe — the same paths,
//! headers and error bodies (HTTP 200 with a negative `error` on Zalo; Graph error objects on
//! Facebook) — and validates what it receives as strictly as the real platforms. Optional faults
//! (failures, latency, lost answers, answers slower than loa waits, rate limits, short-lived
//! tokens) let the officer and the tests see loa recover; with a seed they repeat exactly.
//! Everything it received is kept for inspection.
//!
//! The OAuth calls are never faulted: a refresh answer that is lost takes its single-use pair
//! with it (`shared/api/zalo-oa.md` §6), so a fault there can only end in `loa auth zalo`, which
//! is what the reference says and what no amount of retrying changes.

pub mod facebook;
pub mod zalo;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::clock::Clock;

/// The Page the sandbox plays (the example config's `facebook.page_id`).
pub const PAGE_ID: &str = "123456789012345";
/// The Page token the sandbox accepts.
pub const PAGE_TOKEN: &str = "sandbox-page-token";
/// The Facebook app id and secret `loa auth facebook` must use against the sandbox.
pub const FACEBOOK_APP: (&str, &str) = ("sandbox-app", "sandbox-app-secret");
/// A user token the sandbox accepts for `fb_exchange_token`.
pub const USER_TOKEN: &str = "sandbox-user-token";
/// The Zalo app id (the example config's `zalo.app_id`) and its secret.
pub const ZALO_APP: (&str, &str) = ("1234567890", "sandbox-zalo-secret");
/// The first Zalo refresh token the sandbox accepts (it rotates on every refresh).
pub const ZALO_FIRST_REFRESH_TOKEN: &str = "sandbox-refresh-0";

/// How long a slow answer is held when [`Faults::slow_for`] is not set: longer than loa's
/// two-minute call timeout (`platform::http`), so loa gives up waiting, as it would on a real
/// server that hangs.
pub const DEFAULT_SLOW_FOR: Duration = Duration::from_secs(125);

/// Faults to inject.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Share of publishing requests that fail with a server error (0.0–1.0).
    pub fail_rate: f64,
    /// Extra wait before every answer.
    pub latency: Duration,
    /// Share of creates that succeed but whose answer is lost (a server error is sent instead).
    pub ghost_rate: f64,
    /// Life of a Zalo access token (default 25 h).
    pub token_ttl: Option<Duration>,
    /// Share of answers held for [`Faults::slow_for`] *after* the platform acted (0.0–1.0): a
    /// slow create still creates, so a client that stops waiting must reconcile.
    pub slow_rate: f64,
    /// How long a slow answer is held, in real time (default [`DEFAULT_SLOW_FOR`]).
    pub slow_for: Option<Duration>,
    /// Share of calls refused by the platform's rate limit (0.0–1.0), nothing done: Facebook's
    /// codes 4, 17, 32 or 613 with the usage headers at 100 %, half of them with
    /// `estimated_time_to_regain_access` (one minute) and half without; Zalo's `-32` with
    /// `X-RateLimit-Remain: 0`.
    pub rate_limit_rate: f64,
    /// Zalo access tokens stop working (`-216`) after this many Open API calls each, whatever
    /// their `expires_in` says.
    pub token_calls: Option<u32>,
    /// Seed of the dice the faults are rolled with (`None`: a random seed), so a failing run
    /// can be replayed.
    pub seed: Option<u64>,
}

impl Faults {
    /// How long a slow answer is held.
    pub fn slow_for(&self) -> Duration {
        self.slow_for.unwrap_or(DEFAULT_SLOW_FOR)
    }
}

/// How close the sandbox's platforms came to their rate limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// The highest usage percentage Facebook's headers reported (share of the hour's budget).
    pub facebook_peak_percent: u64,
    /// Facebook calls (batch items included) refused with 80001.
    pub facebook_refusals: usize,
    /// The highest share of Zalo's per-minute budget used, in percent.
    pub zalo_peak_percent: u64,
    /// Zalo calls refused with `-32`.
    pub zalo_refusals: usize,
}

/// One request the sandbox received, with its answer's status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Received {
    /// When (sandbox clock).
    pub at: DateTime<Utc>,
    /// `facebook` or `zalo`.
    pub platform: &'static str,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// What happened, in a few words (`created 123_456`, `error -214`, …).
    pub answer: String,
}

/// The sandbox's state, shared by both simulated platforms.
pub struct Sandbox {
    /// The sandbox's time (the demo runs it compressed, like loa's engine).
    pub clock: Clock,
    /// Injected faults.
    pub faults: Faults,
    /// The simulated Page.
    pub facebook: Mutex<facebook::Page>,
    /// The simulated OA.
    pub zalo: Mutex<zalo::Oa>,
    /// Every request received, in order.
    pub received: Mutex<Vec<Received>>,
    /// The dice faults are rolled with (seeded from [`Faults::seed`]).
    dice: Mutex<fastrand::Rng>,
    /// Zalo token requests being answered now (a crash test kills loa only between refreshes).
    pub zalo_token_calls_in_flight: std::sync::atomic::AtomicUsize,
}

impl Sandbox {
    /// A sandbox with empty platforms.
    pub fn new(clock: Clock, faults: Faults) -> Arc<Sandbox> {
        let dice = faults
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Arc::new(Sandbox {
            facebook: Mutex::new(facebook::Page::new(clock.clone())),
            clock,
            dice: Mutex::new(dice),
            zalo_token_calls_in_flight: std::sync::atomic::AtomicUsize::new(0),
            faults,
            zalo: Mutex::new(zalo::Oa::new()),
            received: Mutex::new(Vec::new()),
        })
    }

    /// Sets the Facebook Page's call budget per rolling sandbox-hour (default
    /// [`facebook::DEFAULT_CALL_BUDGET`]); every batch item counts as one call.
    pub fn set_facebook_call_budget(&self, calls: usize) {
        self.page().set_call_budget(calls);
    }

    /// Retires the insights metric `metric` from now on, as Facebook did with
    /// `post_impressions`: any insights call naming it answers `(#100) The value must be a valid
    /// insights metric`.
    pub fn retire_metric(&self, metric: &str) {
        self.page().retire_metric(metric);
    }

    /// While `on`, every publishing request on `channel` is refused with a permanent error and
    /// creates nothing, so that loa marks the delivery `failed` (no retry): Facebook answers
    /// `(#100) Invalid parameter` to `/feed` and to a published `/photos`; Zalo answers `-248`
    /// ("Violates our platform standards") to `article/create`. Both are Permanent in §6 of
    /// `shared/api/`. Everything else (reads, updates, deletes, uploads) works as before.
    pub fn refuse_publishing(&self, channel: Channel, on: bool) {
        match channel {
            Channel::Facebook => self.page().refuse_publishing(on),
            Channel::Zalo => self
                .zalo
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .refuse_publishing(on),
        }
    }

    /// How close both platforms came to their rate limits, and how often they refused.
    pub fn limits(&self) -> Limits {
        let (fb_peak, fb_refusals) = {
            let page = self.page();
            (page.peak_usage_percent(), page.rate_limit_refusals())
        };
        let oa = self.zalo.lock().unwrap_or_else(PoisonError::into_inner);
        Limits {
            facebook_peak_percent: fb_peak,
            facebook_refusals: fb_refusals,
            zalo_peak_percent: oa.peak_usage_percent(),
            zalo_refusals: oa.rate_limit_refusals(),
        }
    }

    fn page(&self) -> std::sync::MutexGuard<'_, facebook::Page> {
        self.facebook.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a request and its answer.
    pub fn record(
        &self,
        platform: &'static str,
        method: &str,
        path: &str,
        answer: impl Into<String>,
    ) {
        let r = Received {
            at: self.clock.now(),
            platform,
            method: method.to_string(),
            path: path.to_string(),
            answer: answer.into(),
        };
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(r);
    }

    /// True with probability `rate`, from the sandbox's dice (seeded by [`Faults::seed`]).
    pub fn roll(&self, rate: f64) -> bool {
        rate > 0.0 && self.dice().f64() < rate
    }

    /// Whether this answer is slow ([`Faults::slow_rate`]).
    pub fn roll_slow(&self) -> bool {
        self.roll(self.faults.slow_rate)
    }

    /// Whether this call is refused by an injected rate limit ([`Faults::rate_limit_rate`]).
    pub fn roll_rate_limit(&self) -> bool {
        self.roll(self.faults.rate_limit_rate)
    }

    /// A number in `0..n` from the sandbox's dice.
    pub fn pick(&self, n: usize) -> usize {
        self.dice().usize(..n.max(1))
    }

    fn dice(&self) -> std::sync::MutexGuard<'_, fastrand::Rng> {
        self.dice.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds a slow answer (real time: it stands for a server that hangs, which the clients'
    /// HTTP timeouts measure in real time).
    pub async fn hold(&self) {
        tokio::time::sleep(self.faults.slow_for()).await;
    }

    /// Waits the configured latency.
    pub async fn lag(&self) {
        if !self.faults.latency.is_zero() {
            // Real time, not the sandbox's clock: it stands for the network, which the clients'
            // HTTP timeouts measure in real time.
            tokio::time::sleep(self.faults.latency).await;
        }
    }
}

/// Both simulated platforms on one router: Graph under `/v{N}/…` (any version) and
/// `/oauth/…`; Zalo under `/v2.0/…` and `/v4/oa/…`.
pub fn router(sandbox: Arc<Sandbox>) -> axum::Router {
    facebook::routes(sandbox.clone()).merge(zalo::routes(sandbox))
}

/// Serves the sandbox on 127.0.0.1:`port` (0: any free port) until the task is dropped.
pub async fn serve(
    sandbox: Arc<Sandbox>,
    port: u16,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let app = router(sandbox);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, header};
    use serde_json::{Value, json};
    use tower::ServiceExt;

    /// The answer's status and JSON body.
    async fn call(sandbox: &Arc<Sandbox>, request: Request<Body>) -> (u16, Value) {
        let response = router(sandbox.clone()).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn facebook_post(sandbox: &Arc<Sandbox>, message: &str) -> (u16, Value) {
        let request = Request::post(format!("/v25.0/{PAGE_ID}/feed"))
            .header(header::AUTHORIZATION, format!("Bearer {PAGE_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("message={message}")))
            .unwrap();
        call(sandbox, request).await
    }

    async fn zalo_create(sandbox: &Arc<Sandbox>, token: &str, title: &str) -> (u16, Value) {
        let article = json!({
            "type": "normal",
            "title": title,
            "author": "UBND xã",
            "description": "Thông báo",
            "cover": {"cover_type": "photo", "photo_url": "https://example.gov.vn/logo.jpg", "status": "show"},
            "body": [{"type": "text", "content": "Nội dung"}],
            "status": "show",
        });
        let request = Request::post("/v2.0/article/create")
            .header("access_token", token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(article.to_string()))
            .unwrap();
        call(sandbox, request).await
    }

    #[tokio::test]
    async fn refuse_publishing_refuses_for_good_and_creates_nothing_until_switched_off() {
        let sandbox = Sandbox::new(Clock::system(), Faults::default());
        let refresh = Request::post("/v4/oa/access_token")
            .header("secret_key", ZALO_APP.1)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "app_id={}&grant_type=refresh_token&refresh_token={ZALO_FIRST_REFRESH_TOKEN}",
                ZALO_APP.0
            )))
            .unwrap();
        let (_, pair) = call(&sandbox, refresh).await;
        let token = pair["access_token"].as_str().unwrap().to_string();

        sandbox.refuse_publishing(Channel::Facebook, true);
        sandbox.refuse_publishing(Channel::Zalo, true);
        // Graph: 400, code 100 without a subcode (Permanent in §6), the person's words.
        let (status, body) = facebook_post(&sandbox, "Refused").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], 100, "{body}");
        assert_eq!(body["error"]["type"], "OAuthException");
        assert!(body["error"].get("error_subcode").is_none(), "{body}");
        assert!(body["error"].get("is_transient").is_none(), "{body}");
        assert!(body["error"]["error_user_msg"].is_string(), "{body}");
        // Zalo: HTTP 200 with -248 (content rejected, Permanent in §6).
        let (status, body) = zalo_create(&sandbox, &token, "Refused").await;
        assert_eq!(status, 200);
        assert_eq!(body["error"], -248, "{body}");
        assert_eq!(body["message"], "Violates our platform standards");
        assert!(sandbox.page().posts().is_empty(), "nothing on the Page");
        assert!(sandbox.zalo.lock().unwrap().articles().is_empty());

        // One channel at a time: Facebook back on, Zalo still refusing.
        sandbox.refuse_publishing(Channel::Facebook, false);
        let (status, body) = facebook_post(&sandbox, "Accepted").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["id"].is_string(), "{body}");
        let (_, body) = zalo_create(&sandbox, &token, "Refused again").await;
        assert_eq!(body["error"], -248, "{body}");

        sandbox.refuse_publishing(Channel::Zalo, false);
        let (_, body) = zalo_create(&sandbox, &token, "Accepted").await;
        assert_eq!(body["error"], 0, "{body}");
        assert_eq!(sandbox.page().posts().len(), 1);
        let articles = sandbox.zalo.lock().unwrap().articles();
        assert_eq!(articles.len(), 1);
        assert_eq!(articles[0].title, "Accepted");
        let refused = sandbox
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.answer.contains("error 100") || r.answer.contains("error -248"))
            .count();
        assert_eq!(refused, 3, "each refusal is recorded");
    }
}
