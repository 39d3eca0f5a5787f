//! The Graph API client for one Page, as the engine's [`Publisher`]: publish (text, link, one or
//! several photos, or handed to Facebook's own scheduler), update, delete, reconcile, confirm.
//!
//! Every answer is classified by `error.code`/`error_subcode` (never by HTTP status alone), and the
//! usage headers of every answer are read: at 90 % of any figure the channel pauses itself.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::channel::Channel;
use crate::engine::Clock;
use crate::facebook::errors::{CallKind, Classified, classify, parse_error, transport_failure};
use crate::facebook::usage::{DEFAULT_PAUSE_MINUTES, Usage, parse_usage, pause_until};
use crate::i18n::tr;
use crate::platform::gate::PauseGate;
use crate::platform::json::id_of;
use crate::platform::{redact, transport};
use crate::publisher::{BoxFuture, Job, Outcome, Publisher, Reconciled};
use crate::render::facebook::{FacebookPost, photo_placeholder, render, requests_for};
use crate::render::request::{Body, Part as RequestPart, Request};

/// Posts asked for per page of `published_posts` / `scheduled_posts` when reconciling.
const LIST_LIMIT: usize = 25;

/// The most pages one reconciliation reads, so a listing that never ends cannot hold it.
const LIST_MAX_PAGES: usize = 40;

pub use crate::render::facebook::{NATIVE_MAX_LEAD, NATIVE_MIN_LEAD};

/// A Graph call's answer: the JSON body, or how the call ended.
pub(crate) type Answer = Result<Value, Classified>;

/// The Facebook Page channel.
pub struct FacebookChannel {
    http: reqwest::Client,
    /// `{graph_url}/{api_version}`.
    base: String,
    /// `{graph_url}`, without a trailing slash: rendered request paths start with the version.
    root: String,
    api_version: String,
    page_id: String,
    token: SecretString,
    native_schedule: bool,
    clock: Clock,
    /// Closed when the usage headers say the channel is near its limit.
    gate: PauseGate,
    /// The usage headers of the latest reply, when it came, and until when they paused the
    /// channel (if they did): metrics collection reads them to leave publishing its headroom.
    latest_usage: Mutex<Option<UsageReading>>,
}

/// The usage headers of one reply, as the client keeps them.
#[derive(Clone, Debug)]
struct UsageReading {
    usage: Usage,
    /// When the reply came.
    at: DateTime<Utc>,
    /// Until when the figures paused the channel, if they did.
    paused_until: Option<DateTime<Utc>>,
}

impl FacebookChannel {
    /// A client for Page `page_id` at `graph_url`/`api_version`, with the Page token `token`.
    pub fn new(
        graph_url: &str,
        api_version: &str,
        page_id: &str,
        token: SecretString,
        native_schedule: bool,
        clock: Clock,
    ) -> FacebookChannel {
        FacebookChannel {
            http: http_client_for(graph_url),
            base: format!("{}/{}", graph_url.trim_end_matches('/'), api_version),
            root: graph_url.trim_end_matches('/').to_string(),
            api_version: api_version.to_string(),
            page_id: page_id.to_string(),
            token,
            native_schedule,
            clock,
            gate: PauseGate::new(),
            latest_usage: Mutex::new(None),
        }
    }

    /// `{base}/{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// Sends `req` (built for a call of `kind`) and classifies the answer.
    pub(crate) async fn call(&self, kind: CallKind, req: reqwest::RequestBuilder) -> Answer {
        let now = self.clock.now();
        // Calling while throttled extends Facebook's block: do not even try.
        if let Some(refused) = self.gate.refusal(now, || {
            tr(
                "Facebook usage is near its limit; loa waits",
                "Facebook sắp chạm giới hạn gọi API; loa tạm chờ",
            )
            .into()
        }) {
            return Err(Classified::Outcome(refused));
        }
        let answer = transport::exchange(req)
            .await
            .map_err(|failed| Classified::Outcome(transport_failure(kind, failed.kind.words())))?;
        let usage = parse_usage(
            answer.header("x-app-usage"),
            answer.header("x-business-use-case-usage"),
            answer.header("x-page-usage"),
        );
        let regain = pause_until(&usage, now);
        *self
            .latest_usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(UsageReading {
            usage: usage.clone(),
            at: now,
            paused_until: regain,
        });
        if let Some(until) = regain {
            tracing::warn!(percent = usage.max_percent, %until, "Facebook usage is high: pausing the channel");
            self.gate.close_until(until);
        }
        let status = answer.status;
        let json: Option<Value> = serde_json::from_str(&answer.body).ok();
        let error = parse_error(&answer.body);
        match (status, json, error) {
            (200..=299, Some(v), None) => Ok(v),
            (_, _, error) => {
                if let Some(e) = &error {
                    // fbtrace_id is what Facebook's support asks for; the message is Facebook's.
                    tracing::warn!(
                        code = e.code,
                        subcode = e.subcode,
                        fbtrace_id = e.fbtrace_id.as_deref().unwrap_or(""),
                        status,
                        "Facebook refused a call"
                    );
                }
                Err(self.hide_token(classify(kind, status, error.as_ref(), now, regain)))
            }
        }
    }

