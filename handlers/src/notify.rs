//! Notifications: the administrator's command (sendmail, a chat script, an
//! engine's own notification tool) with what happened, as argv (no shell).
//!
//! The message comes three ways, so any tool fits: the environment
//! (`RSPLUGINS_SERVICE`, `RSPLUGINS_ACTION`, `RSPLUGINS_RESULT`,
//! `RSPLUGINS_MESSAGE`), and standard input as a mail (`Subject:` line,
//! blank line, text), which `sendmail -t`-less `sendmail ADDRESS` reads.

use std::time::Duration;

use crate::journal::Journal;

/// How long a notification command may take.
pub const LIMIT: Duration = Duration::from_secs(10);

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice<'a> {
    /// The service.
    pub service: &'a str,
    /// What was done (`restart`, `storm guard`).
    pub action: &'a str,
    /// The outcome, one line.
    pub result: &'a str,
    /// The journal so far.
    pub details: &'a [String],
}

impl Notice<'_> {
    /// The mail text.
    pub fn mail(&self) -> String {
        format!(
            "Subject: [rsplugins] {}: {} {}\n\n{}\n\n{}\n",
            self.service,
            self.action,
            self.result,
            self.result,
            self.details.join("\n")
        )
    }
}

/// Runs `argv` with the notice; records the outcome in `journal`.
pub fn send(argv: &[String], notice: &Notice, journal: &mut Journal) -> bool {
    let env = vec![
        ("RSPLUGINS_SERVICE".to_string(), notice.service.to_string()),
        ("RSPLUGINS_ACTION".to_string(), notice.action.to_string()),
        ("RSPLUGINS_RESULT".to_string(), notice.result.to_string()),
        ("RSPLUGINS_MESSAGE".to_string(), notice.mail()),
    ];
    match rsplugins::exec::run_with_input(argv, &env, notice.mail().as_bytes(), LIMIT) {
        Ok(out) if out.success() => {
            journal.notice(format!("notified: {} ({})", argv.join(" "), out.describe()));
            true
        }
        Ok(out) => {
            journal.error(format!(
                "notification failed: {} ({}) {}",
                argv.join(" "),
                out.describe(),
                out.first_line()
            ));
            false
        }
        Err(e) => {
            journal.error(format!("notification failed: {e}"));
            false
        }
    }
}
