//! The platform edge: everything the Facebook and Zalo modules (and their auth flows) need to
//! talk to a platform, written once. Each platform module keeps only what is its own: the
//! requests it builds and the table that sorts its errors into outcomes.
//!
//! - [`http`]: the HTTP client (rustls, bounded waits, loopback fakes reached without a proxy);
//! - [`gate`]: a channel's pause, closed while a platform wants no calls;
//! - [`transport`]: sending a request and reading the answer, and the words for a call that got
//!   no answer, in both languages;
//! - [`json`]: reading fields that platforms send as a number one day and a string the next;
//! - [`redact`]: the one place that takes secrets out of text that may be stored or shown.

pub mod gate;
pub mod http;
pub mod json;
pub mod redact;
pub mod transport;