    /// Hides this channel's own token in an outcome's message. Facebook quotes a malformed
    /// token back ("Malformed access token EAA…") without any `access_token=` before it, so the
    /// key-based redaction of the error text does not catch it, and the message is stored.
    fn hide_token(&self, classified: Classified) -> Classified {
        match classified {
            Classified::Outcome(outcome) => {
                Classified::Outcome(redact::outcome(outcome, &[self.token.expose_secret()]))
            }
            other => other,
        }
    }

    /// The highest usage percentage of the latest reply, if it still says something about the
    /// quota now: it came within the last [`DEFAULT_PAUSE_MINUTES`] (Facebook's rolling hour),
    /// and the pause it caused, if any, is not over (Facebook's own estimate of when calls are
    /// taken again supersedes the figure that led to it).
    pub fn recent_usage_percent(&self) -> Option<f64> {
        let now = self.clock.now();
        self.latest_usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|r| {
                now - r.at < chrono::Duration::minutes(DEFAULT_PAUSE_MINUTES as i64)
                    && r.paused_until.is_none_or(|until| now < until)
            })
            .map(|r| r.usage.max_percent)
    }

    /// Why no call may go now (the pause gate is closed: a rate-limit outcome until it opens),
    /// or `None`.
    pub(crate) fn gate_refusal(&self) -> Option<Outcome> {
        self.gate.refusal(self.clock.now(), || {
            tr(
                "Facebook usage is near its limit; loa waits",
                "Facebook sắp chạm giới hạn gọi API; loa tạm chờ",
            )
            .into()
        })
    }

    /// When the pause gate opens, if it is closed now.
    pub(crate) fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.gate.closed_until(self.clock.now())
    }

    /// The channel's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The HTTP client.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The Page's id.
    pub(crate) fn page_id(&self) -> &str {
        &self.page_id
    }

    pub(crate) fn token(&self) -> String {
        self.token.expose_secret().to_string()
    }

    /// Sends one request built by the renderer, adding only the token and putting the ids of
    /// photos uploaded earlier in place of their stand-ins (`photos`: stand-in → id).
    async fn send(&self, kind: CallKind, request: &Request, photos: &[(String, String)]) -> Answer {
        let fill = |text: &str| {
            photos.iter().fold(text.to_string(), |t, (stand_in, id)| {
                t.replace(stand_in, id)
            })
        };
        let url = format!("{}{}", self.root, request.path);
        let builder = match request.method {
            "DELETE" => self.http.delete(&url),
            "GET" => self.http.get(&url),
            _ => self.http.post(&url),
        };
        let builder = match &request.body {
            Body::Form(fields) => {
                let mut form: Vec<(String, String)> =
                    fields.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
                form.push(("access_token".into(), self.token()));
                builder.form(&form)
            }
            Body::Multipart(parts) => {
                let mut form = Form::new();
                for (name, part) in parts {
                    form = match part {
                        RequestPart::Text(text) => form.text(name.clone(), fill(text)),
                        RequestPart::File {
                            path, content_type, ..
                        } => {
                            let bytes = match tokio::fs::read(path).await {
                                Ok(b) => b,
                                Err(e) => {
                                    return Err(Classified::Outcome(Outcome::Permanent {
                                        message: tr(
                                            format!(
                                                "cannot read the photo {}: {e}",
                                                path.display()
                                            ),
                                            format!("không đọc được ảnh {}: {e}", path.display()),
                                        ),
                                    }));
                                }
                            };
                            let file_name = path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_else(|| "photo".into());
                            let part = Part::bytes(bytes)
                                .file_name(file_name)
                                .mime_str(content_type)
                                .map_err(|e| {
                                    Classified::Outcome(Outcome::Permanent {
                                        message: e.to_string(),
                                    })
                                })?;
                            form.part(name.clone(), part)
                        }
                    };
                }
                builder.multipart(form.text("access_token", self.token()))
            }
            Body::Json(value) => builder.query(&[("access_token", self.token())]).json(value),
        };
        self.call(kind, builder).await
    }

    /// Publishes (or hands to Facebook's scheduler, when `scheduled`) and returns the post id.
    /// What is sent is exactly what the renderer builds (and `loa preview` shows).
    async fn create(
        &self,
        fb: &FacebookPost,
        scheduled: Option<DateTime<Utc>>,
    ) -> Result<String, Outcome> {
        let requests = requests_for(fb, &self.api_version, &self.page_id, scheduled);
        let Some((last, uploads)) = requests.split_last() else {
            return Err(Outcome::Permanent {
                message: "nothing to send".into(),
            });
        };
        // Every request before the last uploads a photo the last one attaches.
        let mut photos = Vec::new();
        for (i, upload) in uploads.iter().enumerate() {
            let v = self
                .send(CallKind::UnpublishedUpload, upload, &photos)
                .await
                .map_err(outcome_of)?;
            let Some(id) = v.get("id").and_then(id_of) else {
                return Err(Outcome::Transient {
                    message: "Facebook returned no photo id".into(),
                    retry_after: None,
                });
            };
            photos.push((photo_placeholder(i + 1), id));
        }
        let answer = self.send(CallKind::PublishPost, last, &photos).await;
        let v = answer.map_err(outcome_of)?;
        // A photo post's id is `post_id`; the photo's own `id` has no reactions or insights.
        let id = v.get("post_id").and_then(id_of).or_else(|| {
            if fb.photos.len() == 1 && scheduled.is_none() {
                None
            } else {
                v.get("id").and_then(id_of)
            }
        });
        id.ok_or_else(|| Outcome::Ambiguous {
            message: "Facebook accepted the post but sent no post id".into(),
        })
    }

    /// Lists the Page's recent posts of `edge` (`published_posts` or `scheduled_posts`).
    /// The Page's posts on `edge`, newest first, page after page while the oldest one seen was
    /// made at or after `since`: a busy Page can make more than a page of posts between a lost
    /// answer and its look-up, and stopping at one page then calls the post absent and makes it
    /// again (found by the proof suite on Zalo).
    async fn list(&self, edge: &str, since: DateTime<Utc>) -> Result<Vec<Value>, Outcome> {
        let fields = if edge == "scheduled_posts" {
            "id,message,created_time,scheduled_publish_time"
        } else {
            "id,message,created_time"
        };
        let token = self.token();
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..LIST_MAX_PAGES {
            let mut query = vec![
                ("fields", fields.to_string()),
                ("limit", LIST_LIMIT.to_string()),
                ("access_token", token.to_string()),
            ];
            if let Some(cursor) = &after {
                query.push(("after", cursor.clone()));
            }
            let req = self
                .http
                .get(self.url(&format!("{}/{edge}", self.page_id)))
                .query(&query);
            let page = self.call(CallKind::Read, req).await.map_err(outcome_of)?;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let inside = data
                .last()
                .and_then(|p| p.get("created_time"))
                .and_then(Value::as_str)
                .and_then(parse_graph_time)
                .is_some_and(|t| t >= since);
            let full = data.len() >= LIST_LIMIT;
            all.extend(data);
            after = page
                .get("paging")
                .filter(|p| p.get("next").is_some())
                .and_then(|p| p.pointer("/cursors/after"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if !(full && inside) || after.is_none() {
                break;
            }
        }
        Ok(all)
    }

    fn native_time(&self, job: &Job) -> Option<DateTime<Utc>> {
        crate::render::facebook::native_time(job.due_at, self.clock.now(), self.native_schedule)
    }
}

fn outcome_of(c: Classified) -> Outcome {
    match c {
        Classified::Outcome(o) => o,
        // Neither applies to a publish; treat as Facebook refusing the request.
        Classified::AlreadyGone => Outcome::Permanent {
            message: "(#100) the post no longer exists".into(),
        },
        Classified::MetricRetired => Outcome::Permanent {
            message: "(#100) invalid insights metric".into(),
        },
    }
}

/// Facebook's `created_time`: `2026-12-01T00:00:05+0000` (no colon in the offset).
pub fn parse_graph_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The HTTP client, now at the platform edge; kept here for code written against this path.
pub use crate::platform::http::{client as http_client, client_for as http_client_for};

impl Publisher for FacebookChannel {
    fn channel(&self) -> Channel {
        Channel::Facebook
    }

    fn publish<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let fb = render(&job.post);
            let scheduled = self.native_time(job);
            match self.create(&fb, scheduled).await {
                Ok(id) => match scheduled {
                    Some(at) => Outcome::ScheduledOnPlatform { remote_id: id, at },
                    None => Outcome::Published { remote_id: id },
                },
                Err(o) => o,
            }
        })
    }

    fn update<'a>(&'a self, job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let fb = render(&job.post);
            let mut form = vec![("message".to_string(), fb.message)];
            if job.scheduled_on_platform {
                if job.due_at - self.clock.now() >= NATIVE_MIN_LEAD {
                    form.push((
                        "scheduled_publish_time".into(),
                        job.due_at.timestamp().to_string(),
                    ));
                } else {
                    // Too close for Facebook's scheduler: publish it now, as loa would have.
                    form.push(("is_published".into(), "true".into()));
                }
            }
            form.push(("access_token".into(), self.token()));
            match self
                .call(
                    CallKind::Update,
                    self.http.post(self.url(remote_id)).form(&form),
                )
                .await
            {
                Ok(v) if v.get("success").and_then(Value::as_bool) == Some(false) => {
                    Outcome::Transient {
                        message: "Facebook answered success:false to the edit".into(),
                        retry_after: None,
                    }
                }
                Ok(_) => Outcome::Published {
                    remote_id: remote_id.to_string(),
                },
                Err(c) => outcome_of(c),
            }
        })
    }

    fn reconcile<'a>(&'a self, job: &'a Job, since: DateTime<Utc>) -> BoxFuture<'a, Reconciled> {
        Box::pin(async move {
            let message = render(&job.post).message;
            let wanted = message.trim();
            let matches = |p: &Value| {
                p.get("message").and_then(Value::as_str).map(str::trim) == Some(wanted)
                    && p.get("created_time")
                        .and_then(Value::as_str)
                        .and_then(parse_graph_time)
                        .is_some_and(|t| t >= since)
            };
            let published = match self.list("published_posts", since).await {
                Ok(p) => p,
                Err(e) => return Reconciled::from_failure(e),
            };
            if let Some(id) = published
                .iter()
                .find(|p| matches(p))
                .and_then(|p| p.get("id"))
                .and_then(id_of)
            {
                return Reconciled::Found { remote_id: id };
            }
            if self.native_schedule {
                let scheduled = match self.list("scheduled_posts", since).await {
                    Ok(p) => p,
                    Err(e) => return Reconciled::from_failure(e),
                };
                if let Some(p) = scheduled.iter().find(|p| matches(p)) {
                    let at = p
                        .get("scheduled_publish_time")
                        .and_then(crate::platform::json::integer);
                    if let (Some(id), Some(at)) = (
                        p.get("id").and_then(id_of),
                        at.and_then(|s| DateTime::from_timestamp(s, 0)),
                    ) {
                        return Reconciled::FoundScheduled { remote_id: id, at };
                    }
                }
            }
            Reconciled::Absent
        })
    }

    fn delete<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let token = self.token();
            let req = self
                .http
                .delete(self.url(remote_id))
                .query(&[("access_token", token.as_str())]);
            match self.call(CallKind::Delete, req).await {
                Ok(v) if v.get("success").and_then(Value::as_bool) == Some(false) => {
                    Outcome::Transient {
                        message: "Facebook answered success:false to the deletion".into(),
                        retry_after: None,
                    }
                }
                Ok(_) | Err(Classified::AlreadyGone) => Outcome::Published {
                    remote_id: remote_id.to_string(),
                },
                Err(c) => outcome_of(c),
            }
        })
    }

    fn native_window(&self) -> Option<(chrono::Duration, chrono::Duration)> {
        // Margins inside Facebook's limits: the request itself takes time, and clocks differ.
        self.native_schedule.then_some((
            NATIVE_MIN_LEAD + chrono::Duration::minutes(5),
            NATIVE_MAX_LEAD - chrono::Duration::days(1),
        ))
    }

    fn confirm<'a>(&'a self, _job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let token = self.token();
            let req = self.http.get(self.url(remote_id)).query(&[
                ("fields", "id,is_published,scheduled_publish_time"),
                ("access_token", token.as_str()),
            ]);
            match self.call(CallKind::Read, req).await {
                Ok(v) if v.get("is_published").and_then(Value::as_bool) == Some(true) => Outcome::Published { remote_id: remote_id.to_string() },
                Ok(v) => {
                    let at = v
                        .get("scheduled_publish_time")
                        .and_then(crate::platform::json::integer)
                        .and_then(|s| DateTime::from_timestamp(s, 0))
                        .filter(|t| *t > self.clock.now());
                    match at {
                        Some(at) => Outcome::ScheduledOnPlatform { remote_id: remote_id.to_string(), at },
                        None => Outcome::Transient { message: "Facebook has not published the scheduled post yet".into(), retry_after: None },
                    }
                }
                Err(Classified::AlreadyGone) => Outcome::Permanent {
                    message: tr("the scheduled post no longer exists on the Page (deleted on facebook.com?)", "bài hẹn giờ không còn trên Trang (đã bị xóa trên facebook.com?)").into(),
                },
                Err(c) => outcome_of(c),
            }
        })
    }
}
