//! The record of a handler run: every decision and action goes to syslog
//! (facility daemon, tag `rsplugins`) as it happens, and into the lines the
//! handler prints under its first line (engines keep those in their logs).

use rsplugins::syslog::{Severity, Syslog};
use rsplugins::CheckResult;

/// Decisions and actions of one run.
#[derive(Debug)]
pub struct Journal {
    syslog: Syslog,
    subject: String,
    lines: Vec<String>,
}

impl Journal {
    /// A journal of `program` about `subject` (the service or unit; every
    /// syslog line starts with it so one grep finds a service's history).
    pub fn new(program: &str, subject: &str) -> Journal {
        Journal {
            syslog: Syslog::open(program),
            subject: subject.to_string(),
            lines: Vec::new(),
        }
    }

    /// Records a line at `severity`.
    pub fn record(&mut self, severity: Severity, line: impl Into<String>) {
        let line = line.into();
        self.syslog
            .send(severity, &format!("{}: {line}", self.subject));
        self.lines.push(line);
    }

    /// A decision or an action.
    pub fn notice(&mut self, line: impl Into<String>) {
        self.record(Severity::Notice, line);
    }

    /// Routine.
    pub fn info(&mut self, line: impl Into<String>) {
        self.record(Severity::Info, line);
    }

    /// A handled problem or a refusal.
    pub fn warning(&mut self, line: impl Into<String>) {
        self.record(Severity::Warning, line);
    }

    /// A failure someone must look at.
    pub fn error(&mut self, line: impl Into<String>) {
        self.record(Severity::Error, line);
    }

    /// The lines so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The result: `summary` in `state`, the journal as its details.
    pub fn finish(self, state: rsplugins::State, summary: impl Into<String>) -> CheckResult {
        let summary = summary.into();
        let severity = match state {
            rsplugins::State::Ok => Severity::Info,
            rsplugins::State::Warning | rsplugins::State::Unknown => Severity::Warning,
            rsplugins::State::Critical => Severity::Error,
        };
        self.syslog
            .send(severity, &format!("{}: {state}: {summary}", self.subject));
        let mut result = CheckResult::with_state(state, summary);
        for line in self.lines {
            result.detail(line);
        }
        if !self.syslog.connected() {
            result.detail(format!(
                "(no syslog daemon at {}: this output is the only record)",
                rsplugins::syslog::SOCKET
            ));
        }
        result
    }
}
