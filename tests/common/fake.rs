//! A fake platform channel for engine tests: it keeps the posts it "has", answers with scripted
//! outcomes, and records every call, so tests can assert exactly-once publication.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use loa::channel::Channel;
use loa::publisher::{BoxFuture, Job, Outcome, Publisher, Reconciled};

/// What the fake does on a publish call.
#[derive(Clone, Debug)]
pub enum Script {
    /// Answer this outcome (the post is created only for `Published`).
    Answer(Outcome),
    /// Create the post but answer `Ambiguous` (the answer was lost).
    Ghost,
    /// Answer `Ambiguous` without creating anything.
    Lost,
    /// Save a processing token through the job's progress sink, then answer this.
    TokenThen(Outcome),
    /// The platform creates the post at once but answers after this long (a process killed
    /// meanwhile never hears back).
    Slow(Duration),
}

/// One call the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// publish(title)
    Publish(String),
    /// update(remote id, title)
    Update(String, String),
    /// reconcile(title)
    Reconcile(String),
    /// delete(remote id)
    Delete(String),
    /// broadcast(remote id)
    Broadcast(String),
    /// confirm(remote id)
    Confirm(String),
}

/// A call the test holds until it has raced something against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The next publish.
    Publish,
    /// The next update.
    Update,
    /// The next reconcile (look-up).
    Reconcile,
    /// The next confirm.
    Confirm,
    /// The next broadcast.
    Broadcast,
}

