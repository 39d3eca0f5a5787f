//! The simulated Zalo OA API (being written).

use std::sync::Arc;

use super::Sandbox;

/// The simulated OA.
#[derive(Debug, Default)]
pub struct Oa {}

impl Oa {
    /// An empty one.
    pub fn new() -> Oa {
        Oa::default()
    }
}

/// The Zalo routes.
pub fn routes(_sandbox: Arc<Sandbox>) -> axum::Router {
    axum::Router::new()
}
