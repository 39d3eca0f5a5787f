//! Text helpers shared by posts, config and renderers: Unicode normalization, character
//! counting, word-boundary truncation and byte-offset → line/column mapping.
//!
//! Vietnamese is often typed in decomposed form (NFD: a base letter plus combining marks), which
//! looks identical but is longer and compares unequal. Everything loa reads is normalized to NFC
//! first, and every length is counted in characters (Unicode scalar values), never bytes.

use unicode_normalization::UnicodeNormalization;

/// Returns `s` in Unicode Normalization Form C.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// The length of `s` in characters (Unicode scalar values), the unit the platforms count in.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `s` to at most `max` characters at a word boundary and appends `…` when anything was cut.
///
/// The result is at most `max + 1` characters. A single word longer than `max` is cut mid-word,
/// because returning nothing would be worse than a clipped word.
pub fn truncate_at_word(s: &str, max: usize) -> String {
    let s = s.trim();
    if char_len(s) <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    // If the next character is not a space, we are inside a word: back up to the last space.
    let next_is_space = s.chars().nth(max).is_some_and(char::is_whitespace);
    let kept = if next_is_space {
        cut.as_str()
    } else {
        match cut.rfind(char::is_whitespace) {
            Some(i) if i > 0 => &cut[..i],
            _ => cut.as_str(),
        }
    };
    let kept = kept.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{kept}…")
}

/// Maps byte offsets in a text to 1-based line and column numbers (columns count characters).
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the line starts of `text`.
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    /// The 1-based (line, column) of byte `offset`; offsets past the end map to the last position.
    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        // A column in the middle of a multi-byte character counts that character.
        let col = self.text[start..]
            .char_indices()
            .take_while(|(i, _)| start + i < offset)
            .count();
        (line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_composes_vietnamese() {
        let nfd = "Vie\u{302}\u{323}t Nam";
        assert_eq!(nfc(nfd), "Việt Nam");
        assert_eq!(char_len(&nfc(nfd)), 8);
        assert!(char_len(nfd) > 8);
    }

    #[test]
    fn truncates_at_word_boundary() {
        assert_eq!(truncate_at_word("một hai ba", 20), "một hai ba");
        assert_eq!(truncate_at_word("một hai ba bốn", 9), "một hai…");
        assert_eq!(truncate_at_word("một hai ba bốn", 7), "một hai…");
        assert_eq!(truncate_at_word("abcdefghij", 4), "abcd…");
    }

    #[test]
    fn locates_lines_and_char_columns() {
        let idx = LineIndex::new("ab\nđây là\nx");
        assert_eq!(idx.locate(0), (1, 1));
        assert_eq!(idx.locate(3), (2, 1));
        // "đây " is 4 characters but 7 bytes.
        assert_eq!(idx.locate(3 + "đây ".len()), (2, 5));
        assert_eq!(idx.locate(100), (3, 2));
    }
}
