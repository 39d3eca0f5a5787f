//! `loa::zalo::oauth` against a fake Zalo OAuth server (wiremock on 127.0.0.1).
//!
//! Besides the exact requests, these tests pin down the safety properties of the module: a
//! refresh token is sent at most once (twice only after a lost reply), concurrent callers and a
//! second process cause one refresh, the new pair is on disk before its token is handed out, a
//! lost pair is recorded, and no error text ever contains a token or the app secret.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use loa::clock::Clock;
use loa::token_store::{TokenStore, ZaloTokens};
use loa::zalo::oauth::{AuthError, REFRESH_TOKEN_ENV, ZaloAuth};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const APP_ID: &str = "1234567890";
const APP_SECRET: &str = "appSECRETzalo0123456789";
const AT1: &str = "AT1-old-access-token-aaaa";
const RT1: &str = "RT1-old-refresh-token-bbbb";
const AT2: &str = "AT2-new-access-token-cccc";
const RT2: &str = "RT2-new-refresh-token-dddd";
const AT3: &str = "AT3-newer-access-token-eeee";
const RT3: &str = "RT3-newer-refresh-token-ffff";
const CODE: &str = "CODE-from-callback-gggg";

/// Every secret used here; none may show up in any error text.
const SECRETS: [&str; 8] = [APP_SECRET, AT1, RT1, AT2, RT2, AT3, RT3, CODE];

const TOKEN_PATH: &str = "/v4/oa/access_token";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn auth_with(http: reqwest::Client, oauth_url: &str, dir: &Path) -> ZaloAuth {
    ZaloAuth::new(
        http,
        oauth_url,
        APP_ID,
        SecretString::from(APP_SECRET),
        TokenStore::new(dir),
        Clock::system(),
    )
}

fn auth(server: &MockServer, dir: &Path) -> ZaloAuth {
    auth_with(client(), &server.uri(), dir)
}

fn put(dir: &Path, zalo: ZaloTokens) {
    TokenStore::new(dir)
        .update(|t| {
            t.zalo = Some(zalo);
            Ok(())
        })
        .unwrap();
}

fn stored(dir: &Path) -> ZaloTokens {
    TokenStore::new(dir)
        .load()
        .unwrap()
        .zalo
        .unwrap_or_default()
}

fn raw(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("tokens.json")).unwrap()).unwrap()
}

fn secret_of(t: &Option<SecretString>) -> Option<&str> {
    t.as_ref().map(|s| s.expose_secret())
}

/// A pair whose access token expired an hour ago (issued 26 h ago).
fn expired_pair() -> ZaloTokens {
    let now = Utc::now();
    ZaloTokens {
        access_token: Some(AT1.into()),
        access_expires_at: Some(now - TimeDelta::hours(1)),
        refresh_token: Some(RT1.into()),
        refresh_issued_at: Some(now - TimeDelta::hours(26)),
        ..ZaloTokens::default()
    }
}

/// A 25 h pair issued `age` ago.
fn pair_aged(access: &str, refresh: &str, age: TimeDelta) -> ZaloTokens {
    let issued = Utc::now() - age;
    ZaloTokens {
        access_token: Some(access.into()),
        access_expires_at: Some(issued + TimeDelta::seconds(90_000)),
        refresh_token: Some(refresh.into()),
        refresh_issued_at: Some(issued),
        ..ZaloTokens::default()
    }
}

fn granted(access: &str, refresh: &str, expires_in: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "refresh_token": refresh, "expires_in": expires_in
    }))
}

fn invalid_refresh_token() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "error": -14014, "error_name": "Invalid refresh token",
        "error_reason": "refresh token is invalid or used",
        "error_description": "Invalid refresh token"
    }))
}

/// The refresh call for `refresh_token`.
fn refresh_with(refresh_token: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains(format!(
            "refresh_token={refresh_token}"
        )))
}

/// A form body as a map (every key must be unique).
fn form(request: &Request) -> BTreeMap<String, String> {
    let body = std::str::from_utf8(&request.body).unwrap();
    let url = reqwest::Url::parse(&format!("http://x/?{body}")).unwrap();
    let mut map = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        assert!(
            map.insert(k.into_owned(), v.into_owned()).is_none(),
            "duplicate form key in {body}"
        );
    }
    map
}

