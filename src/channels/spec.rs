//! What a channel is asked: the [`ChannelSpec`] each platform implements once, in its own module.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::clock::Clock;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::post::Post;
use crate::post::front_matter::FrontMatter;
use crate::publisher::Publisher;
use crate::zalo::oauth::ZaloAuth;

use super::Secrets;

/// One platform, as the rest of loa sees it before and around its client. (When the platform
/// can hold a post for later is the client's to say, `Publisher::native_window`: it depends on
/// the client's settings, and the engine asks the client it sends through.)
pub trait ChannelSpec: Sync {
    /// Which channel this is.
    fn channel(&self) -> Channel;

    /// Adds what `post` breaks of the platform's own rules (its limits on the rendered post),
    /// pointing at the front-matter line to change. Runs on every post that goes to the channel,
    /// even one with other errors, so that every problem is found at once.
    fn check(&self, post: &Post, fm: &FrontMatter, config: &Config, diags: &mut Vec<Diagnostic>);

    /// Whether `post`, once published, is also sent to the channel's followers.
    fn wants_broadcast(&self, post: &Post, config: &Config) -> bool {
        let _ = (post, config);
        false
    }

    /// The metrics the platform reports, by the contract's names (`super::METRICS`), in its
    /// order; a metric the platform has no figure for is left out.
    fn metrics(&self) -> &'static [&'static str];

    /// What `loa preview --format json` shows for this channel when `post` goes out at `due`
    /// (seen at `now`): at least `requests`, exactly what the client sends then, in order.
    fn preview_json(
        &self,
        post: &Post,
        config: &Config,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> serde_json::Map<String, serde_json::Value>;

    /// What `loa preview` prints for this channel, for people.
    fn preview_text(
        &self,
        post: &Post,
        config: &Config,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()>;

    /// What the officer does when the channel needs a new token.
    fn reauth_hint(&self) -> String;

    /// The channel's client for `config`, with the secrets `secrets` gives, or why it cannot be
    /// served now. Called once per process, by `super::build`.
    fn build(
        &self,
        config: &Config,
        clock: &Clock,
        secrets: &Secrets,
    ) -> Result<Built, Unavailable>;
}

/// A channel's client, and what the service must keep alive beside it.
pub struct Built {
    /// The client the engine sends through.
    pub publisher: Arc<dyn Publisher>,
    /// The same client as the metrics collector, when the platform reports figures: one object,
    /// so that publishing and metrics share one pause gate and one view of the usage.
    pub collector: Option<Arc<dyn crate::metrics::Collector>>,
    /// The Zalo token manager the client uses, which the service's refresh job shares.
    pub zalo_auth: Option<Arc<ZaloAuth>>,
}

/// An enabled channel loa cannot send to now, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// The channel.
    pub channel: Channel,
    /// `needs_reauth`: no token yet, or the platform refused it.
    pub health: &'static str,
    /// What to do, for the officer.
    pub reason: String,
}

impl Unavailable {
    /// `channel` waits for a token (`needs_reauth`), for `reason`.
    pub fn needs_reauth(channel: Channel, reason: impl Into<String>) -> Unavailable {
        Unavailable {
            channel,
            health: "needs_reauth",
            reason: reason.into(),
        }
    }
}
