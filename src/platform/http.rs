//! The HTTP client every platform call goes through: rustls (no OpenSSL to install on the
//! commune's machine), a user agent that names loa, and bounded waits so a silent server can
//! never hold a delivery forever.

use std::time::Duration;

/// How long connecting may take before the call counts as failed. Real time, not the clock's:
/// the network answers at its own pace, even in the demo.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole call may take. Photo uploads from a slow office line can take a while.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Shortens [`CALL_TIMEOUT`] (seconds, e.g. `2` or `0.5`): the proof suites hold answers back
/// longer than loa waits, and cannot wait two minutes each time. Never set in service.
pub const CALL_TIMEOUT_ENV: &str = "LOA_HTTP_TIMEOUT";

/// [`CALL_TIMEOUT`], or a shorter one from [`CALL_TIMEOUT_ENV`].
fn call_timeout() -> Duration {
    shortened(CALL_TIMEOUT)
}

/// `wait`, or the shorter wait of [`CALL_TIMEOUT_ENV`] when one is set: every bounded wait on
/// the network (the alert sinks' too) can be shortened the same way by the proof suites.
pub fn shortened(wait: Duration) -> Duration {
    std::env::var(CALL_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(wait, |s| Duration::from_secs_f64(s).min(wait))
}

/// The HTTP client: rustls, bounded waits.
pub fn client() -> reqwest::Client {
    builder().build().unwrap_or_else(|_| reqwest::Client::new())
}

/// The HTTP client for a platform at `base_url`: like [`client`], but a loopback fake
/// (`loa sandbox`, tests) is reached directly, never through an `HTTP(S)_PROXY` from the
/// environment.
pub fn client_for(base_url: &str) -> reqwest::Client {
    let builder = builder();
    let builder = if crate::config::is_loopback_url(base_url) {
        builder.no_proxy()
    } else {
        builder
    };
    builder.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// The settings every loa client shares, for a caller that must add its own.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("loa/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(call_timeout())
}
