//! The simulated Zalo OA API (being written).

use std::sync::Arc;

use super::Sandbox;

/// The simulated OA.
#[derive(Debug, Default)]
pub struct Oa;

/// The Zalo routes.
pub fn routes(_sandbox: Arc<Sandbox>) -> axum::Router {
    axum::Router::new()
}