/// The refresh tokens sent, in order.
async fn refresh_tokens_sent(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| form(r).get("refresh_token").cloned())
        .collect()
}

async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Display, alternate Display, Debug and the whole source chain.
fn all_text(error: &AuthError) -> String {
    let mut text = format!("{error} / {error:#} / {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(&format!(" / {s} / {s:?}"));
        source = s.source();
    }
    text
}

fn assert_no_secrets(error: &AuthError) {
    let text = all_text(error);
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked into: {text}");
    }
}

fn assert_needs_reauth(error: &AuthError) {
    assert!(
        matches!(error, AuthError::NeedsReauth(_)),
        "expected NeedsReauth, got {error:?}"
    );
    assert!(error.to_string().contains("loa auth zalo --url"), "{error}");
    assert_no_secrets(error);
}

fn assert_close(actual: Option<DateTime<Utc>>, expected: DateTime<Utc>) {
    let actual = actual.expect("a time");
    assert!(
        (actual - expected).abs() < TimeDelta::seconds(30),
        "{actual} is not close to {expected}"
    );
}

/// base64url without padding, written independently of the module's encoder.
fn b64url(bytes: &[u8]) -> String {
    let alphabet: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['-', '_'])
        .collect();
    let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
    bits.as_bytes()
        .chunks(6)
        .map(|chunk| {
            let mut six = String::from_utf8(chunk.to_vec()).unwrap();
            while six.len() < 6 {
                six.push('0');
            }
            alphabet[usize::from_str_radix(&six, 2).unwrap()]
        })
        .collect()
}

#[tokio::test]
async fn refresh_request_is_exact_and_the_pair_is_on_disk_before_the_token_is_returned() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!("90000")))
        .expect(1)
        .mount(&server)
        .await;

    let token = auth(&server, dir.path()).access_token().await.unwrap();
    // Right after: the file already holds the new pair.
    let file = raw(dir.path());
    assert_eq!(token.expose_secret(), AT2);
    assert_eq!(file["zalo"]["access_token"], AT2);
    assert_eq!(file["zalo"]["refresh_token"], RT2);
    let z = stored(dir.path());
    assert_close(z.access_expires_at, Utc::now() + TimeDelta::seconds(90_000));
    assert_close(z.refresh_issued_at, Utc::now());
    assert!(z.needs_reauth.is_none());

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), TOKEN_PATH);
    assert_eq!(request.url.query(), None, "nothing travels in the URL");
    assert_eq!(request.headers["secret_key"], APP_SECRET);
    assert!(request.headers.get("authorization").is_none());
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let expected: BTreeMap<String, String> = [
        ("refresh_token", RT1),
        ("app_id", APP_ID),
        ("grant_type", "refresh_token"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form(request), expected);
    let body = String::from_utf8_lossy(&request.body);
    assert!(
        !body.contains(APP_SECRET),
        "the secret is in the body: {body}"
    );
}

#[tokio::test]
async fn expires_in_may_be_a_string_or_a_number() {
    for (expires_in, seconds) in [
        (json!("90000"), 90_000),
        (json!(90000), 90_000),
        (json!("86400"), 86_400),
    ] {
        let server = MockServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), expired_pair());
        refresh_with(RT1)
            .respond_with(granted(AT2, RT2, expires_in.clone()))
            .expect(1)
            .mount(&server)
            .await;
        let token = auth(&server, dir.path()).access_token().await.unwrap();
        assert_eq!(token.expose_secret(), AT2);
        assert_close(
            stored(dir.path()).access_expires_at,
            Utc::now() + TimeDelta::seconds(seconds),
        );
        let status = auth(&server, dir.path()).status();
        assert_close(
            status.access_expires_at,
            Utc::now() + TimeDelta::seconds(seconds),
        );
    }
}

