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
