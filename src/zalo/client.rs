//! The Zalo OA client as the engine's [`Publisher`]: articles are created, then verified until
//! Zalo gives their id; the create's processing token is saved at once, so a crash or a lost
//! answer resumes by verifying, never by creating again.
//!
//! Zalo answers errors with HTTP 200 and a negative `error`: every reply is judged by its body.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::channel::Channel;
use crate::config::Config;
use crate::engine::Clock;
use crate::i18n::tr;
use crate::platform::gate::PauseGate;
// Zalo's ids are read as text, like every platform's (`id_of`); `text_of` is its old name here.
use crate::platform::json::{id_of as text_of, number_of};
use crate::platform::{redact, transport};
use crate::publisher::{BoxFuture, Job, Outcome, Publisher, Reconciled};
use crate::render::zalo::{Article, broadcast_body, render};
use crate::zalo::errors::{
    Classified, Envelope, ZaloCall, classify, parse_envelope, rate_limit_remain_pause,
    transport_failure,
};
use crate::zalo::oauth::{AuthError, ZaloAuth};

/// Waits between verify calls while Zalo processes an article (about two minutes in all); after
/// that the attempt ends as transient and the next one verifies again with the same token.
const VERIFY_WAITS: [u64; 7] = [2, 4, 8, 16, 30, 30, 30];

/// Articles per `getslice` page: Zalo gives at most 10 (§3.4).
pub const SLICE_LIMIT: usize = 10;

/// The most `getslice` pages one reconciliation reads (past the first two only while the
/// articles are inside its window), so a list that never ends cannot hold it forever.
const RECONCILE_MAX_PAGES: usize = 50;

/// The Zalo OA channel.
pub struct ZaloChannel {
    http: reqwest::Client,
    base: String,
    auth: Arc<ZaloAuth>,
    config: Arc<Config>,
    clock: Clock,
    /// Closed on `-32` or `X-RateLimit-Remain: 0`.
    gate: PauseGate,
    /// `X-RateLimit-Limit` and `X-RateLimit-Remain` of the latest reply that had both, and when
    /// it came: metrics collection reads them to leave publishing its headroom.
    rate_limit: Mutex<Option<(RateLimitHeaders, DateTime<Utc>)>>,
}

/// The per-minute call budget as Zalo's latest reply stated it (§7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Limit`: calls allowed per minute.
    pub limit: u64,
    /// `X-RateLimit-Remain`: calls left in this minute.
    pub remain: u64,
}

/// One `getslice` page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlicePage {
    /// The articles on the page, newest first.
    pub items: Vec<Value>,
    /// `data.total`, when Zalo gave it.
    pub total: Option<u64>,
}

type Reply = Result<Value, Classified>;

impl ZaloChannel {
    /// A client for the OA at `config.zalo.openapi_url`, with tokens from `auth`.
    pub fn new(config: Arc<Config>, auth: Arc<ZaloAuth>, clock: Clock) -> ZaloChannel {
        ZaloChannel {
            http: crate::platform::http::client_for(&config.zalo.openapi_url),
            base: config.zalo.openapi_url.trim_end_matches('/').to_string(),
            auth,
            config,
            clock,
            gate: PauseGate::new(),
            rate_limit: Mutex::new(None),
        }
    }

