//! Secrets (passwords, tokens) that may come from the command line, the
//! environment or a file, and never appear in any output.
//!
//! A secret option's value is read as:
//! - `env:NAME`: the value of environment variable NAME;
//! - `file:PATH`: the first line of the file PATH (the usual way to keep a
//!   password out of `ps` and out of command definitions);
//! - `literal:TEXT`: TEXT as it stands (for a password that starts with `env:`);
//! - anything else: the text itself.
//!
//! Every secret read is registered, and the output layer replaces any
//! occurrence of it by `********`, whatever path the text took to the output.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

/// What a secret is shown as, wherever it would appear.
pub const MASK: &str = "********";

/// The most a `file:` secret's first line may hold.
const FILE_LIMIT: usize = 64 * 1024;

static REGISTERED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `value` so that [`redact`] hides it from every output, in the
/// forms we may send it in as well: as is and base64-encoded (AUTH LOGIN).
/// A protocol that sends it in another encoding registers that form too.
pub fn register(value: &str) {
    if value.chars().count() < MIN_MASKED {
        return;
    }
    register_form(value);
    register_form(&base64(value.as_bytes()));
}

/// Secrets shorter than this are not masked: `OK` or `2` cannot be told
/// apart from the plugin's own words and numbers, and masking them would
/// break the state word and the perfdata. (The parts a longer secret is
/// sent in are masked whatever their length.)
pub const MIN_MASKED: usize = 4;

/// Remembers one encoded form of a secret (an AUTH PLAIN payload, an IMAP
/// quoted string, a line of a secret that holds line breaks) as it goes on
/// the wire, so an echo of it is masked too, however short a part it is.
pub fn register_form(value: &str) {
    if value.is_empty() {
        return;
    }
    let mut list = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
        // Longest first, so a secret that contains another is masked whole.
        list.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// Standard base64 with padding (RFC 4648), what SASL mechanisms send.
pub fn base64(bytes: &[u8]) -> String {
    base64_with(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        true,
    )
}

/// Base64 in `alphabet`, `=`-padded when `pad` (IMAP's modified UTF-7 uses
/// `,` for `/` and no padding).
pub fn base64_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Replaces every registered secret in `text` by a mask.
pub fn redact(text: &str) -> String {
    let list = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in list.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// A secret value. Its `Debug` and `Display` print a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for sending to a peer.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Wraps a value already in hand (and registers it).
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Why a secret could not be read. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// `env:NAME` names a variable that is not set (or not UTF-8).
    MissingEnv(String),
    /// `file:PATH` could not be read.
    File { path: String, reason: String },
    /// The source gave an empty value.
    Empty,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::MissingEnv(name) => {
                write!(f, "environment variable {name} is not set")
            }
            SecretError::File { path, reason } => {
                write!(f, "cannot read secret file {path}: {reason}")
            }
            SecretError::Empty => f.write_str("the secret is empty"),
        }
    }
}

impl std::error::Error for SecretError {}

impl FromStr for Secret {
    type Err = SecretError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let value = if let Some(name) = spec.strip_prefix("env:") {
            std::env::var(name).map_err(|_| SecretError::MissingEnv(name.to_string()))?
        } else if let Some(path) = spec.strip_prefix("file:") {
            crate::userfile::read_first_line(std::path::Path::new(path), FILE_LIMIT).map_err(
                |e| SecretError::File {
                    path: path.to_string(),
                    reason: e.to_string(),
                },
            )?
        } else if let Some(text) = spec.strip_prefix("literal:") {
            text.to_string()
        } else {
            // The literal form was typed on a command line: hide it too.
            spec.to_string()
        };
        if value.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Secret::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn secrets_too_short_to_tell_from_words_are_not_masked() {
        register("OK");
        register("sh0rt-but-long-enough");
        assert_eq!(
            redact("HTTP OK: sh0rt-but-long-enough"),
            format!("HTTP OK: {MASK}")
        );
    }

    #[test]
    fn literal_and_prefixes() {
        let s: Secret = "hunter2-literal".parse().unwrap();
        assert_eq!(s.expose(), "hunter2-literal");
        let s: Secret = "literal:env:odd".parse().unwrap();
        assert_eq!(s.expose(), "env:odd");
    }

    #[test]
    fn from_environment() {
        std::env::set_var("RSPLUGINS_TEST_SECRET_ENV", "from-env-pw");
        let s: Secret = "env:RSPLUGINS_TEST_SECRET_ENV".parse().unwrap();
        assert_eq!(s.expose(), "from-env-pw");
        assert_eq!(
            "env:RSPLUGINS_TEST_NOT_SET".parse::<Secret>(),
            Err(SecretError::MissingEnv("RSPLUGINS_TEST_NOT_SET".into()))
        );
    }

    #[test]
    fn from_file_first_line() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "file-pw-123\nignored").unwrap();
        let spec = format!("file:{}", file.path().display());
        let s: Secret = spec.parse().unwrap();
        assert_eq!(s.expose(), "file-pw-123");
        let err = "file:/nonexistent/rsplugins".parse::<Secret>().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/rsplugins"));
    }

    #[test]
    fn never_printed() {
        let s: Secret = "sw0rdfish-never".parse().unwrap();
        assert_eq!(format!("{s} {s:?}"), "******** ********");
        assert_eq!(
            redact("login failed for pass sw0rdfish-never!"),
            "login failed for pass ********!"
        );
    }

    #[test]
    fn encoded_forms_are_masked() {
        assert_eq!(base64(b"\0monitor\0Secr3tPW"), "AG1vbml0b3IAU2VjcjN0UFc=");
        assert_eq!(base64(b"ab"), "YWI=");
        let _s: Secret = "B64-only-pw".parse().unwrap();
        let echoed = format!("334 {}", base64(b"B64-only-pw"));
        assert_eq!(redact(&echoed), "334 ********");
        register_form("\"quoted\\form\"");
        assert_eq!(redact("a \"quoted\\form\" b"), "a ******** b");
    }

    #[test]
    fn a_file_secret_is_read_bounded() {
        let err = "file:/dev/zero".parse::<Secret>().unwrap_err();
        assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
    }

    #[test]
    fn empty_is_rejected() {
        assert_eq!("".parse::<Secret>(), Err(SecretError::Empty));
        assert_eq!("literal:".parse::<Secret>(), Err(SecretError::Empty));
    }
}