#[tokio::test]
async fn a_fresh_token_is_used_as_is_and_one_inside_the_margin_is_refreshed() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!("90000")))
        .expect(1)
        .mount(&server)
        .await;
    let zalo = auth(&server, dir.path());

    // 19 h into 25 h: 6 h left, outside the 5 h margin.
    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::hours(19)));
    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT1);
    assert_eq!(request_count(&server).await, 0);

    // 21 h in: 4 h left, refreshed.
    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::hours(21)));
    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT2);
    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT2);
    assert_eq!(refresh_tokens_sent(&server).await, [RT1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_and_a_second_process_cause_exactly_one_refresh() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    // Slow enough that every caller arrives while the refresh is in flight.
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!("90000")).set_delay(Duration::from_millis(300)))
        .with_priority(1)
        .mount(&server)
        .await;
    // Anything else (RT1 again, RT2) would be a second refresh.
    Mock::given(method("POST"))
        .respond_with(invalid_refresh_token())
        .with_priority(2)
        .mount(&server)
        .await;

    // Two instances on one data_dir: separate in-process locks, like two processes.
    let first = Arc::new(auth(&server, dir.path()));
    let second = Arc::new(auth(&server, dir.path()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let zalo = Arc::clone(if i % 2 == 0 { &first } else { &second });
        tasks.push(tokio::spawn(async move { zalo.access_token().await }));
    }
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        assert_eq!(token.expose_secret(), AT2);
    }
    assert_eq!(refresh_tokens_sent(&server).await, [RT1]);
    assert_eq!(request_count(&server).await, 1);
    let z = stored(dir.path());
    assert_eq!(secret_of(&z.refresh_token), Some(RT2));
    assert!(z.needs_reauth.is_none());
}

#[tokio::test]
async fn a_rejection_refreshes_only_if_the_rejected_token_is_still_the_stored_one() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    refresh_with(RT2)
        .respond_with(granted(AT3, RT3, json!("90000")))
        .expect(1)
        .mount(&server)
        .await;
    let zalo = auth(&server, dir.path());

    // Someone already rotated AT1 → AT2: the rejected AT1 does not trigger a refresh.
    put(dir.path(), pair_aged(AT2, RT2, TimeDelta::hours(1)));
    let token = zalo
        .refresh_after_rejection(&SecretString::from(AT1))
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), AT2);
    assert_eq!(request_count(&server).await, 0);

    // AT2 itself rejected (fresh or not): refresh with RT2.
    let token = zalo
        .refresh_after_rejection(&SecretString::from(AT2))
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), AT3);
    assert_eq!(refresh_tokens_sent(&server).await, [RT2]);
    assert_eq!(raw(dir.path())["zalo"]["refresh_token"], RT3);

    // A late caller still holding AT2 gets AT3 without another call.
    let token = zalo
        .refresh_after_rejection(&SecretString::from(AT2))
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), AT3);
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_refused_refresh_token_is_recorded_and_never_sent_again() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(invalid_refresh_token())
        .mount(&server)
        .await;
    let zalo = auth(&server, dir.path());

    let error = zalo.access_token().await.unwrap_err();
    assert_needs_reauth(&error);
    assert!(error.to_string().contains("-14014"), "{error}");
    let reason = stored(dir.path()).needs_reauth.expect("recorded");
    assert!(reason.contains("-14014") && reason.contains("loa auth zalo --url"));
    assert_eq!(zalo.status().needs_reauth.as_deref(), Some(reason.as_str()));

    // Every later attempt stops at the record.
    assert_needs_reauth(&zalo.access_token().await.unwrap_err());
    assert_needs_reauth(&zalo.refresh_if_due().await.unwrap_err());
    assert_needs_reauth(
        &zalo
            .refresh_after_rejection(&SecretString::from(AT1))
            .await
            .unwrap_err(),
    );
    assert_needs_reauth(&auth(&server, dir.path()).access_token().await.unwrap_err());
    assert_eq!(refresh_tokens_sent(&server).await, [RT1]);
    // The env variable cannot resurrect the dead token either.
    assert!(!zalo.seed_if_empty(RT1).unwrap());
}

