//! `loa::facebook::auth` against a fake Graph API (wiremock on 127.0.0.1).
//!
//! Besides the happy paths, these tests pin down the two safety properties of the module:
//! a token never appears in an error, and `paging.next` is never followed to another host.

use std::collections::BTreeMap;
use std::time::Duration;

use loa::facebook::auth::{
    AuthError, LongLivedToken, debug_token, exchange_user_token, find_page_token,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP_ID: &str = "1234567890";
const APP_SECRET: &str = "appSECRETabcdef0123456789";
const USER_TOKEN: &str = "EAAuserSHORTtoken111";
const LONG_TOKEN: &str = "EAAuserLONGtoken222";
const PAGE_TOKEN: &str = "EAApageTOKEN333";
const PAGE_ID: &str = "123456789012345";

/// Every secret used in these tests; none may show up in any error text.
const SECRETS: [&str; 5] = [
    APP_SECRET,
    USER_TOKEN,
    LONG_TOKEN,
    PAGE_TOKEN,
    "OTHERpageTOKEN",
];

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn base(server: &MockServer) -> String {
    format!("{}/v25.0", server.uri())
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
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
        assert!(!text.contains(secret), "secret leaked into error: {text}");
    }
}

fn query_of(request: &wiremock::Request) -> BTreeMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

fn graph_error_190() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "Error validating access token: Session has expired on Monday, 01-Dec-25.",
        "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "A3"
    }}))
}

async fn exchange(server: &MockServer) -> Result<LongLivedToken, AuthError> {
    exchange_user_token(
        &client(),
        &base(server),
        APP_ID,
        &secret(APP_SECRET),
        &secret(USER_TOKEN),
    )
    .await
}

#[tokio::test]
async fn exchange_sends_exactly_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("client_id", APP_ID))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("fb_exchange_token", USER_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5183944
        })))
        .expect(1)
        .mount(&server)
        .await;

    let token = exchange(&server).await.unwrap();
    assert_eq!(token.token.expose_secret(), LONG_TOKEN);
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
    assert_eq!(token.expires_in, Some(Duration::from_secs(5183944)));
    let received_at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    assert_eq!(
        token.expires_at(received_at),
        chrono::DateTime::from_timestamp(1_800_000_000 + 5183944, 0)
    );
    assert!(!format!("{token:?}").contains(LONG_TOKEN));

    // Nothing beyond the four documented parameters, and no body.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let expected: BTreeMap<String, String> = [
        ("grant_type", "fb_exchange_token"),
        ("client_id", APP_ID),
        ("client_secret", APP_SECRET),
        ("fb_exchange_token", USER_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(query_of(&requests[0]), expected);
    assert!(requests[0].body.is_empty());
}

#[tokio::test]
async fn exchange_reads_expires_in_as_string_or_absent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": "5183944"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": LONG_TOKEN})))
        .mount(&server)
        .await;

    let from_string = exchange(&server).await.unwrap();
    assert_eq!(from_string.expires_in, Some(Duration::from_secs(5183944)));
    let absent = exchange(&server).await.unwrap();
    assert_eq!(absent.expires_in, None);
    assert_eq!(absent.token_type, None);
    assert_eq!(absent.token.expose_secret(), LONG_TOKEN);
}

#[tokio::test]
async fn exchange_surfaces_graph_error_with_facebooks_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(graph_error_190())
        .mount(&server)
        .await;

    let error = exchange(&server).await.unwrap_err();
    match &error {
        AuthError::Graph {
            endpoint,
            status,
            message,
            code,
            subcode,
            fbtrace_id,
            ..
        } => {
            assert_eq!(*endpoint, "oauth/access_token");
            assert_eq!(*status, 400);
            assert!(message.starts_with("Error validating access token: Session has expired"));
            assert_eq!(*code, 190);
            assert_eq!(*subcode, Some(463));
            assert_eq!(fbtrace_id.as_deref(), Some("A3"));
        }
        other => panic!("expected a Graph error, got {other:?}"),
    }
    assert!(error.needs_reauth());
    let text = error.to_string();
    assert!(text.contains("Session has expired"), "{text}");
    assert!(text.contains("code 190, subcode 463"), "{text}");
    assert_no_secrets(&error);
}

