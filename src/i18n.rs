//! The language of what the officer reads: Vietnamese (`vi`) or English (`en`).
//!
//! loa is a command-line program that speaks one language per run, chosen by `language` in the
//! config, so the choice is process-wide: set once at start-up, read wherever a message is built.
//! Messages are written in both languages side by side at the place they are made, so neither
//! translation can drift from the other.

use std::sync::atomic::{AtomicU8, Ordering};

/// A language loa can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Tiếng Việt.
    Vi,
    /// English; the default until a config says otherwise, and the language of the tests.
    #[default]
    En,
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Sets the language for the rest of the process.
pub fn set_language(language: Language) {
    CURRENT.store(
        match language {
            Language::En => 0,
            Language::Vi => 1,
        },
        Ordering::Relaxed,
    );
}

/// The language in force.
pub fn language() -> Language {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Language::Vi,
        _ => Language::En,
    }
}

/// Picks the English or the Vietnamese text, whichever the process speaks.
pub fn tr<T>(en: T, vi: T) -> T {
    match language() {
        Language::En => en,
        Language::Vi => vi,
    }
}
