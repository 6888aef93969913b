//! Bounded line dialogues: lines, numeric multi-line replies, raw chunks.
//!
//! Every read is limited in line length and total size and ends at the
//! deadline, so a peer that sends garbage, a 1 MB line or nothing at all
//! yields a clear error in time.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::deadline::Deadline;
use super::error::NetError;
use super::transcript::Transcript;

/// Read limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line accepted, without its line end.
    pub max_line: usize,
    /// Most bytes read over the whole connection.
    pub max_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Protocol lines are at most about 1000 bytes (SMTP) or a few KB (IMAP
        // capabilities); a mail-server dialogue never needs a megabyte.
        Limits {
            max_line: 16 * 1024,
            max_total: 1024 * 1024,
        }
    }
}

/// A numeric reply (SMTP, FTP, LMTP): one code, one or more lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// Each line as received (code included).
    pub lines: Vec<String>,
}

impl Reply {
    /// The first line as received, e.g. `220 mail ESMTP Postfix`.
    pub fn first_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// The texts after the codes, one per line (`250-PIPELINING` gives `PIPELINING`).
    pub fn texts(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(|l| {
                let code = self.code.to_string();
                l.strip_prefix(code.as_str())
                    .map(|rest| rest.strip_prefix(['-', ' ']).unwrap_or(rest))
                    .unwrap_or(l)
            })
            .collect()
    }

    /// Whether the code is in 200-399 (a positive completion or intermediate).
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// Makes peer text safe to print: control bytes escaped, cut at `max` characters.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count >= max {
            out.push_str("...");
            break;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A stream with a read buffer, limits, a deadline and the transcript of
/// what went both ways.
pub struct LineStream<S> {
    inner: S,
    buf: Vec<u8>,
    read_total: usize,
    limits: Limits,
    deadline: Deadline,
    transcript: Transcript,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineStream<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, limits: Limits, deadline: Deadline) -> LineStream<S> {
        LineStream {
            inner,
            buf: Vec::new(),
            read_total: 0,
            limits,
            deadline,
            transcript: Transcript::default(),
        }
    }

    /// Wraps `inner` with the default limits and a deadline `budget` from
    /// now (a scripted stream in a protocol's tests, a probe of its own).
    pub fn within(inner: S, budget: std::time::Duration) -> LineStream<S> {
        LineStream::new(inner, Limits::default(), Deadline::after(budget))
    }

    /// Wraps `inner`, continuing `transcript` (the dialogue before a TLS upgrade).
    pub fn resume(inner: S, limits: Limits, deadline: Deadline, transcript: Transcript) -> Self {
        LineStream {
            transcript,
            ..LineStream::new(inner, limits, deadline)
        }
    }

    /// The stream back with the transcript, for a TLS upgrade. Fails when
    /// the peer already sent more: bytes after a STARTTLS reply would
    /// otherwise be taken as if they came over TLS (the STARTTLS
    /// command-injection flaw).
    pub fn into_parts(self) -> Result<(S, Transcript), NetError> {
        if self.buf.is_empty() {
            Ok((self.inner, self.transcript))
        } else {
            Err(NetError::DataBeforeTls)
        }
    }

    /// What was sent and received so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Adds a remark of ours to the transcript.
    pub fn note(&mut self, text: &str) {
        self.transcript.note(text);
    }

