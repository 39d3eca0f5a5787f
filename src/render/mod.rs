//! Rendering a validated post for each platform, as pure functions of the post and the config.
//!
//! `loa preview` and the channels use the same functions, so what the officer previews is what
//! is sent.

pub mod facebook;
pub mod request;
pub mod zalo;

/// Parsing Markdown is part of reading a post ([`crate::post::markdown`]); this path stays for
/// callers that render a bare body.
pub use crate::post::markdown;
