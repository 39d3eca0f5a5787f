//! The Zalo metrics collector (`impl Collector for ZaloChannel`) against a wiremock Open API:
//! paging `getslice` until every asked article is found (§3.4, §5), `Gone` only once the whole
//! list was read, and stopping (keeping what was found) on `-32` or when the per-minute budget
//! runs low (§7).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use loa::config::Config;
use loa::engine::Clock;
use loa::metrics::{Asked, Collected, Collector, Figures, ItemResult};
use loa::publisher::Outcome;
use loa::token_store::{TokenStore, ZaloTokens};
use loa::zalo::client::ZaloChannel;
use loa::zalo::oauth::ZaloAuth;

const AT: &str = "AT1-zalo-access-token-0001";
const GETSLICE: &str = "/v2.0/article/getslice";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

struct Fixture {
    server: MockServer,
    _data: TempDir,
    channel: ZaloChannel,
}

async fn fixture() -> Fixture {
    let server = MockServer::start().await;
    let data = tempfile::tempdir().unwrap();
    let store = TokenStore::new(data.path());
    store
        .update(|t| {
            t.zalo = Some(ZaloTokens {
                access_token: Some(AT.into()),
                access_expires_at: Some(now() + Duration::hours(20)),
                refresh_token: Some("RT1".into()),
                refresh_issued_at: Some(now() - Duration::hours(5)),
                ..ZaloTokens::default()
            });
            Ok(())
        })
        .unwrap();
    let clock = Clock::starting_at(now());
    let auth = ZaloAuth::new(
        reqwest::Client::builder().no_proxy().build().unwrap(),
        &server.uri(),
        "1234567890",
        SecretString::from("s3cret"),
        store,
        clock.clone(),
    );
    let text = format!(
        r#"
timezone = "Asia/Ho_Chi_Minh"
language = "en"
[zalo]
app_id = "1234567890"
openapi_url = "{uri}"
oauth_url = "{uri}"
default_cover_url = "https://example.gov.vn/logo.jpg"
[media]
public_base_url = "https://example.gov.vn/loa-media/"
"#,
        uri = server.uri()
    );
    let mut config = Config::parse(&text).unwrap_or_else(|d| panic!("valid config: {d:?}"));
    config.data_dir = data.path().to_path_buf();
    let channel = ZaloChannel::new(Arc::new(config), Arc::new(auth), clock);
    Fixture {
        server,
        _data: data,
        channel,
    }
}

/// One `getslice` item as §3.4 describes it; views and shares from the id's number.
fn article(id: &str, views: u64) -> Value {
    json!({
        "id": id, "type": "normal", "title": format!("Tin {id}"), "status": "show",
        "total_view": views, "total_share": views / 10,
        "create_date": 1_796_083_200_000_i64, "update_date": 1_796_083_200_000_i64,
        "thumb": "https://zalo.example/thumb.jpg", "link_view": format!("https://zalo.me/a/{id}")
    })
}

/// `count` articles `{prefix}0…`, with views 100, 101, …
fn articles(prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| article(&format!("{prefix}{i}"), 100 + i as u64))
        .collect()
}

/// Serves the page at `offset`, with `headers` (the rate-limit headers by default: plenty left).
async fn page(server: &MockServer, offset: usize, total: Option<usize>, items: Vec<Value>) {
    page_with(server, offset, total, items, 3_900).await;
}

async fn page_with(
    server: &MockServer,
    offset: usize,
    total: Option<usize>,
    items: Vec<Value>,
    remain: u32,
) {
    let mut data = json!({ "medias": items });
    if let Some(t) = total {
        data["total"] = json!(t);
    }
    Mock::given(method("GET"))
        .and(path(GETSLICE))
        .and(header("access_token", AT))
        .and(query_param("offset", offset.to_string()))
        .and(query_param("limit", "10"))
        .and(query_param("type", "normal"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": 0, "message": "Success", "data": data}))
                .insert_header("X-RateLimit-Limit", "4000")
                .insert_header("X-RateLimit-Remain", remain.to_string().as_str()),
        )
        .mount(server)
        .await;
}

fn asked(ids: &[&str]) -> Vec<Asked> {
    ids.iter()
        .enumerate()
        .map(|(n, id)| Asked {
            delivery_id: n as i64 + 1,
            remote_id: (*id).to_string(),
        })
        .collect()
}

async fn collect(f: &Fixture, items: &[Asked]) -> (Collected, Vec<usize>) {
    let ticks = Mutex::new(Vec::new());
    let progress = |done: usize| ticks.lock().unwrap().push(done);
    let out = f.channel.collect(items, &BTreeSet::new(), &progress).await;
    (out, ticks.into_inner().unwrap())
}

async fn offsets(f: &Fixture) -> Vec<String> {
    f.server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == GETSLICE)
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .unwrap()
                .1
                .into_owned()
        })
        .collect()
}

