//! Reading a file the user names (`--extra-opts=@FILE`, `file:` secrets):
//! bounded, so `/dev/zero` or a runaway log cannot fill memory. (A file that
//! blocks, a FIFO or a hung mount, is ended by the runner's time-out, which
//! is armed before any file is opened; a program started by
//! [`crate::lean_main`] gets its supervisor thread first, see
//! [`crate::runner::supervise`].)

use std::io::Read;
use std::path::Path;

/// Why a user-named file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// open or read failed.
    Io(String),
    /// The file holds more than the limit.
    TooLarge(usize),
    /// The file is not UTF-8 text.
    NotText,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Io(reason) => f.write_str(reason),
            FileError::TooLarge(limit) => write!(f, "larger than {} KiB", limit / 1024),
            FileError::NotText => f.write_str("not UTF-8 text"),
        }
    }
}

impl std::error::Error for FileError {}

/// The text of `path`, refusing more than `limit` bytes.
pub fn read_text(path: &Path, limit: usize) -> Result<String, FileError> {
    crate::runner::supervise();
    let file = std::fs::File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::Io(e.to_string()))?;
    if bytes.len() > limit {
        return Err(FileError::TooLarge(limit));
    }
    String::from_utf8(bytes).map_err(|_| FileError::NotText)
}

/// The first line of `path` (without its line end), reading at most `limit`
/// bytes to find it.
pub fn read_first_line(path: &Path, limit: usize) -> Result<String, FileError> {
    crate::runner::supervise();
    let file = std::fs::File::open(path).map_err(|e| FileError::Io(e.to_string()))?;
    let mut bytes = Vec::new();
    let mut reader = file.take(limit as u64 + 1);
    let mut chunk = [0u8; 4096];
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| FileError::Io(e.to_string()))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            bytes.truncate(end);
            break;
        }
        if bytes.len() > limit {
            return Err(FileError::TooLarge(limit));
        }
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| FileError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn bounded_reads() {
        let zero = Path::new("/dev/zero");
        assert_eq!(read_text(zero, 4096), Err(FileError::TooLarge(4096)));
        assert_eq!(read_first_line(zero, 4096), Err(FileError::TooLarge(4096)));
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "first\r\nsecond\n").unwrap();
        assert_eq!(read_first_line(file.path(), 4096).unwrap(), "first");
        assert_eq!(read_text(file.path(), 4096).unwrap(), "first\r\nsecond\n");
        assert_eq!(read_text(file.path(), 5), Err(FileError::TooLarge(5)));
        assert!(matches!(
            read_text(Path::new("/nonexistent/x"), 10),
            Err(FileError::Io(_))
        ));
    }
}
