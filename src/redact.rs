//! The old home of the redactor and the JSON readers, kept so that code written against these
//! paths still builds. Both now live at the platform edge: [`crate::platform::redact`] and
//! [`crate::platform::json`].

pub use crate::platform::json::{integer, text_field};
pub use crate::platform::redact::redact;
