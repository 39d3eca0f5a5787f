//! `loa report`: the engagement summary. [`model`] computes it from the store; each format lays
//! the same model out.

pub mod model;

pub use model::Report;
