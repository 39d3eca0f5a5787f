//! How the engine talks to a platform: the [`Publisher`] trait and the outcome classes every
//! platform answer is sorted into.
//!
//! The engine decides *when*; a publisher decides *how*, and must classify every answer. The
//! classes are the same for Facebook and Zalo (see `shared/api/*.md`, "Outcome classes").

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::post::Post;

/// A boxed future, so that publishers can live behind `dyn Publisher`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one request to a platform came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The post is on the platform with this id.
    Published {
        /// The platform's id (Facebook `{page}_{post}`, Zalo article id).
        remote_id: String,
    },
    /// The platform holds the post and will publish it itself at `at` (Facebook's native
    /// scheduling): the delivery stays scheduled until loa has checked that it went out.
    ScheduledOnPlatform {
        /// The platform's id.
        remote_id: String,
        /// When the platform publishes it.
        at: DateTime<Utc>,
    },
    /// A passing failure: try again after the backoff (or after `retry_after` if the platform
    /// said how long).
    Transient {
        /// The platform's words.
        message: String,
        /// The platform's own wait, when it gave one.
        retry_after: Option<Duration>,
    },
    /// The whole channel must wait until `until`.
    RateLimited {
        /// The platform's words.
        message: String,
        /// No request on this channel before this time.
        until: DateTime<Utc>,
    },
    /// The channel needs a new token; its deliveries wait (they are not failed).
    AuthExpired {
        /// The platform's words, and what the officer must do.
        message: String,
    },
    /// The platform refused this post for good.
    Permanent {
        /// The platform's own message, shown to the officer.
        message: String,
    },
    /// The request may have taken effect (timeout, dropped connection, 5xx on a create): the
    /// engine reconciles before anything is sent again.
    Ambiguous {
        /// What happened.
        message: String,
    },
}

impl Outcome {
    /// The class's name, as stored with the attempt.
    pub fn class(&self) -> &'static str {
        match self {
            Outcome::Published { .. } => "published",
            Outcome::ScheduledOnPlatform { .. } => "scheduled_on_platform",
            Outcome::Transient { .. } => "transient",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::AuthExpired { .. } => "auth_expired",
            Outcome::Permanent { .. } => "permanent",
            Outcome::Ambiguous { .. } => "ambiguous",
        }
    }

    /// The platform's words, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::Published { .. } | Outcome::ScheduledOnPlatform { .. } => None,
            Outcome::Transient { message, .. }
            | Outcome::RateLimited { message, .. }
            | Outcome::AuthExpired { message }
            | Outcome::Permanent { message }
            | Outcome::Ambiguous { message } => Some(message),
        }
    }
}

/// What looking for a post on the platform found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// It is there, with this id.
    Found {
        /// The platform's id.
        remote_id: String,
    },
    /// The platform holds it for later (native scheduling), with this id.
    FoundScheduled {
        /// The platform's id.
        remote_id: String,
        /// When the platform publishes it.
        at: DateTime<Utc>,
    },
    /// It is certainly not there: creating it is safe.
    Absent,
    /// Too early to tell: a new post may not be listed yet. Look again at `until` (this does not
    /// count as an undecided look-up).
    NotYet {
        /// When the platform's listing can be trusted.
        until: DateTime<Utc>,
    },
    /// The listing failed for a passing reason (a 5xx, a timeout, Zalo's -32): a look-up is
    /// read-only and safe to repeat, so it is tried again with backoff up to
    /// `retry.max_attempts`, like a publish.
    Unknown {
        /// Why.
        message: String,
    },
    /// The listing was rate-limited: the whole channel waits; this is not a try.
    Paused {
        /// The platform's words.
        message: String,
        /// No request on this channel before this time.
        until: DateTime<Utc>,
    },
    /// The listing needs a new token: the channel waits for one; this is not a try.
    AuthExpired {
        /// The platform's words.
        message: String,
    },
    /// The platform refuses to list (a permission it will not give, a request it will never
    /// accept): it truly cannot say, so the officer must look.
    Undecidable {
        /// The platform's words.
        message: String,
    },
}