#[tokio::test]
async fn ids_are_found_across_pages_and_paging_stops_once_all_are_found() {
    let f = fixture().await;
    assert_eq!(f.channel.chunk_size(), usize::MAX);
    page(&f.server, 0, Some(100), articles("a", 10)).await;
    page(&f.server, 10, Some(100), articles("b", 10)).await;
    page(&f.server, 20, Some(100), articles("c", 10)).await;
    page(&f.server, 30, Some(100), articles("d", 10)).await;

    let (out, ticks) = collect(&f, &asked(&["c4", "a2"])).await;

    assert_eq!(
        offsets(&f).await,
        ["0", "10", "20"],
        "page 30 is not needed"
    );
    assert_eq!(out.stopped, None);
    assert_eq!(out.items.len(), 2);
    let (delivery, ItemResult::Figures { figures, raw, link }) = &out.items[0] else {
        panic!("{:?}", out.items)
    };
    assert_eq!(*delivery, 1);
    assert_eq!(
        *figures,
        Figures {
            views: Some(104),
            shares: Some(10),
            ..Figures::default()
        }
    );
    assert_eq!(raw["id"], "c4");
    assert_eq!(link.as_deref(), Some("https://zalo.me/a/c4"));
    assert!(
        matches!(&out.items[1], (2, ItemResult::Figures { figures, .. }) if figures.views == Some(102))
    );
    assert_eq!(ticks, [1, 1, 2]);
}

#[tokio::test]
async fn there_is_no_fixed_page_cap() {
    let f = fixture().await;
    for p in 0..8 {
        page(&f.server, p * 10, None, articles(&format!("p{p}-"), 10)).await;
    }
    let (out, _) = collect(&f, &asked(&["p7-9"])).await;
    assert_eq!(offsets(&f).await.len(), 8);
    assert_eq!(out.items.len(), 1);
    assert!(matches!(out.items[0].1, ItemResult::Figures { .. }));
}

#[tokio::test]
async fn an_id_never_seen_in_the_whole_list_is_gone() {
    let f = fixture().await;
    page(&f.server, 0, None, articles("a", 10)).await;
    page(&f.server, 10, None, articles("b", 3)).await;
    let (out, _) = collect(&f, &asked(&["removed", "b1"])).await;
    assert_eq!(offsets(&f).await, ["0", "10"], "a short page ends the list");
    assert!(matches!(&out.items[0], (1, ItemResult::Gone { .. })));
    assert!(matches!(&out.items[1], (2, ItemResult::Figures { .. })));
    assert_eq!(out.stopped, None);
}

#[tokio::test]
async fn data_total_ends_the_list_without_asking_past_it() {
    let f = fixture().await;
    page(&f.server, 0, Some(10), articles("a", 10)).await;
    let (out, _) = collect(&f, &asked(&["a3", "removed"])).await;
    assert_eq!(offsets(&f).await, ["0"]);
    assert!(matches!(&out.items[0], (1, ItemResult::Figures { .. })));
    assert!(matches!(&out.items[1], (2, ItemResult::Gone { .. })));
}

#[tokio::test]
async fn the_call_limit_stops_paging_keeping_what_was_found() {
    let f = fixture().await;
    page(&f.server, 0, None, articles("a", 10)).await;
    Mock::given(method("GET"))
        .and(path(GETSLICE))
        .and(query_param("offset", "10"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"error": -32, "message": "Your application reached limit call api"}),
                )
                .insert_header("X-RateLimit-Limit", "4000")
                .insert_header("X-RateLimit-Remain", "0"),
        )
        .mount(&f.server)
        .await;
    let (out, _) = collect(&f, &asked(&["a5", "b5"])).await;
    assert_eq!(
        out.items.len(),
        1,
        "b5 was not seen: asked again next round"
    );
    assert!(matches!(&out.items[0], (1, ItemResult::Figures { .. })));
    assert!(
        matches!(out.stopped, Some(Outcome::RateLimited { .. })),
        "{:?}",
        out.stopped
    );
}

#[tokio::test]
async fn a_low_call_budget_stops_paging_without_pausing_the_channel() {
    let f = fixture().await;
    page_with(&f.server, 0, None, articles("a", 10), 399).await;
    page(&f.server, 10, None, articles("b", 10)).await;
    let (out, _) = collect(&f, &asked(&["a1", "b1"])).await;
    assert_eq!(offsets(&f).await, ["0"], "399 of 4000 left: below a tenth");
    assert_eq!(out.items.len(), 1);
    assert!(
        matches!(out.stopped, Some(Outcome::Transient { .. })),
        "{:?}",
        out.stopped
    );
}

#[tokio::test]
async fn the_account_is_getoa() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/v2.0/oa/getoa"))
        .and(header("access_token", AT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": 0, "message": "Success", "data": {"oaid": "29", "name": "UBND", "num_follower": "1520"}})))
        .mount(&f.server)
        .await;
    let account = f.channel.account(&BTreeSet::new()).await.unwrap();
    assert_eq!(account.followers, Some(1520));
    assert_eq!(account.raw["oaid"], "29");
}
