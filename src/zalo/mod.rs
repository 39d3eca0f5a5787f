//! The Zalo Official Account channel: OAuth v4 tokens, articles (create → verify), broadcast,
//! update, remove, stats. Everything here follows `shared/api/zalo-oa.md`.

pub mod client;
pub mod collect;
pub mod errors;
pub mod oauth;
pub mod preview;
pub mod spec;