    /// Reads more into the buffer; `Ok(false)` at end of stream.
    async fn fill(&mut self, during: &str) -> Result<bool, NetError> {
        if self.read_total >= self.limits.max_total {
            return Err(NetError::TooMuchData {
                limit: self.limits.max_total,
            });
        }
        let mut chunk = [0u8; 4096];
        let want = chunk.len().min(self.limits.max_total - self.read_total);
        let n = self
            .deadline
            .run(self.inner.read(&mut chunk[..want]))
            .await
            .ok_or_else(|| NetError::timeout(during, self.deadline.budget()))?
            .map_err(|e| NetError::io(&e).awaiting(during))?;
        self.read_total += n;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Reads one line (CRLF or LF), without its line end. `during` names what
    /// is awaited, for the time-out message ("waiting for the greeting").
    pub async fn read_line(&mut self, during: &str) -> Result<String, NetError> {
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|b| *b == b'\n') {
                let end = scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > self.limits.max_line {
                    return Err(NetError::LineTooLong {
                        limit: self.limits.max_line,
                        during: during.to_string(),
                    });
                }
                let line = String::from_utf8_lossy(&line).into_owned();
                self.transcript.received(&line);
                return Ok(line);
            }
            scanned = self.buf.len();
            if self.buf.len() > self.limits.max_line {
                return Err(NetError::LineTooLong {
                    limit: self.limits.max_line,
                    during: during.to_string(),
                });
            }
            if !self.fill(during).await? {
                return Err(NetError::Closed {
                    partial: printable(&self.buf, 200),
                    during: during.to_string(),
                });
            }
        }
    }

    /// Reads a numeric reply: `220 text`, or `250-a` ... `250 z` (and FTP's
    /// `220-` blocks whose middle lines carry no code).
    pub async fn read_reply(&mut self, during: &str) -> Result<Reply, NetError> {
        let first = self.read_line(during).await?;
        let code = reply_code(&first).ok_or_else(|| NetError::Garbage {
            what: printable(first.as_bytes(), 200),
        })?;
        let mut lines = vec![first];
        if lines[0].as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.read_line(during).await?;
                let done = line.starts_with(&end) || line == code.to_string();
                lines.push(line);
                if done {
                    break;
                }
            }
        }
        Ok(Reply { code, lines })
    }

    /// Reads whatever arrives next (at most `max` bytes); empty at end of stream.
    pub async fn read_chunk(&mut self, max: usize, during: &str) -> Result<Vec<u8>, NetError> {
        if self.buf.is_empty() && !self.fill(during).await? {
            return Ok(Vec::new());
        }
        let n = self.buf.len().min(max);
        let chunk: Vec<u8> = self.buf.drain(..n).collect();
        for line in String::from_utf8_lossy(&chunk).lines() {
            self.transcript.received(line);
        }
        Ok(chunk)
    }

    /// Writes bytes and flushes.
    pub async fn write_all(&mut self, bytes: &[u8], during: &str) -> Result<(), NetError> {
        self.transcript.sent(&String::from_utf8_lossy(bytes));
        let write = async {
            self.inner.write_all(bytes).await?;
            self.inner.flush().await
        };
        self.deadline
            .run(write)
            .await
            .ok_or_else(|| NetError::timeout(during, self.deadline.budget()))?
            .map_err(|e| NetError::io(&e).awaiting(during))
    }

    /// Writes a command followed by CRLF.
    pub async fn write_line(&mut self, line: &str, during: &str) -> Result<(), NetError> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write_all(&bytes, during).await
    }

    /// Sends `line` and reads the numeric reply to it.
    pub async fn command(&mut self, line: &str, during: &str) -> Result<Reply, NetError> {
        self.write_line(line, during).await?;
        self.read_reply(during).await
    }

    /// Closes the write side (a clean end after QUIT).
    pub async fn shutdown(&mut self) {
        let _ = self.deadline.run(self.inner.shutdown()).await;
    }
}