#[tokio::test]
async fn a_refused_refresh_still_leaves_the_current_token_usable_until_it_expires() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // 22 h in: 3 h left, so a refresh is attempted, and refused.
    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::hours(22)));
    refresh_with(RT1)
        .respond_with(invalid_refresh_token())
        .expect(1)
        .mount(&server)
        .await;
    let zalo = auth(&server, dir.path());

    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT1);
    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT1);
    assert!(stored(dir.path()).needs_reauth.is_some());
    assert!(zalo.status().needs_reauth.is_some());
    // Once Zalo rejects it, there is nothing left.
    assert_needs_reauth(
        &zalo
            .refresh_after_rejection(&SecretString::from(AT1))
            .await
            .unwrap_err(),
    );
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_rate_limit_spends_nothing() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"error": -32, "message": "Your application reached limit call api"}),
        ))
        .mount(&server)
        .await;
    let error = auth(&server, dir.path()).access_token().await.unwrap_err();
    assert!(matches!(error, AuthError::RateLimited), "{error:?}");
    assert_no_secrets(&error);
    let z = stored(dir.path());
    assert!(z.needs_reauth.is_none());
    assert_eq!(secret_of(&z.refresh_token), Some(RT1));
}

#[tokio::test]
async fn a_lost_reply_is_retried_once_with_the_same_refresh_token() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(ResponseTemplate::new(500).set_body_string("Internal Server Error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!(90000)))
        .with_priority(2)
        .mount(&server)
        .await;

    let began = std::time::Instant::now();
    let token = auth(&server, dir.path()).access_token().await.unwrap();
    // The pause before the retry: a second on the system clock.
    assert!(began.elapsed() >= Duration::from_secs(1));
    assert_eq!(token.expose_secret(), AT2);
    assert_eq!(refresh_tokens_sent(&server).await, [RT1, RT1]);
    let z = stored(dir.path());
    assert_eq!(secret_of(&z.refresh_token), Some(RT2));
    assert!(z.needs_reauth.is_none());
}

/// The demo's compressed clock compresses the token manager's waits too: the pause before the
/// retry after a lost reply (a second of the clock's time) passes in a fraction of a real second.
#[tokio::test]
async fn the_pause_before_the_retry_is_on_the_token_managers_clock() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let start = DateTime::parse_from_rfc3339(loa::demo::DEMO_START)
        .unwrap()
        .with_timezone(&Utc);
    let clock = Clock::compressed(start, loa::demo::SPEED);
    put(
        dir.path(),
        ZaloTokens {
            access_expires_at: Some(start - TimeDelta::hours(1)),
            refresh_issued_at: Some(start - TimeDelta::hours(26)),
            ..expired_pair()
        },
    );
    refresh_with(RT1)
        .respond_with(ResponseTemplate::new(500).set_body_string("Internal Server Error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!(90000)))
        .with_priority(2)
        .mount(&server)
        .await;
    let auth = ZaloAuth::new(
        client(),
        &server.uri(),
        APP_ID,
        SecretString::from(APP_SECRET),
        TokenStore::new(dir.path()),
        clock.clone(),
    );

    let began = std::time::Instant::now();
    let token = auth.access_token().await.unwrap();
    let real = began.elapsed();
    assert_eq!(token.expose_secret(), AT2);
    assert_eq!(refresh_tokens_sent(&server).await, [RT1, RT1]);
    // The whole refresh, both calls included, took less real time than the pause alone takes
    // on the system clock (see the test above)…
    assert!(real < Duration::from_secs(1), "took {real:?}");
    // …and the new pair is dated on the same clock.
    let expires = stored(dir.path()).access_expires_at.unwrap();
    assert!(
        expires > start + TimeDelta::hours(25) && expires <= clock.now() + TimeDelta::hours(25)
    );
}

#[tokio::test]
async fn a_timed_out_reply_is_retried_once_with_the_same_refresh_token() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!("90000")).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    refresh_with(RT1)
        .respond_with(granted(AT3, RT3, json!("90000")))
        .with_priority(2)
        .mount(&server)
        .await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let token = auth_with(http, &server.uri(), dir.path())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), AT3);
    assert_eq!(refresh_tokens_sent(&server).await, [RT1, RT1]);
    assert_eq!(raw(dir.path())["zalo"]["refresh_token"], RT3);
}