#[tokio::test]
async fn exchange_reply_without_token_is_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_type": "bearer"})))
        .mount(&server)
        .await;
    let error = exchange(&server).await.unwrap_err();
    assert!(matches!(error, AuthError::BadResponse { .. }), "{error:?}");
    assert_no_secrets(&error);
}

#[tokio::test]
async fn non_json_error_page_is_not_quoted() {
    // A proxy error page that echoes the request URL, token included.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(502).set_body_string(format!(
            "<html>Bad gateway for /v25.0/oauth/access_token?fb_exchange_token={USER_TOKEN}</html>"
        )))
        .mount(&server)
        .await;
    let error = exchange(&server).await.unwrap_err();
    assert!(matches!(error, AuthError::BadResponse { .. }), "{error:?}");
    assert!(error.to_string().contains("502"), "{error}");
    assert_no_secrets(&error);
}

#[tokio::test]
async fn transport_error_does_not_leak_tokens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}/v25.0");
    let error = exchange_user_token(
        &client(),
        &base,
        APP_ID,
        &secret(APP_SECRET),
        &secret(USER_TOKEN),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, AuthError::Http { .. }), "{error:?}");
    assert!(!all_text(&error).contains("fb_exchange_token"));
    assert_no_secrets(&error);
}

fn accounts_page(entries: Value, next: Option<String>) -> ResponseTemplate {
    let mut body = json!({"data": entries, "paging": {"cursors": {"before": "b", "after": "a"}}});
    if let Some(next) = next {
        body["paging"]["next"] = json!(next);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn next_link(origin: &str, after: &str) -> String {
    format!(
        "{origin}/v25.0/me/accounts?fields=id%2Cname%2Caccess_token%2Ctasks&access_token={LONG_TOKEN}&limit=25&after={after}"
    )
}

#[tokio::test]
async fn find_page_token_follows_paging_to_the_third_page() {
    let server = MockServer::start().await;
    let origin = server.uri();
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("fields", "id,name,access_token,tasks"))
        .and(query_param("access_token", LONG_TOKEN))
        .and(query_param_is_missing("after"))
        .respond_with(accounts_page(
            json!([{"id": "111", "name": "Hội Nông dân xã", "access_token": "OTHERpageTOKEN", "tasks": ["ANALYZE"]}]),
            Some(next_link(&origin, "p2")),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("after", "p2"))
        .and(query_param("access_token", LONG_TOKEN))
        .respond_with(accounts_page(
            json!([{"id": "222", "name": "Đoàn Thanh niên xã", "access_token": "OTHERpageTOKEN"}]),
            Some(next_link(&origin, "p3")),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("after", "p3"))
        .respond_with(accounts_page(
            json!([
                {"id": "333", "name": "Trường Tiểu học", "access_token": "OTHERpageTOKEN", "tasks": ["MANAGE"]},
                {"id": PAGE_ID, "name": "UBND xã Tân Lập", "access_token": PAGE_TOKEN,
                 "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"]}
            ]),
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let page = find_page_token(&client(), &base(&server), &secret(LONG_TOKEN), PAGE_ID)
        .await
        .unwrap();
    assert_eq!(page.id, PAGE_ID);
    assert_eq!(page.name, "UBND xã Tân Lập");
    assert_eq!(page.token.expose_secret(), PAGE_TOKEN);
    assert_eq!(page.tasks.len(), 5);
    assert!(page.can_publish());
    assert!(page.task_warning().is_none());
    assert!(!format!("{page:?}").contains(PAGE_TOKEN));

    // The first request carries exactly the documented parameters.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let first: BTreeMap<String, String> = query_of(&requests[0]);
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        ["access_token", "fields"]
    );
    // Page 3's next link was followed as given (limit=25 kept).
    assert_eq!(
        query_of(&requests[2]).get("limit").map(String::as_str),
        Some("25")
    );
}

#[tokio::test]
async fn page_without_publishing_task_gets_a_warning() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(accounts_page(
            json!([{"id": PAGE_ID, "name": "UBND xã", "access_token": PAGE_TOKEN, "tasks": ["ANALYZE"]}]),
            None,
        ))
        .mount(&server)
        .await;
    let page = find_page_token(&client(), &base(&server), &secret(LONG_TOKEN), PAGE_ID)
        .await
        .unwrap();
    assert!(!page.can_publish());
    let warning = page.task_warning().unwrap();
    assert!(
        warning.contains("CREATE_CONTENT") && warning.contains("ANALYZE"),
        "{warning}"
    );
}

#[tokio::test]
async fn page_not_found_lists_the_pages_the_user_can_manage() {
    let server = MockServer::start().await;
    let origin = server.uri();
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param_is_missing("after"))
        .respond_with(accounts_page(
            json!([{"id": "111", "name": "Hội Nông dân xã", "access_token": "OTHERpageTOKEN"}]),
            Some(next_link(&origin, "p2")),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("after", "p2"))
        .respond_with(accounts_page(
            json!([{"id": "222", "name": "Đoàn Thanh niên xã", "access_token": "OTHERpageTOKEN"}]),
            None,
        ))
        .mount(&server)
        .await;

    let error = find_page_token(&client(), &base(&server), &secret(LONG_TOKEN), PAGE_ID)
        .await
        .unwrap_err();
    match &error {
        AuthError::PageNotFound { page_id, seen } => {
            assert_eq!(page_id, PAGE_ID);
            assert_eq!(
                seen,
                &vec![
                    ("111".to_owned(), "Hội Nông dân xã".to_owned()),
                    ("222".to_owned(), "Đoàn Thanh niên xã".to_owned()),
                ]
            );
        }
        other => panic!("expected PageNotFound, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains(PAGE_ID), "{text}");
    assert!(text.contains("\"Hội Nông dân xã\" (111)"), "{text}");
    assert!(text.contains("\"Đoàn Thanh niên xã\" (222)"), "{text}");
    assert!(text.contains("Business Manager"), "{text}");
    assert!(text.contains("business_management"), "{text}");
    assert_no_secrets(&error);
}

/// Mounts a `/me/accounts` first page whose `paging.next` points at `next_origin`, and a
/// catch-all on `foreign` that must never be hit.
async fn assert_next_not_followed(server: &MockServer, foreign: &MockServer, next_origin: &str) {
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(accounts_page(
            json!([{"id": "111", "name": "Hội Nông dân xã", "access_token": "OTHERpageTOKEN"}]),
            Some(next_link(next_origin, "p2")),
        ))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(accounts_page(
            json!([{"id": PAGE_ID, "name": "Stolen", "access_token": PAGE_TOKEN}]),
            None,
        ))
        .expect(0)
        .mount(foreign)
        .await;

    let error = find_page_token(&client(), &base(server), &secret(LONG_TOKEN), PAGE_ID)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::BadResponse { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("paging.next"), "{text}");
    assert_no_secrets(&error);
    assert!(foreign.received_requests().await.unwrap().is_empty());
    foreign.verify().await;
}

#[tokio::test]
async fn paging_next_to_a_foreign_host_is_not_followed() {
    let server = MockServer::start().await;
    let foreign = MockServer::start().await;
    // Same machine, other host name: `localhost` is not `127.0.0.1`.
    let foreign_origin = format!("http://localhost:{}", foreign.address().port());
    assert_next_not_followed(&server, &foreign, &foreign_origin).await;
}

#[tokio::test]
async fn paging_next_to_another_port_is_not_followed() {
    let server = MockServer::start().await;
    let foreign = MockServer::start().await;
    assert_next_not_followed(&server, &foreign, &foreign.uri()).await;
}

#[tokio::test]
async fn paging_next_to_another_scheme_is_not_followed() {
    let server = MockServer::start().await;
    let foreign = MockServer::start().await;
    let https_origin = format!("https://127.0.0.1:{}", server.address().port());
    assert_next_not_followed(&server, &foreign, &https_origin).await;
}

#[tokio::test]
async fn paging_loop_stops() {
    let server = MockServer::start().await;
    let origin = server.uri();
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(accounts_page(
            json!([{"id": "111", "name": "Hội Nông dân xã"}]),
            Some(next_link(&origin, "p2")),
        ))
        .mount(&server)
        .await;
    let error = find_page_token(&client(), &base(&server), &secret(LONG_TOKEN), PAGE_ID)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::BadResponse { .. }), "{error:?}");
    // The first page and one follow of the repeated link, then the loop is noticed.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_no_secrets(&error);
}

#[tokio::test]
async fn find_page_token_surfaces_graph_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(graph_error_190())
        .mount(&server)
        .await;
    let error = find_page_token(&client(), &base(&server), &secret(LONG_TOKEN), PAGE_ID)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Graph {
                code: 190,
                subcode: Some(463),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("Session has expired"));
    assert_no_secrets(&error);
}

async fn mount_debug_token(server: &MockServer, data: Value) {
    Mock::given(method("GET"))
        .and(path("/v25.0/debug_token"))
        .and(query_param("input_token", PAGE_TOKEN))
        .and(query_param("access_token", PAGE_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
        .expect(1)
        .mount(server)
        .await;
}

async fn run_debug_token(server: &MockServer) -> Result<loa::facebook::auth::TokenInfo, AuthError> {
    debug_token(
        &client(),
        &base(server),
        &secret(PAGE_TOKEN),
        &secret(PAGE_TOKEN),
    )
    .await
}

#[tokio::test]
async fn debug_token_maps_a_good_page_token() {
    let server = MockServer::start().await;
    mount_debug_token(
        &server,
        json!({
            "app_id": APP_ID, "type": "PAGE", "application": "loa", "is_valid": true,
            "expires_at": 0, "data_access_expires_at": 1_900_000_000,
            "scopes": ["pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights"],
            "granular_scopes": [{"scope": "pages_manage_posts", "target_ids": [PAGE_ID]}],
            "profile_id": PAGE_ID, "user_id": "999"
        }),
    )
    .await;

    let info = run_debug_token(&server).await.unwrap();
    assert_eq!(info.token_type.as_deref(), Some("PAGE"));
    assert!(info.is_valid);
    assert_eq!(info.expires_at, None);
    assert_eq!(
        info.data_access_expires_at,
        chrono::DateTime::from_timestamp(1_900_000_000, 0)
    );
    assert_eq!(info.scopes.len(), 4);
    assert_eq!(info.profile_id.as_deref(), Some(PAGE_ID));
    assert_eq!(info.problems(PAGE_ID), Vec::<String>::new());
    assert_eq!(info.problems("42").len(), 1);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        query_of(&requests[0])
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["access_token", "input_token"]
    );
}

#[tokio::test]
async fn debug_token_reports_user_type_and_missing_scope() {
    let server = MockServer::start().await;
    mount_debug_token(
        &server,
        json!({
            "type": "USER", "is_valid": true, "expires_at": 0,
            "scopes": ["pages_manage_posts", "read_insights"], "user_id": "999"
        }),
    )
    .await;

    let info = run_debug_token(&server).await.unwrap();
    assert_eq!(info.token_type.as_deref(), Some("USER"));
    assert_eq!(info.expires_at, None);
    assert_eq!(info.data_access_expires_at, None);
    let problems = info.problems(PAGE_ID);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("USER")), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("pages_read_engagement")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn debug_token_reports_invalid_and_soon_expiring_tokens() {
    let server = MockServer::start().await;
    let soon = chrono::Utc::now() + chrono::TimeDelta::days(5);
    mount_debug_token(
        &server,
        json!({
            "type": "PAGE", "is_valid": false, "expires_at": soon.timestamp().to_string(),
            "error": {"code": 190, "subcode": 460, "message": "The session has been invalidated"},
            "scopes": ["pages_manage_posts", "pages_read_engagement"], "profile_id": PAGE_ID
        }),
    )
    .await;

    let info = run_debug_token(&server).await.unwrap();
    assert!(!info.is_valid);
    assert_eq!(
        info.expires_at.map(|t| t.timestamp()),
        Some(soon.timestamp())
    );
    let problems = info.problems(PAGE_ID);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("not valid")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("expires on")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn debug_token_surfaces_graph_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/debug_token"))
        .respond_with(graph_error_190())
        .mount(&server)
        .await;
    let error = run_debug_token(&server).await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Graph {
                code: 190,
                subcode: Some(463),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("Error validating access token"));
    assert_no_secrets(&error);
}