    /// The call budget of the latest reply, if it came within the last minute (Zalo's window):
    /// an older figure says nothing about the minute now.
    pub fn recent_rate_limit(&self) -> Option<RateLimitHeaders> {
        let now = self.clock.now();
        self.rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .filter(|(_, at)| now - *at < chrono::Duration::minutes(1))
            .map(|(headers, _)| headers)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// One API call with the `access_token` header; an expired token is refreshed and the call
    /// replayed once.
    async fn call(
        &self,
        call: ZaloCall,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Reply {
        if let Some(refused) = self.gate.refusal(self.clock.now(), || {
            tr(
                "Zalo's call limit was reached; loa waits",
                "đã chạm giới hạn gọi API của Zalo; loa tạm chờ",
            )
            .into()
        }) {
            return Err(Classified::Outcome(refused));
        }
        let mut token = self
            .auth
            .access_token()
            .await
            .map_err(|e| auth_outcome(e, self.clock.now()))?;
        for replay in [false, true] {
            let reply = self
                .send(
                    call,
                    build(&self.http, secrecy::ExposeSecret::expose_secret(&token)),
                )
                .await;
            match reply {
                Err(Classified::RefreshToken) if !replay => {
                    token = self
                        .auth
                        .refresh_after_rejection(&token)
                        .await
                        .map_err(|e| auth_outcome(e, self.clock.now()))?;
                }
                Err(Classified::RefreshToken) => {
                    return Err(Classified::Outcome(Outcome::AuthExpired {
                        message: tr(
                            "Zalo rejected a freshly refreshed token; run `loa auth zalo --url` and follow it",
                            "Zalo từ chối token vừa làm mới; hãy chạy `loa auth zalo --url` và làm theo hướng dẫn",
                        )
                        .into(),
                    }));
                }
                other => return other.map_err(|c| hide_token(c, &token)),
            }
        }
        unreachable!("the loop returns on its second pass")
    }

    async fn send(&self, call: ZaloCall, req: reqwest::RequestBuilder) -> Reply {
        let now = self.clock.now();
        let answer = transport::exchange(req)
            .await
            .map_err(|failed| Classified::Outcome(transport_failure(call, failed.kind.words())))?;
        if let Some(until) = rate_limit_remain_pause(answer.header("x-ratelimit-remain"), now) {
            self.gate.close_until(until);
        }
        let figure = |name: &str| {
            answer
                .header(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(limit), Some(remain)) =
            (figure("x-ratelimit-limit"), figure("x-ratelimit-remain"))
        {
            *self
                .rate_limit
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some((RateLimitHeaders { limit, remain }, now));
        }
        let status = answer.status;
        match parse_envelope(&answer.body) {
            Envelope::Ok(data) if (200..300).contains(&status) => Ok(data),
            Envelope::Err(e) => {
                let c = classify(call, status, Some(&e), now, self.config.timezone);
                if matches!(c, Classified::Processing) {
                    // -214 while verifying: Zalo is still fetching the article's pictures. The
                    // normal path for a new article, not a refusal.
                    tracing::debug!(code = e.code, ?call, "Zalo is still processing the article");
                } else {
                    tracing::warn!(code = e.code, ?call, "Zalo refused a call");
                }
                if let Classified::Outcome(Outcome::RateLimited { until, .. }) = &c
                    && e.code == -32
                {
                    self.gate.close_until(*until);
                }
                Err(c)
            }
            _ => Err(classify(call, status, None, now, self.config.timezone)),
        }
    }

    async fn post_json(&self, call: ZaloCall, path: &str, body: &Value) -> Reply {
        let url = self.url(path);
        self.call(call, |http, token| {
            http.post(&url).header("access_token", token).json(body)
        })
        .await
    }

    /// Creates (or, with `id`, updates) the article and returns Zalo's processing token.
    async fn submit(&self, article: &Article, id: Option<&str>) -> Result<String, Outcome> {
        // The body the renderer builds (and `loa preview` shows); an update adds the id.
        let mut body = crate::render::zalo::create_body(article);
        let (call, path) = match id {
            Some(id) => {
                body["id"] = json!(id);
                (ZaloCall::Update, "/v2.0/article/update")
            }
            None => (ZaloCall::Create, crate::render::zalo::CREATE_PATH),
        };
        let data = self
            .post_json(call, path, &body)
            .await
            .map_err(outcome_of)?;
        data.get("token")
            .and_then(text_of)
            .ok_or_else(|| match call {
                // Zalo took the article but sent no token: it may exist.
                ZaloCall::Create => Outcome::Ambiguous {
                    message: "Zalo accepted the article but sent no processing token".into(),
                },
                _ => Outcome::Transient {
                    message: "Zalo sent no processing token".into(),
                    retry_after: None,
                },
            })
    }

    /// Verifies `token` until Zalo gives the article id, for about two minutes.
    async fn verify(&self, token: &str) -> Result<String, Classified> {
        let body = json!({ "token": token });
        for (i, wait) in VERIFY_WAITS.into_iter().enumerate() {
            match self
                .post_json(ZaloCall::Verify, "/v2.0/article/verify", &body)
                .await
            {
                Ok(data) => {
                    return data
                        .get("id")
                        .or_else(|| data.get("article_id"))
                        .and_then(text_of)
                        .ok_or(Classified::Outcome(Outcome::Transient {
                            message: "Zalo verified the article but sent no id".into(),
                            retry_after: None,
                        }));
                }
                // No wait after the last try: the attempt ends and the next one verifies again.
                Err(Classified::Processing) if i + 1 < VERIFY_WAITS.len() => {
                    self.clock
                        .sleep_until(
                            self.clock.now()
                                + chrono::Duration::seconds(i64::try_from(wait).unwrap_or(30)),
                        )
                        .await
                }
                Err(Classified::Processing) => {}
                Err(other) => return Err(other),
            }
        }
        Err(Classified::Outcome(Outcome::Transient {
            message: tr(
                "Zalo is still processing the article; loa checks again later",
                "Zalo vẫn đang xử lý bài; loa sẽ kiểm tra lại sau",
            )
            .into(),
            retry_after: None,
        }))
    }

    /// Create → save the token → verify; on a rejected custom cover, once more with the
    /// configured default cover.
    async fn create_and_verify(&self, job: &Job, mut article: Article) -> Outcome {
        for second_try in [false, true] {
            let token = match self.submit(&article, None).await {
                Ok(t) => t,
                Err(o) => return o,
            };
            // Saved before anything else: from here on, a retry verifies this token.
            if let Err(e) = job.progress_sink.save(&token).await {
                tracing::error!(error = %e, "could not save Zalo's processing token; verifying it now");
            }
            match self.verify(&token).await {
                Ok(id) => return Outcome::Published { remote_id: id },
                Err(Classified::CoverRejected) if !second_try => {
                    match crate::render::zalo::with_default_cover(&article, &self.config) {
                        Some(fallback) => {
                            tracing::warn!(
                                "Zalo could not fetch the cover; creating the article once more with the default cover"
                            );
                            article = fallback;
                        }
                        None => {
                            return Outcome::Permanent {
                                message: cover_message(),
                            };
                        }
                    }
                }
                Err(Classified::CoverRejected) => {
                    return Outcome::Permanent {
                        message: cover_message(),
                    };
                }
                Err(c) => return outcome_of(c),
            }
        }
        Outcome::Permanent {
            message: cover_message(),
        }
    }

    /// Articles of the OA, newest first, page `page` (10 per page).
    async fn slice(&self, page: usize) -> Result<Vec<Value>, Classified> {
        self.slice_at(page * SLICE_LIMIT).await.map(|p| p.items)
    }

    /// The page of the article list that starts at `offset` (at most [`SLICE_LIMIT`] articles).
    pub(crate) async fn slice_at(&self, offset: usize) -> Result<SlicePage, Classified> {
        let url = self.url("/v2.0/article/getslice");
        let offset = offset.to_string();
        let limit = SLICE_LIMIT.to_string();
        let data = self
            .call(ZaloCall::List, |http, token| {
                http.get(&url).header("access_token", token).query(&[
                    ("offset", offset.as_str()),
                    ("limit", limit.as_str()),
                    ("type", "normal"),
                ])
            })
            .await?;
        // Clients have seen the list under other keys: take `medias`, else the first array.
        let items = data
            .get("medias")
            .and_then(Value::as_array)
            .or_else(|| {
                data.as_object()
                    .and_then(|o| o.values().find_map(Value::as_array))
            })
            .cloned()
            .unwrap_or_default();
        Ok(SlicePage {
            items,
            total: data.get("total").and_then(number_of),
        })
    }

    /// The OA's followers (`num_follower` from `getoa`), for the account snapshot.
    pub async fn followers(&self) -> Result<Option<u64>, Outcome> {
        Ok(self.getoa().await?.get("num_follower").and_then(number_of))
    }

    /// The `data` object of `getoa`.
    pub(crate) async fn getoa(&self) -> Result<Value, Outcome> {
        let url = self.url("/v2.0/oa/getoa");
        self.call(ZaloCall::GetOa, |http, token| {
            http.get(&url).header("access_token", token)
        })
        .await
        .map_err(outcome_of)
    }
}

fn cover_message() -> String {
    tr(
        "Zalo could not fetch the cover picture (error -200); check that zalo.default_cover_url and media.public_base_url are public https addresses",
        "Zalo không tải được ảnh bìa (lỗi -200); hãy kiểm tra zalo.default_cover_url và media.public_base_url là địa chỉ https công khai",
    )
    .into()
}

/// `now` is the channel's clock, which the engine's pause is compared with.
fn auth_outcome(e: AuthError, now: DateTime<Utc>) -> Classified {
    Classified::Outcome(match e {
        AuthError::RateLimited => Outcome::RateLimited {
            message: e.to_string(),
            until: now + chrono::Duration::seconds(60),
        },
        AuthError::NeedsReauth(_) => Outcome::AuthExpired {
            message: e.to_string(),
        },
        other => Outcome::Transient {
            message: other.to_string(),
            retry_after: None,
        },
    })
}

/// Zalo's words are quoted in outcomes, which are stored and shown: the access token sent with
/// the call must not be among them, however Zalo quoted it.
fn hide_token(c: Classified, token: &secrecy::SecretString) -> Classified {
    match c {
        Classified::Outcome(o) => Classified::Outcome(redact::outcome(
            o,
            &[secrecy::ExposeSecret::expose_secret(token)],
        )),
        other => other,
    }
}

pub(crate) fn outcome_of(c: Classified) -> Outcome {
    match c {
        Classified::Outcome(o) => o,
        Classified::Processing => Outcome::Transient {
            message: "Zalo is still processing".into(),
            retry_after: None,
        },
        Classified::RefreshToken => Outcome::AuthExpired {
            message: "Zalo rejected the access token".into(),
        },
        Classified::CoverRejected => Outcome::Permanent {
            message: cover_message(),
        },
        Classified::NotFound => Outcome::Permanent {
            message: "Zalo has no such article".into(),
        },
    }
}

/// `create_date` in milliseconds or seconds, told apart by size. Milliseconds are kept: the
/// window's start has them, and an article created in its first second is inside it.
fn created_at(item: &Value) -> Option<DateTime<Utc>> {
    let raw = item
        .get("create_date")
        .or_else(|| item.get("created_date"))
        .and_then(number_of)?;
    let raw = i64::try_from(raw).ok()?;
    if raw > 100_000_000_000 {
        DateTime::from_timestamp_millis(raw)
    } else {
        DateTime::from_timestamp(raw, 0)
    }
}

impl Publisher for ZaloChannel {
    fn channel(&self) -> Channel {
        Channel::Zalo
    }

    fn publish<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if let Some(token) = &job.progress {
                // An earlier create returned this token: finish it, never create again.
                return match self.verify(token).await {
                    Ok(id) => Outcome::Published { remote_id: id },
                    Err(Classified::CoverRejected) => {
                        let article = render(&job.post, &self.config);
                        let article =
                            crate::render::zalo::with_default_cover(&article, &self.config)
                                .unwrap_or(article);
                        self.create_and_verify(job, article).await
                    }
                    Err(c) => outcome_of(c),
                };
            }
            self.create_and_verify(job, render(&job.post, &self.config))
                .await
        })
    }

