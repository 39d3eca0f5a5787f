//! The channels loa publishes to, in one place: which exist ([`SPECS`]), what each asks of a
//! post, and the clients built for a config ([`build`]).
//!
//! What differs between channels — the limits `check` enforces, whether a published post is
//! also sent to followers, which metrics exist, how the client is built — is asked of the
//! channel's [`ChannelSpec`], which lives in the platform's own module (`facebook::spec`,
//! `zalo::spec`). The engine, sync and the commands ask here; none of them names a platform.
//!
//! `run`, `run --once`, `status`, `unpublish` and the demo build their clients through
//! [`build`], so a process has one client per channel and one Zalo token manager, shared by the
//! client and the service's refresh job.

mod build;
mod secrets;
mod spec;

use std::path::Path;

use crate::channel::Channel;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::post::front_matter::FrontMatter;
use crate::post::{self, Loaded, Post};

pub use build::{Channels, build};
pub use secrets::Secrets;
pub use spec::{Built, ChannelSpec, Unavailable};

/// Every channel loa knows, one line each, in the order loa lists them (`Channel::ALL`).
pub static SPECS: &[&dyn ChannelSpec] =
    &[&crate::facebook::spec::Facebook, &crate::zalo::spec::Zalo];

/// The metric names of the contract, in its order; a channel reports some of them.
pub const METRICS: [&str; 6] = [
    "views",
    "reach",
    "reactions",
    "comments",
    "shares",
    "clicks",
];

/// The spec of `channel`.
pub fn spec(channel: Channel) -> Option<&'static dyn ChannelSpec> {
    SPECS.iter().copied().find(|s| s.channel() == channel)
}

/// Runs the checks of every channel `post` goes to (the limits each platform enforces).
pub fn check(post: &Post, fm: &FrontMatter, config: &Config, diags: &mut Vec<Diagnostic>) {
    for spec in post.channels.iter().filter_map(|c| spec(*c)) {
        spec.check(post, fm, config, diags);
    }
}

/// Reads and validates the post at `path`, with its channels' limits: what `loa check`,
/// `loa preview` and sync call.
pub fn load(path: &Path, config: &Config) -> Loaded {
    post::load_checked(path, config, &|p, fm, d| check(p, fm, config, d))
}

/// [`load`] of a post whose file content is `bytes`.
pub fn load_bytes(path: &Path, bytes: &[u8], config: &Config) -> Loaded {
    post::load_bytes_checked(path, bytes, config, &|p, fm, d| check(p, fm, config, d))
}

/// Whether `post`, published on `channel`, is also sent to the channel's followers.
pub fn wants_broadcast(channel: Channel, post: &Post, config: &Config) -> bool {
    spec(channel).is_some_and(|s| s.wants_broadcast(post, config))
}

/// The metrics `channel` reports, by the contract's names.
pub fn metrics(channel: Channel) -> &'static [&'static str] {
    spec(channel).map_or(&[], |s| s.metrics())
}

#[cfg(test)]
mod tests;
