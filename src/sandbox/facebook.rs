//! The simulated Facebook Graph API (being written).

use std::sync::Arc;

use super::Sandbox;

/// The simulated Page.
#[derive(Debug, Default)]
pub struct Page {}

impl Page {
    /// An empty one.
    pub fn new() -> Page {
        Page::default()
    }
}

/// The Graph API routes.
pub fn routes(_sandbox: Arc<Sandbox>) -> axum::Router {
    axum::Router::new()
}
