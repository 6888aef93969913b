//! One action of a handler: a command run with a time limit, recorded in
//! the journal before and after, or only described in a dry run.

use std::time::{Duration, Instant};

use rsplugins::exec;

use crate::journal::Journal;

/// A command given as one option value, as its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

impl std::str::FromStr for Argv {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::names::command(s).map(Argv)
    }
}

/// The time left before `deadline`, at most `cap`, at least 1 s (a step
/// always gets a chance; `-t` still ends the handler).
pub fn left(deadline: Instant, cap: Duration) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .min(cap)
        .max(Duration::from_secs(1))
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Exit 0 (or a dry run).
    Ok(String),
    /// Anything else: why, one line.
    Failed(String),
}

impl Done {
    /// Exit 0.
    pub fn ok(&self) -> bool {
        matches!(self, Done::Ok(_))
    }
}

/// Runs `argv` for `what` (`stop vsftpd`) within `limit`; in a dry run only
/// records what would run.
pub fn run(
    journal: &mut Journal,
    what: &str,
    argv: &[String],
    limit: Duration,
    dry_run: bool,
) -> Done {
    let shown = argv.join(" ");
    if dry_run {
        journal.notice(format!("would {what}: {shown}"));
        return Done::Ok(String::new());
    }
    journal.notice(format!("{what}: {shown}"));
    match exec::run(argv, &[], limit) {
        Ok(out) => {
            let line = out.summary().to_string();
            let tail = if line.is_empty() {
                String::new()
            } else {
                format!(": {line}")
            };
            if out.success() {
                journal.info(format!("{what}: {}{tail}", out.describe()));
                Done::Ok(line)
            } else {
                journal.error(format!("{what} failed: {}{tail}", out.describe()));
                Done::Failed(format!("{}{tail}", out.describe()))
            }
        }
        Err(e) => {
            journal.error(format!("{what} failed: {e}"));
            Done::Failed(e.to_string())
        }
    }
}