/// A held call: the test waits for it to arrive, does its racing, then lets it answer.
#[derive(Clone, Default)]
pub struct Gate {
    arrived: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl Gate {
    /// Waits until the held call has been made (the request is "on the wire").
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the held call answer.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

#[derive(Default)]
struct Inner {
    holds: Vec<(Hold, Gate)>,
    confirm_script: VecDeque<Outcome>,
    script: VecDeque<Script>,
    reconcile_script: VecDeque<Reconciled>,
    broadcast_script: VecDeque<Outcome>,
    calls: Vec<Call>,
    /// (remote id, title) of every post the platform holds.
    posts: Vec<(String, String)>,
    in_flight: usize,
    max_in_flight: usize,
    /// The `progress` each publish call was given.
    progress_seen: Vec<Option<String>>,
    /// (remote id, title) of posts held for later, with their times in `times`.
    scheduled: Vec<(String, String)>,
    times: Vec<(String, DateTime<Utc>)>,
}

impl Inner {
    fn at_of(&self, id: &str) -> DateTime<Utc> {
        self.times
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }
}

/// The fake channel.
#[derive(Clone)]
pub struct FakeChannel {
    channel: Channel,
    inner: Arc<Mutex<Inner>>,
    /// With a clock, the fake schedules natively (10 min .. 30 days ahead), like Facebook.
    native: Option<loa::engine::Clock>,
}

impl FakeChannel {
    /// A fake that publishes everything.
    pub fn new(channel: Channel) -> FakeChannel {
        FakeChannel {
            channel,
            inner: Arc::default(),
            native: None,
        }
    }

    /// A fake that holds posts due 10 minutes to 30 days ahead and publishes them itself.
    pub fn with_native_scheduling(channel: Channel, clock: loa::engine::Clock) -> FakeChannel {
        FakeChannel {
            channel,
            inner: Arc::default(),
            native: Some(clock),
        }
    }

    /// Titles the platform holds for later (not yet out at `now`).
    pub fn held(&self) -> Vec<String> {
        let now = self.native.as_ref().map(|c| c.now());
        let inner = self.inner.lock().unwrap();
        inner
            .scheduled
            .iter()
            .filter(|(id, _)| now.is_some_and(|n| n < inner.at_of(id)))
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Queues scripted answers for the next publish calls.
    pub fn script(&self, steps: impl IntoIterator<Item = Script>) {
        self.inner.lock().unwrap().script.extend(steps);
    }

    /// Queues scripted answers for the next reconcile calls (default: look at what it holds).
    pub fn script_reconcile(&self, steps: impl IntoIterator<Item = Reconciled>) {
        self.inner.lock().unwrap().reconcile_script.extend(steps);
    }

    /// Queues answers for the next broadcast calls (default: sent).
    pub fn script_broadcast(&self, steps: impl IntoIterator<Item = Outcome>) {
        self.inner.lock().unwrap().broadcast_script.extend(steps);
    }

    /// Holds the next call of `which` until the returned gate is released.
    pub fn hold(&self, which: Hold) -> Gate {
        let gate = Gate::default();
        self.inner.lock().unwrap().holds.push((which, gate.clone()));
        gate
    }

    /// Queues answers for the next confirm calls (default: out once its time has come).
    pub fn script_confirm(&self, steps: impl IntoIterator<Item = Outcome>) {
        self.inner.lock().unwrap().confirm_script.extend(steps);
    }

    /// If a hold is set for `which`, tells the test the call arrived and waits for release.
    async fn wait_if_held(&self, which: Hold) {
        let gate = {
            let mut inner = self.inner.lock().unwrap();
            let i = inner.holds.iter().position(|(h, _)| *h == which);
            i.map(|i| inner.holds.remove(i).1)
        };
        if let Some(gate) = gate {
            gate.arrived.notify_one();
            gate.release.notified().await;
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// The titles the platform holds, in creation order.
    pub fn titles(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .posts
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// The `progress` token each publish call was given, in order.
    pub fn progress_seen(&self) -> Vec<Option<String>> {
        self.inner.lock().unwrap().progress_seen.clone()
    }

    /// The most requests it saw at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_in_flight
    }

    fn create(&self, title: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        let id = format!("{}-{}", self.channel, inner.posts.len() + 1);
        inner.posts.push((id.clone(), title.to_string()));
        id
    }
}

impl Publisher for FakeChannel {
    fn channel(&self) -> Channel {
        self.channel
    }

    fn publish<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let title = job.post.title.clone();
            let step = {
                let mut inner = self.inner.lock().unwrap();
                inner.calls.push(Call::Publish(title.clone()));
                inner.progress_seen.push(job.progress.clone());
                inner.in_flight += 1;
                inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
                inner.script.pop_front()
            };
            self.wait_if_held(Hold::Publish).await;
            if let (Some(clock), None) = (&self.native, &step) {
                let lead = job.due_at - clock.now();
                if lead >= chrono::Duration::minutes(10) && lead <= chrono::Duration::days(30) {
                    let id = self.create(&title);
                    let mut inner = self.inner.lock().unwrap();
                    inner.in_flight -= 1;
                    inner.scheduled.push((id.clone(), title));
                    inner.times.push((id.clone(), job.due_at));
                    return Outcome::ScheduledOnPlatform {
                        remote_id: id,
                        at: job.due_at,
                    };
                }
            }
            let outcome = match step {
                None => Outcome::Published {
                    remote_id: self.create(&title),
                },
                Some(Script::Answer(o @ Outcome::Published { .. })) => {
                    self.create(&title);
                    o
                }
                Some(Script::Answer(o)) => o,
                Some(Script::Ghost) => {
                    self.create(&title);
                    Outcome::Ambiguous {
                        message: "connection reset".into(),
                    }
                }
                Some(Script::Lost) => Outcome::Ambiguous {
                    message: "timeout".into(),
                },
                Some(Script::TokenThen(o)) => {
                    job.progress_sink
                        .save("tk_01")
                        .await
                        .expect("the token is saved");
                    o
                }
                Some(Script::Slow(d)) => {
                    let remote_id = self.create(&title);
                    tokio::time::sleep(d).await;
                    Outcome::Published { remote_id }
                }
            };
            self.inner.lock().unwrap().in_flight -= 1;
            outcome
        })
    }

    fn update<'a>(&'a self, job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            self.wait_if_held(Hold::Update).await;
            let mut inner = self.inner.lock().unwrap();
            inner
                .calls
                .push(Call::Update(remote_id.to_string(), job.post.title.clone()));
            if let Some(p) = inner.posts.iter_mut().find(|(id, _)| id == remote_id) {
                p.1 = job.post.title.clone();
            }
            if let Some(p) = inner.scheduled.iter_mut().find(|(id, _)| id == remote_id) {
                p.1 = job.post.title.clone();
            }
            if job.scheduled_on_platform
                && let Some(t) = inner.times.iter_mut().find(|(id, _)| id == remote_id)
            {
                t.1 = job.due_at;
            }
            Outcome::Published {
                remote_id: remote_id.to_string(),
            }
        })
    }

    fn reconcile<'a>(&'a self, job: &'a Job, _since: DateTime<Utc>) -> BoxFuture<'a, Reconciled> {
        Box::pin(async move {
            self.inner
                .lock()
                .unwrap()
                .calls
                .push(Call::Reconcile(job.post.title.clone()));
            self.wait_if_held(Hold::Reconcile).await;
            let mut inner = self.inner.lock().unwrap();
            if let Some(r) = inner.reconcile_script.pop_front() {
                return r;
            }
            match inner.posts.iter().find(|(_, t)| *t == job.post.title) {
                Some((id, _)) => Reconciled::Found {
                    remote_id: id.clone(),
                },
                None => Reconciled::Absent,
            }
        })
    }

    fn delete<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            inner.calls.push(Call::Delete(remote_id.to_string()));
            inner.posts.retain(|(id, _)| id != remote_id);
            inner.scheduled.retain(|(id, _)| id != remote_id);
            Outcome::Published {
                remote_id: remote_id.to_string(),
            }
        })
    }

    fn broadcast<'a>(&'a self, _job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            self.inner
                .lock()
                .unwrap()
                .calls
                .push(Call::Broadcast(remote_id.to_string()));
            self.wait_if_held(Hold::Broadcast).await;
            let mut inner = self.inner.lock().unwrap();
            inner
                .broadcast_script
                .pop_front()
                .unwrap_or_else(|| Outcome::Published {
                    remote_id: format!("msg-{remote_id}"),
                })
        })
    }

    fn native_window(&self) -> Option<(chrono::Duration, chrono::Duration)> {
        self.native
            .as_ref()
            .map(|_| (chrono::Duration::minutes(10), chrono::Duration::days(30)))
    }

    fn confirm<'a>(&'a self, _job: &'a Job, remote_id: &'a str) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            self.inner
                .lock()
                .unwrap()
                .calls
                .push(Call::Confirm(remote_id.to_string()));
            self.wait_if_held(Hold::Confirm).await;
            let now = self.native.as_ref().map(|c| c.now()).unwrap_or_default();
            let mut inner = self.inner.lock().unwrap();
            if let Some(o) = inner.confirm_script.pop_front() {
                return o;
            }
            if !inner.posts.iter().any(|(id, _)| id == remote_id) {
                return Outcome::Permanent {
                    message: "(#100) post does not exist".into(),
                };
            }
            if now >= inner.at_of(remote_id) {
                Outcome::Published {
                    remote_id: remote_id.to_string(),
                }
            } else {
                Outcome::Transient {
                    message: "not published yet".into(),
                    retry_after: None,
                }
            }
        })
    }
}
