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
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Script>,
    reconcile_script: VecDeque<Reconciled>,
    calls: Vec<Call>,
    /// (remote id, title) of every post the platform holds.
    posts: Vec<(String, String)>,
    in_flight: usize,
    max_in_flight: usize,
}

/// The fake channel.
#[derive(Clone)]
pub struct FakeChannel {
    channel: Channel,
    inner: Arc<Mutex<Inner>>,
}

impl FakeChannel {
    /// A fake that publishes everything.
    pub fn new(channel: Channel) -> FakeChannel {
        FakeChannel {
            channel,
            inner: Arc::default(),
        }
    }

    /// Queues scripted answers for the next publish calls.
    pub fn script(&self, steps: impl IntoIterator<Item = Script>) {
        self.inner.lock().unwrap().script.extend(steps);
    }

    /// Queues scripted answers for the next reconcile calls (default: look at what it holds).
    pub fn script_reconcile(&self, steps: impl IntoIterator<Item = Reconciled>) {
        self.inner.lock().unwrap().reconcile_script.extend(steps);
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
                inner.in_flight += 1;
                inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
                inner.script.pop_front()
            };
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
            let mut inner = self.inner.lock().unwrap();
            inner
                .calls
                .push(Call::Update(remote_id.to_string(), job.post.title.clone()));
            if let Some(p) = inner.posts.iter_mut().find(|(id, _)| id == remote_id) {
                p.1 = job.post.title.clone();
            }
            Outcome::Published {
                remote_id: remote_id.to_string(),
            }
        })
    }

    fn reconcile<'a>(&'a self, job: &'a Job, _since: DateTime<Utc>) -> BoxFuture<'a, Reconciled> {
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            inner.calls.push(Call::Reconcile(job.post.title.clone()));
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
}