#[tokio::test]
async fn two_lost_replies_lose_the_pair() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let zalo = auth(&server, dir.path());

    let error = zalo.access_token().await.unwrap_err();
    assert_needs_reauth(&error);
    assert!(stored(dir.path()).needs_reauth.is_some());
    assert_needs_reauth(&zalo.access_token().await.unwrap_err());
    assert_eq!(refresh_tokens_sent(&server).await, [RT1, RT1]);
}

#[tokio::test]
async fn a_lost_reply_then_a_refusal_loses_the_pair() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    // The first call spent RT1 but its reply arrived broken; the retry finds RT1 used.
    refresh_with(RT1)
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    refresh_with(RT1)
        .respond_with(invalid_refresh_token())
        .with_priority(2)
        .mount(&server)
        .await;

    let error = auth(&server, dir.path()).access_token().await.unwrap_err();
    assert_needs_reauth(&error);
    assert!(error.to_string().contains("lost"), "{error}");
    assert!(stored(dir.path()).needs_reauth.is_some());
    assert_eq!(refresh_tokens_sent(&server).await, [RT1, RT1]);
}

#[tokio::test]
async fn a_connection_that_never_happened_spends_nothing() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());

    let error = auth_with(client(), &url, dir.path())
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Transport(_)), "{error:?}");
    assert_no_secrets(&error);
    let z = stored(dir.path());
    assert!(z.needs_reauth.is_none());
    assert_eq!(secret_of(&z.refresh_token), Some(RT1));

    // With time left on the current token, a failed refresh is not even an error.
    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::hours(22)));
    let token = auth_with(client(), &url, dir.path())
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), AT1);
}

#[tokio::test]
async fn refresh_if_due_refreshes_a_20_hour_old_token_and_nothing_younger() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    refresh_with(RT1)
        .respond_with(granted(AT2, RT2, json!("90000")))
        .expect(1)
        .mount(&server)
        .await;
    let zalo = auth(&server, dir.path());

    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::hours(3)));
    assert!(!zalo.refresh_if_due().await.unwrap());
    assert_eq!(request_count(&server).await, 0);

    // 21 h old, though this token would live 31 h: age alone makes it due.
    let issued = Utc::now() - TimeDelta::hours(21);
    put(
        dir.path(),
        ZaloTokens {
            access_token: Some(AT1.into()),
            access_expires_at: Some(issued + TimeDelta::hours(31)),
            refresh_token: Some(RT1.into()),
            refresh_issued_at: Some(issued),
            ..ZaloTokens::default()
        },
    );
    assert!(zalo.refresh_if_due().await.unwrap());
    assert!(!zalo.refresh_if_due().await.unwrap());
    assert_eq!(refresh_tokens_sent(&server).await, [RT1]);
    assert_eq!(secret_of(&stored(dir.path()).refresh_token), Some(RT2));
}

#[tokio::test]
async fn without_any_token_the_officer_is_told_to_authorize() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let zalo = auth(&server, dir.path());
    assert_needs_reauth(&zalo.access_token().await.unwrap_err());
    assert_needs_reauth(&zalo.refresh_if_due().await.unwrap_err());
    let status = zalo.status();
    assert!(
        status
            .needs_reauth
            .unwrap()
            .contains("LOA_ZALO_REFRESH_TOKEN")
    );
    assert_eq!(status.access_expires_at, None);
    assert_eq!(request_count(&server).await, 0);
}

#[test]
fn seeding_fills_only_an_empty_store_and_seed_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let zalo = auth_with(client(), "http://127.0.0.1:9", dir.path());

    assert!(!zalo.seed_if_empty("  \n").unwrap());
    assert!(zalo.seed_if_empty(&format!("{RT1}\n")).unwrap());
    assert_eq!(secret_of(&stored(dir.path()).refresh_token), Some(RT1));
    assert!(!zalo.seed_if_empty(RT2).unwrap());
    assert_eq!(secret_of(&stored(dir.path()).refresh_token), Some(RT1));

    // `--refresh-token`: replaces the pair and clears the re-auth mark.
    put(
        dir.path(),
        ZaloTokens {
            needs_reauth: Some("refused".into()),
            ..expired_pair()
        },
    );
    assert!(matches!(zalo.seed("   "), Err(AuthError::Invalid(_))));
    zalo.seed(RT3).unwrap();
    let z = stored(dir.path());
    assert_eq!(secret_of(&z.refresh_token), Some(RT3));
    assert!(z.access_token.is_none() && z.needs_reauth.is_none());
    assert_close(z.refresh_issued_at, Utc::now());
    let status = zalo.status();
    assert!(status.needs_reauth.is_none());
    assert_close(status.refresh_expires_at, Utc::now() + TimeDelta::days(90));
}

