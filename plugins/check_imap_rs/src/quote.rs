//! IMAP strings (RFC 3501 section 4.3): user names and passwords go as
//! quoted strings, or as literals when a quoted string cannot carry them;
//! mailbox names in modified UTF-7 (section 5.1.3).

/// How a string argument is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// `"text"` with `\` and `"` escaped.
    Quoted(String),
    /// `{n}` followed by the raw bytes (for CR, LF and 8-bit text).
    Literal(Vec<u8>),
}

/// Whether a quoted string cannot carry `text` (CR, LF or non-ASCII).
pub fn needs_literal(text: &str) -> bool {
    text.bytes().any(|b| b >= 0x80 || b == b'\r' || b == b'\n')
}

/// `\` and `"` escaped, without the surrounding quotes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The form to send `text` in. NUL can travel in neither (callers refuse it).
pub fn astring(text: &str) -> Encoded {
    if needs_literal(text) {
        Encoded::Literal(text.as_bytes().to_vec())
    } else {
        Encoded::Quoted(format!("\"{}\"", escape(text)))
    }
}

/// Modified UTF-7's base64 alphabet: `,` for `/`, no padding.
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn flush(out: &mut String, pending: &mut Vec<u16>) {
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    out.push_str(&rsplugins::secret::base64_with(&bytes, BASE64, false));
    out.push('-');
    pending.clear();
}

/// A mailbox name in modified UTF-7: printable ASCII as is (`&` as `&-`),
/// anything else as base64 of UTF-16 between `&` and `-`.
pub fn mailbox_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut out, &mut pending);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_escape_backslash_and_quote() {
        assert_eq!(astring("monitor"), Encoded::Quoted("\"monitor\"".into()));
        assert_eq!(
            astring(r#"pa"ss\word"#),
            Encoded::Quoted(r#""pa\"ss\\word""#.into())
        );
        assert_eq!(
            astring("with space"),
            Encoded::Quoted("\"with space\"".into())
        );
        assert_eq!(astring(""), Encoded::Quoted("\"\"".into()));
    }

    #[test]
    fn literals_for_line_breaks_and_8bit() {
        assert_eq!(astring("pässwort"), Encoded::Literal("pässwort".into()));
        assert_eq!(astring("a\r\nb"), Encoded::Literal(b"a\r\nb".to_vec()));
        assert!(!needs_literal("plain ascii \"quoted\""));
    }

    #[test]
    fn modified_utf7_examples_from_rfc3501() {
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(
            mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(mailbox_name("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(mailbox_name("A&B"), "A&-B");
        // Outside the BMP: a surrogate pair.
        assert_eq!(mailbox_name("😀"), "&2D3eAA-");
    }
}
