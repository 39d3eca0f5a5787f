//! The insights calls against wiremock: one metric per call, a rejected metric blanks nothing
//! else and is not asked for again, missing figures stay missing.

use secrecy::SecretString;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use loa::engine::Clock;
use loa::facebook::client::FacebookChannel;
use loa::facebook::insights::{PostMetrics, Retired};
use loa::publisher::Outcome;

const POST: &str = "123456789012345_987654321098765";

fn channel(server: &MockServer) -> FacebookChannel {
    FacebookChannel::new(
        &server.uri(),
        "v25.0",
        "123456789012345",
        SecretString::from("PT"),
        false,
        Clock::system(),
    )
}

fn insight(name: &str, value: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "data": [{"name": name, "period": "lifetime", "values": [{"value": value}], "title": "t", "description": "d",
                  "id": format!("{POST}/insights/{name}/lifetime")}],
        "paging": {}
    }))
}

async fn mock_metric(server: &MockServer, metric: &str, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{POST}/insights")))
        .and(query_param("metric", metric))
        .and(query_param("period", "lifetime"))
        .and(query_param("access_token", "PT"))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn mock_node(server: &MockServer, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{POST}")))
        .and(query_param(
            "fields",
            "shares,comments.summary(total_count).limit(0),reactions.summary(total_count).limit(0)",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

fn rejected() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": {"message": "(#100) The value must be a valid insights metric", "type": "OAuthException", "code": 100, "fbtrace_id": "A2"}}))
}

#[tokio::test]
async fn every_figure_from_its_own_call() {
    let server = MockServer::start().await;
    mock_metric(
        &server,
        "post_media_view",
        insight("post_media_view", serde_json::json!(1200)),
    )
    .await;
    mock_metric(
        &server,
        "post_total_media_view_unique",
        insight("post_total_media_view_unique", serde_json::json!(800)),
    )
    .await;
    mock_metric(
        &server,
        "post_clicks",
        insight("post_clicks", serde_json::json!(30)),
    )
    .await;
    mock_metric(
        &server,
        "post_reactions_by_type_total",
        insight(
            "post_reactions_by_type_total",
            serde_json::json!({"like": 80, "love": 8, "wow": 2}),
        ),
    )
    .await;
    mock_node(&server, serde_json::json!({"shares": {"count": 7}, "comments": {"data": [], "summary": {"total_count": 12}}, "id": POST})).await;
    let m = channel(&server)
        .post_metrics(POST, &Retired::default())
        .await
        .unwrap();
    assert_eq!(
        m,
        PostMetrics {
            views: Some(1200),
            reach: Some(800),
            reactions: Some(90),
            comments: Some(12),
            shares: Some(7),
            clicks: Some(30)
        }
    );
    // One metric per call, never a retired name.
    let requests = server.received_requests().await.unwrap();
    for r in &requests {
        let metric = r
            .url
            .query_pairs()
            .find(|(k, _)| k == "metric")
            .map(|(_, v)| v.into_owned());
        if let Some(metric) = metric {
            assert!(!metric.contains(','), "{metric}");
            assert!(
                !metric.starts_with("post_impressions") && metric != "post_engaged_users",
                "{metric}"
            );
        }
    }
}

#[tokio::test]
async fn a_rejected_metric_blanks_nothing_else_and_is_not_asked_again() {
    let server = MockServer::start().await;
    mock_metric(
        &server,
        "post_media_view",
        insight("post_media_view", serde_json::json!(1200)),
    )
    .await;
    mock_metric(&server, "post_total_media_view_unique", rejected()).await;
    mock_metric(
        &server,
        "post_clicks",
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": []})),
    )
    .await;
    mock_metric(&server, "post_reactions_by_type_total", rejected()).await;
    // A photo post: no `shares` at all.
    mock_node(&server, serde_json::json!({"comments": {"summary": {"total_count": 3}}, "reactions": {"summary": {"total_count": 41}}, "id": POST})).await;
    let fb = channel(&server);
    let retired = Retired::default();
    let m = fb.post_metrics(POST, &retired).await.unwrap();
    assert_eq!(m.views, Some(1200));
    assert_eq!(m.reach, None, "rejected: left out, not 0");
    assert_eq!(m.clicks, None, "no data: left out, not 0");
    assert_eq!(m.reactions, Some(41), "the node's summary stands in");
    assert_eq!((m.comments, m.shares), (Some(3), Some(0)));
    assert!(retired.contains("post_total_media_view_unique"));

    let before = server.received_requests().await.unwrap().len();
    fb.post_metrics(POST, &retired).await.unwrap();
    let asked: Vec<String> = server.received_requests().await.unwrap()[before..]
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "metric")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(asked, ["post_media_view", "post_clicks"]);
}

#[tokio::test]
async fn a_dead_token_stops_the_collection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": {"message": "Error validating access token", "code": 190, "error_subcode": 463}})))
        .mount(&server)
        .await;
    let err = channel(&server)
        .post_metrics(POST, &Retired::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Outcome::AuthExpired { .. }), "{err:?}");
}

#[tokio::test]
async fn page_followers_for_the_snapshot() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/123456789012345/insights"))
        .and(query_param("metric", "page_follows"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"name": "page_follows", "period": "day", "values": [{"value": 1510}, {"value": 1523}]}]})))
        .mount(&server)
        .await;
    assert_eq!(
        channel(&server)
            .page_follows(&Retired::default())
            .await
            .unwrap(),
        Some(1523)
    );
}