/// Runs [`env_seed_child`] in a child process with `LOA_ZALO_REFRESH_TOKEN` set (or not), so
/// the environment of this process, shared by every test thread, is never changed.
fn seed_in_child(dir: &Path, token: Option<&str>) -> bool {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "env_seed_child", "--ignored", "--nocapture"])
        .env("LOA_TEST_ZALO_DATA_DIR", dir);
    match token {
        Some(token) => command.env(REFRESH_TOKEN_ENV, token),
        None => command.env_remove(REFRESH_TOKEN_ENV),
    };
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    if stdout.contains("seeded=true") {
        true
    } else {
        assert!(stdout.contains("seeded=false"), "{stdout}");
        false
    }
}

#[test]
#[ignore = "run in a child process by seed_from_env_only_seeds_an_empty_store"]
fn env_seed_child() {
    let Some(dir) = std::env::var_os("LOA_TEST_ZALO_DATA_DIR") else {
        return;
    };
    let zalo = auth_with(client(), "http://127.0.0.1:9", Path::new(&dir));
    println!("seeded={}", zalo.seed_from_env().unwrap());
}

#[test]
fn seed_from_env_only_seeds_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!seed_in_child(dir.path(), None));
    assert!(seed_in_child(dir.path(), Some(RT1)));
    assert_eq!(secret_of(&stored(dir.path()).refresh_token), Some(RT1));
    // Rotated since: the env value (spent) is ignored.
    put(dir.path(), pair_aged(AT2, RT2, TimeDelta::hours(1)));
    assert!(!seed_in_child(dir.path(), Some(RT1)));
    assert_eq!(secret_of(&stored(dir.path()).refresh_token), Some(RT2));
}

#[test]
fn consent_url_carries_the_challenge_of_a_stored_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let zalo = auth_with(client(), "https://oauth.zaloapp.com/", dir.path());
    let redirect = "https://example.gov.vn/zalo/callback?xã=Thanh Kỳ&a=1";
    let link = zalo.consent_url(redirect).unwrap();

    assert!(
        link.starts_with("https://oauth.zaloapp.com/v4/oa/permission?app_id=1234567890&redirect_uri=https%3A%2F%2Fexample.gov.vn%2Fzalo%2Fcallback%3F"),
        "{link}"
    );
    assert!(!link.contains(' '), "{link}");
    let url = reqwest::Url::parse(&link).unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let keys: Vec<&str> = query.keys().map(String::as_str).collect();
    assert_eq!(keys, ["app_id", "code_challenge", "redirect_uri", "state"]);
    assert_eq!(query["app_id"], APP_ID);
    assert_eq!(query["redirect_uri"], redirect);

    let z = stored(dir.path());
    let verifier = secret_of(&z.pkce_verifier).unwrap().to_owned();
    assert_eq!(verifier.len(), 43);
    assert!(
        verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{verifier}"
    );
    assert_eq!(query["code_challenge"], b64url(&Sha256::digest(&verifier)));
    assert_eq!(query["code_challenge"].len(), 43);
    assert!(!link.contains(&verifier), "the verifier must stay secret");
    assert_eq!(z.pkce_state.as_deref(), Some(query["state"].as_str()));
    assert!(query["state"].len() >= 16);

    // A second URL has a new verifier and state, and only it is remembered.
    let again = zalo.consent_url(redirect).unwrap();
    let z2 = stored(dir.path());
    assert_ne!(again, link);
    assert_ne!(secret_of(&z2.pkce_verifier).unwrap(), verifier);
    assert_ne!(z2.pkce_state, z.pkce_state);

    assert!(matches!(zalo.consent_url(" "), Err(AuthError::Invalid(_))));
}

