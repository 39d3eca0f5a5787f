//! The clients of a config's enabled channels, built once per process.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::Collector;
use crate::publisher::Publisher;
use crate::zalo::oauth::ZaloAuth;

use super::{Secrets, Unavailable, spec};

/// What a process sends through: the clients of the enabled channels it can serve, the enabled
/// channels it cannot (their deliveries wait; `status` says why), and the one Zalo token manager,
/// shared by the Zalo client and the service's refresh job.
#[derive(Default)]
pub struct Channels {
    /// One client per served channel, in the order of `Channel::ALL`.
    pub publishers: Vec<Arc<dyn Publisher>>,
    /// The metrics collectors of the served channels that report figures (the same client
    /// objects as in `publishers`), in the same order.
    pub collectors: Vec<Arc<dyn Collector>>,
    /// The enabled channels that cannot be served now.
    pub unavailable: Vec<Unavailable>,
    /// The token manager the Zalo client uses, when Zalo is served.
    pub zalo_auth: Option<Arc<ZaloAuth>>,
}

/// Builds the clients of `config`'s enabled channels, with `secrets` (the environment for `loa
/// run`). Call it once per process: each call makes new clients and a new token manager.
pub fn build(config: &Config, clock: &Clock, secrets: &Secrets) -> Channels {
    let mut channels = Channels::default();
    for spec in config.enabled_channels().into_iter().filter_map(spec) {
        match spec.build(config, clock, secrets) {
            Ok(built) => {
                channels.publishers.push(built.publisher);
                channels.collectors.extend(built.collector);
                if built.zalo_auth.is_some() {
                    channels.zalo_auth = built.zalo_auth;
                }
            }
            Err(unavailable) => channels.unavailable.push(unavailable),
        }
    }
    channels
}
