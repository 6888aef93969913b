//! The send/expect options of C's check_tcp family (check_tcp, check_pop,
//! check_imap, check_ftp): kept by every plugin that replaces one of them so
//! existing command definitions keep working.

use clap::{ArgAction, Args};

use crate::state::State;

/// `-e -A -s -q -E -r -M -j -m -d`. A plugin sets its protocol's default
/// expect string with `#[command(mut_arg("expect", |a| a.default_value("+OK")))]`.
#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    /// String to expect in the server's response (repeatable; any matches unless -A)
    #[arg(short = 'e', long = "expect", value_name = "STRING", action = ArgAction::Append, allow_hyphen_values = true)]
    pub expect: Vec<String>,

    /// All expect strings must occur in the response
    #[arg(short = 'A', long = "all")]
    pub all: bool,

    /// String to send to the server
    #[arg(
        short = 's',
        long = "send",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub send: Option<String>,

    /// String to send to close the connection cleanly (CRLF is added unless -E)
    #[arg(
        short = 'q',
        long = "quit",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub quit: Option<String>,

    /// Interpret \n, \r, \t and \\ in the send and quit strings
    #[arg(short = 'E', long = "escape")]
    pub escape: bool,

    /// State when the connection is refused
    #[arg(
        short = 'r',
        long = "refuse",
        value_name = "ok|warn|crit",
        default_value = "critical"
    )]
    pub refuse: State,

    /// State when the expected string is not received
    #[arg(
        short = 'M',
        long = "mismatch",
        value_name = "ok|warn|crit",
        default_value = "warning"
    )]
    pub mismatch: State,

    /// Do not show the server's response in the output
    #[arg(short = 'j', long = "jail")]
    pub jail: bool,

    /// Stop reading (and matching) after this many bytes
    #[arg(short = 'm', long = "maxbytes", value_name = "INTEGER")]
    pub maxbytes: Option<usize>,

    /// Seconds to wait between sending the string and reading the response
    #[arg(short = 'd', long = "delay", value_name = "SECONDS", value_parser = parse_delay)]
    pub delay: Option<f64>,
}

impl ProbeArgs {
    /// The `-s` string as check_tcp sends it: escapes resolved with `-E`, nothing added.
    pub fn send_raw(&self) -> Option<String> {
        self.send.as_deref().map(|s| self.escaped(s))
    }

    /// The `-s` string as a protocol command line: a CRLF added unless it
    /// already ends a line (a line protocol only answers a whole line).
    pub fn send_line(&self) -> Option<String> {
        self.send_raw().map(|mut s| {
            if !s.ends_with('\n') {
                s.push_str("\r\n");
            }
            s
        })
    }

    /// The `-q` string as C sends it: CRLF added unless `-E`.
    pub fn quit_text(&self) -> Option<String> {
        self.quit.as_deref().map(|q| {
            if self.escape {
                unescape(q)
            } else {
                format!("{q}\r\n")
            }
        })
    }

    fn escaped(&self, text: &str) -> String {
        if self.escape {
            unescape(text)
        } else {
            text.to_string()
        }
    }

    /// Whether `received` (its first `-m` bytes) holds the `-e` strings:
    /// any of them, or all with `-A`. True when nothing is expected.
    pub fn expectation_met(&self, received: &[u8]) -> bool {
        let cut = self
            .maxbytes
            .map_or(received.len(), |m| m.min(received.len()));
        let text = String::from_utf8_lossy(&received[..cut]);
        if self.expect.is_empty() {
            true
        } else if self.all {
            self.expect.iter().all(|e| text.contains(e.as_str()))
        } else {
            self.expect.iter().any(|e| text.contains(e.as_str()))
        }
    }

    /// `'a'` or `'a', 'b'`, for messages about the expect strings.
    pub fn expect_list(&self) -> String {
        self.expect
            .iter()
            .map(|e| format!("'{e}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Why the expect strings did not match.
    pub fn mismatch_text(&self) -> String {
        let list = self.expect_list();
        if self.expect.len() == 1 {
            format!("unexpected response: {list} not found")
        } else if self.all {
            format!("unexpected response: not all of {list} found")
        } else {
            format!("unexpected response: none of {list} found")
        }
    }
}

/// Replaces `\n`, `\r`, `\t` and `\\` (C's `-E`); other backslashes stay.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `-d SECONDS`: 0 to 86400 seconds.
pub fn parse_delay(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!("'{text}' is not a number of seconds (0 to 86400)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    #[command(mut_arg("expect", |a| a.default_value("+OK")))]
    struct Demo {
        #[command(flatten)]
        probe: ProbeArgs,
    }

    fn probe(args: &[&str]) -> ProbeArgs {
        let mut argv = vec!["demo"];
        argv.extend_from_slice(args);
        Demo::try_parse_from(argv).unwrap().probe
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("QUIT\\r\\n"), "QUIT\r\n");
        assert_eq!(unescape("a\\tb\\\\c\\x"), "a\tb\\c\\x");
        assert_eq!(unescape("end\\"), "end\\");
    }

    #[test]
    fn a_plugin_sets_its_default_expect_string() {
        assert_eq!(probe(&[]).expect, vec!["+OK"]);
        assert_eq!(
            probe(&["-e", "ready", "-e", "x"]).expect,
            vec!["ready", "x"]
        );
    }

    #[test]
    fn send_and_quit_texts() {
        let p = probe(&["-s", "NOOP", "-q", "QUIT"]);
        assert_eq!(p.send_raw().as_deref(), Some("NOOP"));
        assert_eq!(p.send_line().as_deref(), Some("NOOP\r\n"));
        assert_eq!(p.quit_text().as_deref(), Some("QUIT\r\n"));
        let p = probe(&["-E", "-s", "HELO x\\r\\n", "-q", "QUIT\\n"]);
        assert_eq!(p.send_line().as_deref(), Some("HELO x\r\n"));
        assert_eq!(p.quit_text().as_deref(), Some("QUIT\n"));
    }

    #[test]
    fn expectations() {
        let p = probe(&["-e", "220", "-e", "ESMTP"]);
        assert!(p.expectation_met(b"220 mail"));
        assert!(!p.expectation_met(b"554 no"));
        let p = probe(&["-e", "220", "-e", "ESMTP", "-A"]);
        assert!(!p.expectation_met(b"220 mail"));
        assert!(p.expectation_met(b"220 mail ESMTP"));
        let p = probe(&["-e", "ESMTP", "-m", "5"]);
        assert!(!p.expectation_met(b"220 mail ESMTP"));
        assert_eq!(p.expect_list(), "'ESMTP'");
        assert_eq!(p.mismatch_text(), "unexpected response: 'ESMTP' not found");
        let p = probe(&["-e", "a", "-e", "b", "-A"]);
        assert_eq!(
            p.mismatch_text(),
            "unexpected response: not all of 'a', 'b' found"
        );
    }

    #[test]
    fn states_and_delay() {
        let p = probe(&["-r", "ok", "-M", "crit", "-d", "0.5"]);
        assert_eq!(
            (p.refuse, p.mismatch, p.delay),
            (State::Ok, State::Critical, Some(0.5))
        );
        assert!(Demo::try_parse_from(["demo", "-d", "-1"]).is_err());
        assert!(Demo::try_parse_from(["demo", "-r", "maybe"]).is_err());
    }
}
