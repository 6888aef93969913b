//! The summary of a mail or file protocol check, composed one way in every
//! plugin: what went wrong first, then the common part (greeting, TLS,
//! certificate, time), then what was done (the `-s` answer, the login,
//! counts, a failed goodbye).

use super::failure::Failure;
use super::lines::printable;
use super::probe::ProbeArgs;
use crate::perfdata::{Perfdata, Uom};
use crate::result::CheckResult;
use crate::state::State;
use crate::thresholds::Thresholds;
use crate::timeout::TimeoutSpec;

/// How much of a server's line is shown.
const SHOWN: usize = 200;

/// Builds the result of a protocol check on top of the session's common one.
pub struct Composer<'a> {
    probe: &'a ProbeArgs,
    timeout: TimeoutSpec,
    result: CheckResult,
    state: State,
    front: Vec<String>,
    back: Vec<String>,
}

impl<'a> Composer<'a> {
    /// Starts from `base` (the session's result) with C's send/expect
    /// options and the `-t` budget.
    pub fn new(base: CheckResult, probe: &'a ProbeArgs, timeout: TimeoutSpec) -> Self {
        let state = base.state();
        Composer {
            probe,
            timeout,
            result: base,
            state,
            front: Vec::new(),
            back: Vec::new(),
        }
    }

    /// The failure that ended the dialogue early, first on the line.
    pub fn failure(&mut self, failure: Option<&Failure>) {
        if let Some(f) = failure {
            self.state = self.state.worst(f.state(&self.timeout, self.probe.refuse));
            self.front.push(f.message(self.probe.jail));
        }
    }

    /// C's `-e` strings against what the server sent.
    pub fn expectation(&mut self, received: &str) {
        if !self.probe.expect.is_empty() && !self.probe.expectation_met(received.as_bytes()) {
            self.state = self.state.worst(self.probe.mismatch);
            self.front.push(self.probe.mismatch_text());
        }
    }

    /// The line of the `-s` answer worth showing (hidden by `-j`).
    pub fn answer(&mut self, line: Option<&str>) {
        if let (Some(line), false) = (line, self.probe.jail) {
            self.back
                .push(format!("answer '{}'", printable(line.as_bytes(), SHOWN)));
        }
    }

    /// A note after the common part ("logged in as monitor").
    pub fn note(&mut self, text: impl Into<String>) {
        self.back.push(text.into());
    }

    /// A message count judged by `thresholds`, as perfdata `messages`, with
    /// `text` on the line.
    pub fn messages(&mut self, count: u64, thresholds: &Thresholds, text: String) {
        self.state = self.state.worst(thresholds.evaluate(count as f64));
        self.back.push(text);
        self.result.perf(
            Perfdata::new("messages", count as f64, Uom::None)
                .thresholds(thresholds)
                .min(0.0),
        );
    }

    /// Another perfdata point.
    pub fn perf(&mut self, point: Perfdata) {
        self.result.perf(point);
    }

    /// A failed goodbye (QUIT, LOGOUT): WARNING, or the `-t` state when silent.
    pub fn goodbye(&mut self, failure: Option<&Failure>) {
        if let Some(f) = failure {
            self.state = self.state.worst(f.closing_state(&self.timeout));
            self.back.push(f.message(self.probe.jail));
        }
    }

    /// The result: one `, `-joined line; with `-v` (and without `-j`) the
    /// dialogue's `steps` as details.
    pub fn finish(mut self, steps: &[String], verbosity: u8) -> CheckResult {
        let mut parts = self.front;
        parts.push(std::mem::take(&mut self.result.summary));
        parts.extend(self.back);
        self.result.summary = parts.join(", ");
        if verbosity > 0 && !self.probe.jail {
            self.result.details.extend(steps.iter().cloned());
        }
        self.result.set_state(self.state);
        self.result
    }
}

/// `1 message`, `5 messages`.
pub fn count_messages(n: u64) -> String {
    if n == 1 {
        "1 message".to_string()
    } else {
        format!("{n} messages")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::NetError;
    use clap::Parser;

    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        probe: ProbeArgs,
    }

    fn probe(args: &[&str]) -> ProbeArgs {
        let argv = std::iter::once("demo").chain(args.iter().copied());
        Demo::try_parse_from(argv).unwrap().probe
    }

    #[test]
    fn problems_first_then_what_was_done() {
        let p = probe(&["-e", "NOPE", "-s", "NOOP"]);
        let mut c = Composer::new(
            CheckResult::with_state(State::Ok, "+OK ready, 0.004 s"),
            &p,
            TimeoutSpec::default(),
        );
        c.expectation("+OK ready");
        c.answer(Some("+OK noop"));
        c.note("logged in as u");
        c.messages(1, &Thresholds::new(None, None), count_messages(1));
        c.goodbye(Some(&Failure::from(NetError::Closed {
            partial: String::new(),
            during: "waiting for the reply to QUIT".into(),
        })));
        let r = c.finish(&["STAT: +OK 1 9".to_string()], 1);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary,
            "unexpected response: 'NOPE' not found, +OK ready, 0.004 s, answer '+OK noop', \
             logged in as u, 1 message, connection closed by the server while waiting for \
             the reply to QUIT"
        );
        assert_eq!(r.details, ["STAT: +OK 1 9"]);
        assert_eq!(count_messages(0), "0 messages");
    }
}
