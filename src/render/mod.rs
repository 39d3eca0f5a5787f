//! Rendering a validated post for each platform, as pure functions of the post and the config.
//!
//! `loa preview` and the channels use the same functions, so what the officer previews is what
//! is sent.

pub mod facebook;
pub mod markdown;
pub mod request;
pub mod zalo;