#[tokio::test]
async fn exchange_code_sends_the_code_and_verifier_and_stores_the_pair() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        ZaloTokens {
            needs_reauth: Some("refused".into()),
            ..expired_pair()
        },
    );
    let zalo = auth(&server, dir.path());
    zalo.consent_url("https://example.gov.vn/cb").unwrap();
    let before = stored(dir.path());
    let verifier = secret_of(&before.pkce_verifier).unwrap().to_owned();
    let state = before.pkce_state.clone().unwrap();
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("secret_key", APP_SECRET))
        .respond_with(granted(AT2, RT2, json!(90000)))
        .expect(1)
        .mount(&server)
        .await;

    // A wrong state is refused before anything is sent.
    let error = zalo
        .exchange_code(CODE, Some("not-the-state"))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Invalid(_)), "{error:?}");
    assert_no_secrets(&error);
    assert_eq!(request_count(&server).await, 0);

    zalo.exchange_code(&format!(" {CODE}\n"), Some(&state))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), TOKEN_PATH);
    assert_eq!(request.headers["secret_key"], APP_SECRET);
    let expected: BTreeMap<String, String> = [
        ("code", CODE),
        ("app_id", APP_ID),
        ("grant_type", "authorization_code"),
        ("code_verifier", verifier.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form(request), expected);
    assert!(!String::from_utf8_lossy(&request.body).contains(APP_SECRET));

    let z = stored(dir.path());
    assert_eq!(secret_of(&z.access_token), Some(AT2));
    assert_eq!(secret_of(&z.refresh_token), Some(RT2));
    assert!(z.needs_reauth.is_none() && z.pkce_verifier.is_none() && z.pkce_state.is_none());
    assert_close(z.access_expires_at, Utc::now() + TimeDelta::seconds(90_000));

    // The new token is used as is.
    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT2);
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_refused_code_leaves_the_store_alone() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::hours(2)));
    let zalo = auth(&server, dir.path());
    zalo.consent_url("https://example.gov.vn/cb").unwrap();
    let before = raw(dir.path());
    // Zalo quoting what it was sent must not leak it.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": -14019, "error_name": "invalid_code",
            "error_description": format!("Invalid authorization code {CODE}")
        })))
        .mount(&server)
        .await;

    let error = zalo.exchange_code(CODE, None).await.unwrap_err();
    assert_needs_reauth(&error);
    assert!(error.to_string().contains("-14019"), "{error}");
    assert_eq!(raw(dir.path()), before);
    assert_eq!(zalo.access_token().await.unwrap().expose_secret(), AT1);
}

#[tokio::test]
async fn zalo_quoting_a_token_or_the_secret_never_reaches_an_error() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), expired_pair());
    refresh_with(RT1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": -14014, "error_name": format!("bad {RT1}"),
            "error_reason": format!("secret {APP_SECRET}"),
            "error_description": format!("Invalid refresh token {RT1} for {APP_SECRET}"),
            "ref_doc": "https://developers.zalo.me"
        })))
        .mount(&server)
        .await;

    let error = auth(&server, dir.path()).access_token().await.unwrap_err();
    assert_needs_reauth(&error);
    let reason = stored(dir.path()).needs_reauth.unwrap();
    for secret in SECRETS {
        assert!(
            !reason.contains(secret),
            "{secret} leaked into the store's reason: {reason}"
        );
    }
    // And nothing the Debug of the client shows.
    let shown = format!("{:?}", auth(&server, dir.path()));
    assert!(!shown.contains(APP_SECRET), "{shown}");
}

#[test]
fn status_warns_two_weeks_before_the_refresh_token_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let zalo = auth_with(client(), "http://127.0.0.1:9", dir.path());
    let issued = Utc::now() - TimeDelta::days(80);
    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::days(80)));
    let status = zalo.status();
    assert_close(status.refresh_expires_at, issued + TimeDelta::days(90));
    assert_close(
        status.access_expires_at,
        issued + TimeDelta::seconds(90_000),
    );
    assert!(status.needs_reauth.is_none());
    let warning = status.refresh_warning.expect("a warning");
    assert!(warning.contains("day"), "{warning}");

    put(dir.path(), pair_aged(AT1, RT1, TimeDelta::days(10)));
    assert!(zalo.status().refresh_warning.is_none());
}
