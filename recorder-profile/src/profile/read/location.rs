//! Where in a file something is: line and column, 1-based, as editors and
//! compilers show them.

use std::fmt;

/// A position in a text file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub const START: Location = Location { line: 1, column: 1 };

    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// The first place where `token` stands on its own (not inside a longer
    /// word), e.g. a syscall name in JSON or YAML.
    pub fn of_token(text: &str, token: &str) -> Option<Location> {
        if token.is_empty() {
            return None;
        }
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut from = 0;
        while let Some(found) = text[from..].find(token) {
            let start = from + found;
            let end = start + token.len();
            let before_ok = text[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !is_word(c));
            let after_ok = text[end..].chars().next().is_none_or(|c| !is_word(c));
            if before_ok && after_ok {
                return Some(Location::of_offset(text, start));
            }
            from = end;
        }
        None
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Removes the " at line N column M" that serde_json and serde_yaml append,
/// since the location is shown in front instead.
pub fn strip_location_suffix(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_to_lines_and_columns() {
        let text = "ab\ncd\n";
        assert_eq!(Location::of_offset(text, 0), Location::START);
        assert_eq!(
            Location::of_offset(text, 4),
            Location { line: 2, column: 2 }
        );
    }

    #[test]
    fn tokens_are_whole_words() {
        let text = "names: [\"openat2\", \"openat\"]";
        assert_eq!(
            Location::of_token(text, "openat"),
            Some(Location {
                line: 1,
                column: 21
            })
        );
        assert_eq!(Location::of_token(text, "open"), None);
    }

    #[test]
    fn serde_suffix_is_stripped() {
        assert_eq!(
            strip_location_suffix("expected value at line 1 column 2"),
            "expected value"
        );
        assert_eq!(strip_location_suffix("no location"), "no location");
    }
}
