//! Running other programs from handlers and the watchdog: always an argv
//! array (no shell ever sees a word), stdin from /dev/null, a deadline after
//! which the program's whole process group is killed, and its output kept up
//! to a bound.
//!
//! Output goes to an anonymous memory file rather than a pipe: a daemon that
//! a start command leaves running inherits it and can never block us (or
//! the engine above us) waiting for the pipe to close.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// At most this much of a program's output is kept.
pub const OUTPUT_LIMIT: u64 = 64 * 1024;

/// How often a running program is looked at.
const POLL: Duration = Duration::from_millis(20);

/// Why a program could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// The argv is empty.
    Empty,
    /// The program could not be started (not found, not executable).
    Spawn {
        /// The program.
        program: String,
        /// The system's reason.
        reason: String,
    },
    /// No memory file for the output.
    Output(String),
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Empty => f.write_str("an empty command"),
            ExecError::Spawn { program, reason } => write!(f, "cannot run {program}: {reason}"),
            ExecError::Output(reason) => write!(f, "cannot capture output: {reason}"),
        }
    }
}

impl std::error::Error for ExecError {}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Its exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// It ran past the deadline and was killed.
    pub timed_out: bool,
    /// Standard output and error, interleaved, at most [`OUTPUT_LIMIT`] bytes.
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Outcome {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// "exit 0", "exit 2", "killed by signal 9", "timed out after 5 s".
    pub fn describe(&self) -> String {
        if self.timed_out {
            format!("timed out after {:.1} s", self.elapsed.as_secs_f64())
        } else if let Some(code) = self.code {
            format!("exit {code}")
        } else {
            format!("killed by signal {}", self.signal.unwrap_or(0))
        }
    }

    /// The first line of a plugin's output without its performance data.
    pub fn summary(&self) -> &str {
        self.first_line().split('|').next().unwrap_or("").trim_end()
    }

    /// The first non-empty line of the output (what a plugin says first).
    pub fn first_line(&self) -> &str {
        self.output
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

/// Words of a command given as one option value (`--start '/usr/sbin/vsftpd
/// /etc/vsftpd.conf'`): split as a POSIX shell splits words (quotes and
/// backslashes), but nothing is expanded or interpreted. `None` for an
/// unterminated quote.
pub fn words(text: &str) -> Option<Vec<String>> {
    shlex::split(text)
}

/// Runs `argv` with `env` added, until it ends or `limit` passes (then its
/// process group is killed with SIGKILL).
pub fn run(
    argv: &[String],
    env: &[(String, String)],
    limit: Duration,
) -> Result<Outcome, ExecError> {
    run_with_input(argv, env, &[], limit)
}

/// [`run`] with `input` on standard input (a mail for sendmail).
pub fn run_with_input(
    argv: &[String],
    env: &[(String, String)],
    input: &[u8],
    limit: Duration,
) -> Result<Outcome, ExecError> {
    let (program, args) = argv.split_first().ok_or(ExecError::Empty)?;
    let stdin = if input.is_empty() {
        Stdio::null()
    } else {
        // A memory file too: a pipe would need a writer thread.
        let mut file = memory_file()?;
        file.write_all(input)
            .and_then(|_| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| ExecError::Output(e.to_string()))?;
        Stdio::from(file)
    };
    let output = memory_file()?;
    let stdout = output
        .try_clone()
        .map_err(|e| ExecError::Output(e.to_string()))?;
    let stderr = output
        .try_clone()
        .map_err(|e| ExecError::Output(e.to_string()))?;
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        // Its own group: a deadline kills everything it started and has not detached.
        .process_group(0)
        .spawn()
        .map_err(|e| ExecError::Spawn {
            program: program.clone(),
            reason: e.to_string(),
        })?;
    let pgid = Pid::from_raw(child.id() as i32);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if start.elapsed() >= limit {
            timed_out = true;
            let _ = killpg(pgid, Signal::SIGKILL);
            break child.wait().ok();
        }
        std::thread::sleep(POLL);
    };
    let elapsed = start.elapsed();
    Ok(Outcome {
        code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        signal: status.and_then(|s| s.signal()),
        timed_out,
        output: read_back(output),
        elapsed,
    })
}

/// An anonymous file in memory (memfd), closed on exec except where given
/// as a child's stdout/stderr.
fn memory_file() -> Result<File, ExecError> {
    // SAFETY: the name is a valid C string; the returned fd is owned by the File.
    let fd = unsafe { libc::memfd_create(c"rsplugins-exec".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(ExecError::Output(
            std::io::Error::last_os_error().to_string(),
        ));
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn read_back(mut file: File) -> String {
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(0)).is_ok() {
        let _ = Read::by_ref(&mut file)
            .take(OUTPUT_LIMIT)
            .read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn output_and_exit_code_are_kept() {
        let out = run(
            &argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
            &[],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert!(!out.success());
        assert_eq!(out.output, "out\nerr\n");
        assert_eq!(out.first_line(), "out");
        assert_eq!(out.summary(), "out");
        assert_eq!(out.describe(), "exit 3");
    }

    #[test]
    fn input_reaches_standard_input() {
        let out = run_with_input(
            &argv(&["cat"]),
            &[],
            b"Subject: x\n",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.output, "Subject: x\n");
    }

    #[test]
    fn the_environment_is_added() {
        let out = run(
            &argv(&["sh", "-c", "echo $RSPLUGINS_X"]),
            &[("RSPLUGINS_X".into(), "value".into())],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.output, "value\n");
    }

    #[test]
    fn a_program_past_its_deadline_is_killed_with_its_children() {
        let start = Instant::now();
        let out = run(
            &argv(&["sh", "-c", "sleep 30 & sleep 30"]),
            &[],
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(out.timed_out);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(out.describe().starts_with("timed out after"));
    }

    #[test]
    fn a_left_running_child_does_not_hold_us() {
        // A daemon started by a start command keeps our output file open.
        let start = Instant::now();
        let out = run(
            &argv(&["sh", "-c", "setsid sleep 3 & echo started"]),
            &[],
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(out.success());
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(out.first_line(), "started");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let err = run(&argv(&["/nonexistent/prog"]), &[], Duration::from_secs(1)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot run /nonexistent/prog: "));
        assert_eq!(
            run(&[], &[], Duration::from_secs(1)).unwrap_err(),
            ExecError::Empty
        );
    }

    #[test]
    fn words_split_like_a_shell_without_expanding() {
        assert_eq!(
            words("/usr/sbin/vsftpd '/etc/my conf' \"$HOME\" a\\ b").unwrap(),
            argv(&["/usr/sbin/vsftpd", "/etc/my conf", "$HOME", "a b"])
        );
        assert_eq!(words("echo 'open"), None);
        assert_eq!(words("  ").unwrap(), Vec::<String>::new());
    }
}