impl Reconciled {
    /// What a failed listing request means for the look-up, by the request's outcome class.
    pub fn from_failure(outcome: Outcome) -> Reconciled {
        match outcome {
            Outcome::RateLimited { message, until } => Reconciled::Paused { message, until },
            Outcome::AuthExpired { message } => Reconciled::AuthExpired { message },
            Outcome::Permanent { message } => Reconciled::Undecidable { message },
            Outcome::Transient { message, .. } | Outcome::Ambiguous { message } => {
                Reconciled::Unknown { message }
            }
            Outcome::Published { .. } | Outcome::ScheduledOnPlatform { .. } => {
                Reconciled::Unknown {
                    message: "the listing gave an answer loa cannot read".into(),
                }
            }
        }
    }

    /// The class recorded with the look-up's attempt, and the platform's words.
    pub fn record(&self) -> (&'static str, Option<String>, Option<String>) {
        match self {
            Reconciled::Found { remote_id } => ("found", Some(remote_id.clone()), None),
            Reconciled::FoundScheduled { remote_id, .. } => {
                ("found_scheduled", Some(remote_id.clone()), None)
            }
            Reconciled::Absent => ("absent", None, None),
            Reconciled::NotYet { .. } => ("not_yet", None, None),
            Reconciled::Unknown { message } => ("unknown", None, Some(message.clone())),
            Reconciled::Paused { message, .. } => ("rate_limited", None, Some(message.clone())),
            Reconciled::AuthExpired { message } => ("auth_expired", None, Some(message.clone())),
            Reconciled::Undecidable { message } => ("undecidable", None, Some(message.clone())),
        }
    }
}

/// Saves a platform's in-flight token durably, before the publisher goes on (Zalo's create
/// returns a processing token that must survive a crash so the next try verifies, not creates).
pub trait ProgressSink: Send + Sync {
    /// Commits `progress` for this delivery; returns once it is on disk, or why it could not.
    fn save<'a>(&'a self, progress: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// One attempt's worth of work for a publisher.
pub struct Job {
    /// The delivery's row id.
    pub delivery_id: i64,
    /// The post, validated, as stored.
    pub post: Post,
    /// When the delivery was due (for native scheduling on the platform).
    pub due_at: DateTime<Utc>,
    /// A token saved by an earlier attempt, if any (resume with it; never create again).
    pub progress: Option<String>,
    /// The platform already holds this post as a scheduled one (native scheduling).
    pub scheduled_on_platform: bool,
    /// Where to save a new token.
    pub progress_sink: Arc<dyn ProgressSink>,
}

/// A platform client, as the engine sees it.
pub trait Publisher: Send + Sync {
    /// Which channel this is.
    fn channel(&self) -> Channel;

    /// Publishes the job's post (or resumes with `job.progress`).
    fn publish<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome>;

    /// Updates the published post `remote_id` with the job's (edited) post.
    fn update<'a>(&'a self, job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome>;

    /// Looks for the job's post on the platform, created at or after `since`.
    fn reconcile<'a>(&'a self, job: &'a Job, since: DateTime<Utc>) -> BoxFuture<'a, Reconciled>;

    /// Removes the post `remote_id` from the platform (`loa unpublish`, or withdrawing a post
    /// the platform holds for later). `Published` means it is gone (or was already).
    fn delete<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Outcome>;

    /// Sends the published post `remote_id` to the channel's followers (Zalo's broadcast).
    /// `Published` carries the platform's message id.
    fn broadcast<'a>(&'a self, job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        let _ = (job, remote_id);
        Box::pin(async {
            Outcome::Permanent {
                message: "this channel has no broadcast".into(),
            }
        })
    }

    /// When the platform can hold a post and publish it itself: the shortest and longest lead
    /// it accepts. The engine then hands deliveries over early. `None`: loa publishes on time.
    fn native_window(&self) -> Option<(chrono::Duration, chrono::Duration)> {
        None
    }

    /// After the time of a post the platform held: has it gone out? `Published` when it has,
    /// `Transient` to look again later, `Permanent` when it is gone.
    fn confirm<'a>(&'a self, job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        let _ = job;
        Box::pin(async move {
            Outcome::Published {
                remote_id: remote_id.to_string(),
            }
        })
    }
}
