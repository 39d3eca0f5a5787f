//! The Graph API client for one Page, as the engine's [`Publisher`]: publish (text, link, one or
//! several photos, or handed to Facebook's own scheduler), update, delete, reconcile, confirm.
//!
//! Every answer is classified by `error.code`/`error_subcode` (never by HTTP status alone), and the
//! usage headers of every answer are read: at 90 % of any figure the channel pauses itself.

use chrono::{DateTime, Utc};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::channel::Channel;
use crate::engine::Clock;
use crate::facebook::errors::{CallKind, Classified, classify, parse_error, transport_failure};
use crate::facebook::usage::{parse_usage, pause_until};
use crate::i18n::tr;
use crate::platform::gate::PauseGate;
use crate::platform::json::id_of;
use crate::platform::{redact, transport};
use crate::publisher::{BoxFuture, Job, Outcome, Publisher, Reconciled};
use crate::render::facebook::{FacebookPost, Photo, render};

/// Facebook accepts scheduled posts from 10 minutes to (at least) 30 days ahead.
pub const NATIVE_MIN_LEAD: chrono::Duration = chrono::Duration::minutes(10);
/// The longest lead loa uses (sources disagree beyond 30 days).
pub const NATIVE_MAX_LEAD: chrono::Duration = chrono::Duration::days(30);

/// A Graph call's answer: the JSON body, or how the call ended.
pub(crate) type Answer = Result<Value, Classified>;

/// The Facebook Page channel.
pub struct FacebookChannel {
    http: reqwest::Client,
    /// `{graph_url}/{api_version}`.
    base: String,
    page_id: String,
    token: SecretString,
    native_schedule: bool,
    clock: Clock,
    /// Closed when the usage headers say the channel is near its limit.
    gate: PauseGate,
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
            page_id: page_id.to_string(),
            token,
            native_schedule,
            clock,
            gate: PauseGate::new(),
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

    /// The form fields that publish `fb` as a feed post (`attached` photo ids, if any).
    fn feed_form(
        &self,
        fb: &FacebookPost,
        attached: &[String],
        scheduled: Option<DateTime<Utc>>,
    ) -> Vec<(String, String)> {
        let mut form = vec![("message".to_string(), fb.message.clone())];
        if let Some(link) = &fb.link {
            form.push(("link".into(), link.clone()));
        }
        for (i, id) in attached.iter().enumerate() {
            form.push((
                format!("attached_media[{i}]"),
                serde_json::json!({ "media_fbid": id }).to_string(),
            ));
        }
        if let Some(at) = scheduled {
            form.push(("published".into(), "false".into()));
            form.push(("scheduled_publish_time".into(), at.timestamp().to_string()));
        }
        form.push(("access_token".into(), self.token()));
        form
    }

    /// Uploads one photo; `published` false keeps it out of the feed until a post attaches it.
    async fn upload_photo(
        &self,
        photo: &Photo,
        caption: Option<&str>,
        published: bool,
        temporary: bool,
    ) -> Answer {
        let mut form = Form::new();
        form = match photo {
            Photo::File {
                path, content_type, ..
            } => {
                let bytes = match tokio::fs::read(path).await {
                    Ok(b) => b,
                    Err(e) => {
                        return Err(Classified::Outcome(Outcome::Permanent {
                            message: tr(
                                format!("cannot read the photo {}: {e}", path.display()),
                                format!("không đọc được ảnh {}: {e}", path.display()),
                            ),
                        }));
                    }
                };
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "photo".into());
                let part = Part::bytes(bytes)
                    .file_name(name)
                    .mime_str(content_type)
                    .map_err(|e| {
                        Classified::Outcome(Outcome::Permanent {
                            message: e.to_string(),
                        })
                    })?;
                form.part("source", part)
            }
            Photo::Url(url) => form.text("url", url.clone()),
        };
        if let Some(c) = caption {
            form = form.text("caption", c.to_string());
        }
        if !published {
            form = form.text("published", "false");
        }
        if temporary {
            form = form.text("temporary", "true");
        }
        form = form.text("access_token", self.token());
        let kind = if published {
            CallKind::PublishPost
        } else {
            CallKind::UnpublishedUpload
        };
        self.call(
            kind,
            self.http
                .post(self.url(&format!("{}/photos", self.page_id)))
                .multipart(form),
        )
        .await
    }

    /// Publishes (or hands to Facebook's scheduler, when `scheduled`) and returns the post id.
    async fn create(
        &self,
        fb: &FacebookPost,
        scheduled: Option<DateTime<Utc>>,
    ) -> Result<String, Outcome> {
        let answer = match (fb.photos.as_slice(), scheduled) {
            ([], _) => {
                let form = self.feed_form(fb, &[], scheduled);
                self.call(
                    CallKind::PublishPost,
                    self.http
                        .post(self.url(&format!("{}/feed", self.page_id)))
                        .form(&form),
                )
                .await
            }
            ([one], None) => self.upload_photo(one, Some(&fb.message), true, false).await,
            (photos, _) => {
                // Uploads are not posts: repeating one is harmless, so they are sent first.
                let mut ids = Vec::new();
                for photo in photos {
                    match self
                        .upload_photo(photo, None, false, scheduled.is_some())
                        .await
                    {
                        Ok(v) => match v.get("id").and_then(id_of) {
                            Some(id) => ids.push(id),
                            None => {
                                return Err(Outcome::Transient {
                                    message: "Facebook returned no photo id".into(),
                                    retry_after: None,
                                });
                            }
                        },
                        Err(c) => return Err(outcome_of(c)),
                    }
                }
                let form = self.feed_form(fb, &ids, scheduled);
                self.call(
                    CallKind::PublishPost,
                    self.http
                        .post(self.url(&format!("{}/feed", self.page_id)))
                        .form(&form),
                )
                .await
            }
        };
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
    async fn list(&self, edge: &str) -> Result<Vec<Value>, Outcome> {
        let fields = if edge == "scheduled_posts" {
            "id,message,created_time,scheduled_publish_time"
        } else {
            "id,message,created_time"
        };
        let token = self.token();
        let req = self
            .http
            .get(self.url(&format!("{}/{edge}", self.page_id)))
            .query(&[
                ("fields", fields),
                ("limit", "25"),
                ("access_token", token.as_str()),
            ]);
        match self.call(CallKind::Read, req).await {
            Ok(v) => Ok(v
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()),
            Err(c) => Err(outcome_of(c)),
        }
    }

    fn native_time(&self, job: &Job) -> Option<DateTime<Utc>> {
        let lead = job.due_at - self.clock.now();
        (self.native_schedule && (NATIVE_MIN_LEAD..=NATIVE_MAX_LEAD).contains(&lead))
            .then_some(job.due_at)
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
            let published = match self.list("published_posts").await {
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
                let scheduled = match self.list("scheduled_posts").await {
                    Ok(p) => p,
                    Err(e) => return Reconciled::from_failure(e),
                };
                if let Some(p) = scheduled.iter().find(|p| matches(p)) {
                    let at = p
                        .get("scheduled_publish_time")
                        .and_then(|t| t.as_i64().or_else(|| t.as_str()?.parse().ok()));
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
                        .and_then(|t| t.as_i64().or_else(|| t.as_str()?.parse().ok()))
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
