//! Who may use the dashboard, and proof that a form came from it.
//!
//! - Every browser gets a random session id in a cookie (`HttpOnly; SameSite=Strict`).
//! - Every state-changing request is a POST carrying a CSRF token: a keyed hash of the session
//!   id with a secret made at start, so only a page loa served to that browser holds it.
//! - With `LOA_WEB_PASSWORD` set (required off loopback), a session must first log in. The
//!   password is compared in constant time (as SHA-256 digests, so its length does not leak),
//!   one login attempt is judged at a time, and each wrong one costs a second or more: guessing
//!   is slow whoever asks. Logging in gives a new session id (no fixation).
//!
//! Sessions live in memory: a restart logs everyone out, which is the safe direction.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "loa_session";

/// How long a logged-in session lasts without a new login.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// At most this many logged-in sessions are kept; the oldest goes first.
const MAX_SESSIONS: usize = 64;

/// The wait after a wrong password; it doubles with each one in a row, up to [`MAX_PENALTY`].
const PENALTY: Duration = Duration::from_secs(1);
const MAX_PENALTY: Duration = Duration::from_secs(16);

/// A random id of 32 bytes, as hex.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // Without the system's randomness there is no safe session: refuse to go on.
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The dashboard's gatekeeper.
pub struct Access {
    /// Keys the CSRF tokens; made at start, never shown.
    secret: [u8; 32],
    /// SHA-256 of `LOA_WEB_PASSWORD`, when a password is required.
    password: Option<[u8; 32]>,
    /// Logged-in sessions and when they end.
    sessions: Mutex<HashMap<String, Instant>>,
    /// One login judged at a time; holds how many wrong ones came in a row.
    login: tokio::sync::Mutex<u32>,
}

impl Access {
    /// A gatekeeper; `password` makes every page but the login page need it.
    pub fn new(password: Option<&SecretString>) -> Access {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system gives random bytes");
        Access {
            secret,
            password: password.map(|p| digest(p.expose_secret().as_bytes())),
            sessions: Mutex::new(HashMap::new()),
            login: tokio::sync::Mutex::new(0),
        }
    }

    /// Whether pages need a login.
    pub fn needs_login(&self) -> bool {
        self.password.is_some()
    }

    /// The CSRF token of the session `id`.
    pub fn csrf(&self, id: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(b"csrf\0");
        h.update(id.as_bytes());
        hex(&h.finalize())
    }

    /// Whether `token` is the CSRF token of session `id` (constant time).
    pub fn csrf_ok(&self, id: &str, token: &str) -> bool {
        let want = self.csrf(id);
        want.len() == token.len() && bool::from(want.as_bytes().ct_eq(token.as_bytes()))
    }

    /// Whether session `id` may see pages: no password is set, or it logged in and has not
    /// expired.
    pub fn allowed(&self, id: &str) -> bool {
        if self.password.is_none() {
            return true;
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get(id) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                sessions.remove(id);
                false
            }
            None => false,
        }
    }

    /// Judges a login attempt; on success returns the new session id to set. A wrong password
    /// waits before answering, longer after each wrong one in a row; attempts queue behind it.
    pub async fn log_in(&self, password: &str) -> Option<String> {
        let expected = self.password?;
        let mut wrong = self.login.lock().await;
        let given = digest(password.as_bytes());
        if bool::from(given.ct_eq(&expected)) {
            *wrong = 0;
            let id = random_id();
            let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            sessions.retain(|_, until| *until > now);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, until)| **until)
                    .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
            sessions.insert(id.clone(), now + SESSION_LIFETIME);
            return Some(id);
        }
        *wrong = wrong.saturating_add(1);
        let wait = PENALTY
            .saturating_mul(1 << (*wrong - 1).min(4))
            .min(MAX_PENALTY);
        tracing::warn!(in_a_row = *wrong, "wrong dashboard password");
        tokio::time::sleep(wait).await;
        None
    }

    /// Ends session `id`.
    pub fn log_out(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The `Set-Cookie` value that gives a browser session `id`.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict")
}

/// The session id a request's `Cookie` header carries, when it looks like one loa made.
pub fn session_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            *name == COOKIE && value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_one_session_and_one_process() {
        let a = Access::new(None);
        let id = random_id();
        let token = a.csrf(&id);
        assert!(a.csrf_ok(&id, &token));
        assert!(!a.csrf_ok(&random_id(), &token));
        assert!(!a.csrf_ok(&id, ""));
        assert!(!a.csrf_ok(&id, &token[..63]));
        // Another start, another secret: old pages' tokens no longer work.
        assert!(!Access::new(None).csrf_ok(&id, &token));
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_password_logs_in_and_wrong_ones_wait_longer_each_time() {
        let a = Access::new(Some(&SecretString::from("mật khẩu đúng")));
        assert!(a.needs_login());
        let start = tokio::time::Instant::now();
        assert_eq!(a.log_in("sai").await, None);
        assert_eq!(a.log_in("sai nữa").await, None);
        assert_eq!(start.elapsed(), Duration::from_secs(3), "1 s, then 2 s");
        let id = a.log_in("mật khẩu đúng").await.expect("logged in");
        assert!(a.allowed(&id));
        assert!(!a.allowed(&random_id()));
        a.log_out(&id);
        assert!(!a.allowed(&id));
    }

    #[test]
    fn the_cookie_is_read_only_when_it_looks_like_ours() {
        let id = random_id();
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            format!("other=1; {COOKIE}={id}").parse().unwrap(),
        );
        assert_eq!(session_of(&h), Some(id));
        h.insert(
            axum::http::header::COOKIE,
            format!("{COOKIE}=<script>").parse().unwrap(),
        );
        assert_eq!(session_of(&h), None);
    }
}
