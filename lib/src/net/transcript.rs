//! What was said on a connection, for `-v`: every line sent (`> `) and
//! received (`< `), bounded and printable, with secrets masked as they are
//! recorded, so no later layer has to remember to mask them.

use super::lines::printable;
use crate::secret;

/// How much of one line is kept.
const KEPT: usize = 300;

/// Most lines kept: a server that talks endlessly does not fill memory.
const MAX_LINES: usize = 1000;

/// The lines of a dialogue, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    lines: Vec<String>,
    dropped: usize,
}

impl Transcript {
    /// Records `text` (already masked) as one line.
    fn push(&mut self, prefix: &str, text: &str) {
        if self.lines.len() >= MAX_LINES {
            self.dropped += 1;
            return;
        }
        let text = printable(text.trim_end_matches(['\r', '\n']).as_bytes(), KEPT);
        self.lines.push(format!("{prefix}{text}"));
    }

    /// Something we sent; each line of `text` is recorded. Secrets are
    /// masked before the text is split, so one that spans a line break (an
    /// IMAP literal) is masked whole.
    pub fn sent(&mut self, text: &str) {
        let text = secret::redact(text);
        for line in text.trim_end_matches(['\r', '\n']).split('\n') {
            self.push("> ", line);
        }
    }

    /// A line the server sent.
    pub fn received(&mut self, line: &str) {
        self.push("< ", &secret::redact(line));
    }

    /// A remark of ours between the lines (`(TLS established: TLSv1.3)`).
    pub fn note(&mut self, text: &str) {
        self.push("", &secret::redact(text));
    }

    /// The recorded lines; a last line says how many were left out.
    pub fn lines(&self) -> Vec<String> {
        let mut out = self.lines.clone();
        if self.dropped > 0 {
            out.push(format!("({} more lines not shown)", self.dropped));
        }
        out
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_both_directions_printable_and_masked() {
        secret::register("transcript-secret-1");
        let mut t = Transcript::default();
        t.sent("USER monitor\r\n");
        t.sent("PASS transcript-secret-1");
        t.received("+OK\x01 fine\r");
        t.note("(TLS established)");
        assert_eq!(
            t.lines(),
            [
                "> USER monitor",
                "> PASS ********",
                "< +OK\\x01 fine",
                "(TLS established)"
            ]
        );
    }

    #[test]
    fn a_secret_across_a_line_break_is_masked_whole() {
        secret::register("two\r\nlines-secret");
        let mut t = Transcript::default();
        t.sent("a1 LOGIN u {20}\r\ntwo\r\nlines-secret\r\n");
        let all = t.lines().join("\n");
        assert!(
            !all.contains("two") && !all.contains("lines-secret"),
            "{all}"
        );
    }

    #[test]
    fn bounded() {
        let mut t = Transcript::default();
        for _ in 0..MAX_LINES + 5 {
            t.received("x");
        }
        let lines = t.lines();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(lines.last().unwrap(), "(5 more lines not shown)");
    }
}
