//! `loa report`: the engagement summary. [`build`] computes one [`Report`] from the store; each
//! format lays the same model out.

pub mod build;
pub mod model;

pub use build::{Options, load};
pub use model::{By, Report};
