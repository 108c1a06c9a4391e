//! Source positions: byte spans for editing, line and column for people.

use std::fmt;

/// A byte range in the source plus the line and column where it starts.
///
/// Byte offsets let a later stage rewrite exactly this text; line and column
/// (both 1-based, column counted in characters) go into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn location(&self) -> Location {
        Location {
            line: self.line,
            col: self.col,
        }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        let (first, _) = if self.start <= other.start {
            (self, other)
        } else {
            (other, self)
        };
        Span {
            start: first.start,
            end: self.end.max(other.end),
            line: first.line,
            col: first.col,
        }
    }
}

/// A line and column, both 1-based. Displays as `line:col`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Location {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Maps byte offsets to lines and columns.
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<u32>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex { text, line_starts }
    }

    /// The location of a byte offset (clamped to the text).
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Location {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        let loc = self.location(start);
        Span {
            start: start as u32,
            end: end as u32,
            line: loc.line,
            col: loc.col,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_columns_in_characters() {
        let idx = LineIndex::new("a: 1\nbé: x\n");
        assert_eq!(idx.location(0), Location { line: 1, col: 1 });
        assert_eq!(idx.location(5), Location { line: 2, col: 1 });
        // "é" is two bytes; the "x" after it is the fifth character.
        assert_eq!(idx.location(10), Location { line: 2, col: 5 });
    }
}
