//! loa — publish a commune's news to its Zalo Official Account and Facebook Page from a folder of
//! Markdown files.
//!
//! See `ARCHITECTURE.md` for the map of this crate and the invariants it keeps.

pub mod alerts;
pub mod app;
pub mod channel;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod diagnostic;
pub mod engine;
pub mod facebook;
pub mod i18n;
pub mod media;
pub mod metrics;
pub mod paths;
pub mod platform;
pub mod post;
pub mod publisher;
pub mod redact;
pub mod render;
pub mod report;
pub mod sandbox;
pub mod service;
pub mod status;
pub mod store;
pub mod text;
pub mod token_store;
pub mod turn;
pub mod web;
pub mod zalo;
