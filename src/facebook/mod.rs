//! The Facebook Page channel: the Graph API client behind the engine's `Publisher` trait.
//! Everything here follows `shared/api/facebook-graph.md`.

pub mod auth;
pub mod client;
pub mod collect;
pub mod errors;
pub mod insights;
pub mod preview;
pub mod spec;
pub mod usage;