fn reply_code(line: &str) -> Option<u16> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    match bytes.get(3) {
        None | Some(b' ') | Some(b'-') => line[..3].parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::runtime::block_on;
    use std::time::Duration;
    use tokio_test::io::Builder;

    fn stream<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::within(s, Duration::from_secs(5))
    }

    #[test]
    fn crlf_and_bare_lf_across_chunks() {
        block_on(async {
            let mock = Builder::new()
                .read(b"first\r")
                .read(b"\nsec")
                .read(b"ond\nthird\r\n")
                .build();
            let mut s = stream(mock);
            assert_eq!(s.read_line("t").await.unwrap(), "first");
            assert_eq!(s.read_line("t").await.unwrap(), "second");
            assert_eq!(s.read_line("t").await.unwrap(), "third");
            assert_eq!(
                s.read_line("t").await.unwrap_err(),
                NetError::Closed {
                    partial: String::new(),
                    during: "t".into()
                }
            );
        })
        .unwrap();
    }

    #[test]
    fn smtp_multiline_reply() {
        block_on(async {
            let mock = Builder::new()
                .read(b"220 mail ESMTP\r\n")
                .write(b"EHLO me\r\n")
                .read(b"250-mail\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                .build();
            let mut s = stream(mock);
            let greeting = s.read_reply("greeting").await.unwrap();
            assert_eq!(greeting.code, 220);
            assert_eq!(greeting.first_line(), "220 mail ESMTP");
            let ehlo = s.command("EHLO me", "EHLO").await.unwrap();
            assert_eq!(ehlo.code, 250);
            assert_eq!(
                ehlo.texts(),
                vec!["mail", "PIPELINING", "STARTTLS", "8BITMIME"]
            );
            assert!(ehlo.is_positive());
        })
        .unwrap();
    }

    #[test]
    fn ftp_multiline_with_uncoded_middle_lines() {
        block_on(async {
            let mock = Builder::new()
                .read(b"220-Welcome\r\n  be nice\r\n220 ready\r\n")
                .build();
            let reply = stream(mock).read_reply("greeting").await.unwrap();
            assert_eq!(reply.code, 220);
            assert_eq!(reply.lines.len(), 3);
        })
        .unwrap();
    }

    #[test]
    fn garbage_is_reported_printably() {
        block_on(async {
            let mock = Builder::new().read(b"\x00\x01binary\xff\r\n").build();
            let err = stream(mock).read_reply("greeting").await.unwrap_err();
            assert_eq!(
                err.to_string(),
                "invalid response from server: \\x00\\x01binary\u{fffd}"
            );
            let mock = Builder::new().read(b"2200 nope\r\n").build();
            assert!(matches!(
                stream(mock).read_reply("g").await,
                Err(NetError::Garbage { .. })
            ));
        })
        .unwrap();
    }

    #[test]
    fn long_lines_and_total_size_are_bounded() {
        block_on(async {
            let mock = std::io::Cursor::new(vec![b'a'; 40 * 1024]);
            let limits = Limits {
                max_line: 1024,
                max_total: 1 << 20,
            };
            let mut s = LineStream::new(mock, limits, Deadline::after(Duration::from_secs(5)));
            assert_eq!(
                s.read_line("t").await.unwrap_err(),
                NetError::LineTooLong {
                    limit: 1024,
                    during: "t".into()
                }
            );

            let script = std::io::Cursor::new(b"250-x\r\n".repeat(40));
            let limits = Limits {
                max_line: 1024,
                max_total: 100,
            };
            let mut s = LineStream::new(script, limits, Deadline::after(Duration::from_secs(5)));
            assert_eq!(
                s.read_reply("t").await.unwrap_err(),
                NetError::TooMuchData { limit: 100 }
            );
        })
        .unwrap();
    }

    #[test]
    fn close_mid_reply_keeps_the_partial_text() {
        block_on(async {
            let mock = Builder::new().read(b"250-a\r\n250-b").build();
            let err = stream(mock).read_reply("EHLO").await.unwrap_err();
            assert_eq!(
                err,
                NetError::Closed {
                    partial: "250-b".into(),
                    during: "EHLO".into()
                }
            );
        })
        .unwrap();
    }

    #[test]
    fn silence_times_out_with_what_was_awaited() {
        block_on(async {
            // The other end stays open and says nothing.
            let (_peer, mock) = tokio::io::duplex(64);
            let mut s = LineStream::new(
                mock,
                Limits::default(),
                Deadline::after(Duration::from_millis(100)),
            );
            let err = s.read_line("waiting for the greeting").await.unwrap_err();
            assert_eq!(
                err.to_string(),
                "timed out after 0.1 seconds waiting for the greeting"
            );
        })
        .unwrap();
    }

    #[test]
    fn data_after_starttls_reply_is_refused() {
        block_on(async {
            let mock = std::io::Cursor::new(b"220 go ahead\r\ninjected\r\n".to_vec());
            let mut s = stream(mock);
            s.read_reply("STARTTLS").await.unwrap();
            assert_eq!(
                s.into_parts().map(|_| ()).err(),
                Some(NetError::DataBeforeTls)
            );
            let mock = Builder::new().read(b"220 go ahead\r\n").build();
            let mut s = stream(mock);
            s.read_reply("STARTTLS").await.unwrap();
            assert!(s.into_parts().is_ok());
        })
        .unwrap();
    }

    #[test]
    fn printable_cuts_and_escapes() {
        assert_eq!(printable(b"ab\r\ncd", 100), "ab\\r\\ncd");
        assert_eq!(printable(b"abcdef", 3), "abc...");
    }
}