    fn update<'a>(&'a self, job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let article = render(&job.post, &self.config);
            let token = match self.submit(&article, Some(remote_id)).await {
                Ok(t) => t,
                Err(o) => return o,
            };
            match self.verify(&token).await {
                Ok(_) => Outcome::Published {
                    remote_id: remote_id.to_string(),
                },
                Err(c) => outcome_of(c),
            }
        })
    }

    fn reconcile<'a>(&'a self, job: &'a Job, since: DateTime<Utc>) -> BoxFuture<'a, Reconciled> {
        Box::pin(async move {
            if job.progress.is_some() {
                // A token was saved: publishing again resumes it by verifying, so "absent" is safe.
                return Reconciled::Absent;
            }
            // A new article can be missing from the list while Zalo processes it: before
            // `zalo.listing_delay` has passed since the create, "not listed" proves nothing.
            let delay =
                chrono::Duration::from_std(self.config.zalo.listing_delay).unwrap_or_default();
            let listable = since + chrono::Duration::minutes(2) + delay;
            let early = self.clock.now() < listable;
            let title = render(&job.post, &self.config).title;
            for page in 0..RECONCILE_MAX_PAGES {
                let items = match self.slice(page).await {
                    Ok(items) => items,
                    Err(c) => return Reconciled::from_failure(outcome_of(c)),
                };
                let hit = items.iter().find(|item| {
                    item.get("title").and_then(Value::as_str).map(str::trim) == Some(title.trim())
                        && created_at(item).is_none_or(|t| t >= since)
                });
                if let Some(id) = hit.and_then(|i| i.get("id")).and_then(text_of) {
                    return Reconciled::Found { remote_id: id };
                }
                // The list is newest first. Past the reference's two pages, go on only while the
                // oldest article seen is still inside the window: a busy OA can make twenty
                // articles between a lost answer and its look-up, and stopping at two pages
                // then calls the article absent and makes it again.
                let inside = items
                    .last()
                    .and_then(created_at)
                    .is_some_and(|t| t >= since);
                if items.len() < SLICE_LIMIT || (page >= 1 && !inside) {
                    break;
                }
            }
            if early {
                Reconciled::NotYet { until: listable }
            } else {
                Reconciled::Absent
            }
        })
    }

    fn delete<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self
                .post_json(
                    ZaloCall::Remove,
                    "/v2.0/article/remove",
                    &json!({ "id": remote_id }),
                )
                .await
            {
                Ok(_) | Err(Classified::NotFound) => Outcome::Published {
                    remote_id: remote_id.to_string(),
                },
                Err(c) => outcome_of(c),
            }
        })
    }

    fn broadcast<'a>(&'a self, _job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self
                .post_json(
                    ZaloCall::Broadcast,
                    "/v2.0/oa/message",
                    &broadcast_body(remote_id),
                )
                .await
            {
                Ok(data) => Outcome::Published {
                    remote_id: data
                        .get("message_id")
                        .and_then(text_of)
                        .unwrap_or_else(|| "sent".into()),
                },
                Err(c) => outcome_of(c),
            }
        })
    }
}
