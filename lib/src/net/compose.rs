//! The result of a mail or file protocol check, composed one way in every
//! plugin: each step is a part (a subcheck with its own state) and the
//! parts are folded into one line by [`CheckResult::of_parts`]: what went
//! wrong first, then the common part (greeting, TLS, certificate, time),
//! then what was done (the `-s` answer, the login, counts).

use super::dialogue::Goodbye;
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

/// Builds the result of a protocol check from its parts.
pub struct Composer<'a> {
    probe: &'a ProbeArgs,
    timeout: TimeoutSpec,
    parts: Vec<CheckResult>,
}

impl<'a> Composer<'a> {
    /// Starts from the session's `common` parts with C's send/expect
    /// options and the `-t` budget.
    pub fn new(common: Vec<CheckResult>, probe: &'a ProbeArgs, timeout: TimeoutSpec) -> Self {
        Composer {
            probe,
            timeout,
            parts: common,
        }
    }

    /// Adds a part of the plugin's own.
    pub fn part(&mut self, part: CheckResult) {
        self.parts.push(part);
    }

    /// The failure that ended the dialogue early.
    pub fn failure(&mut self, failure: Option<&Failure>) {
        if let Some(f) = failure {
            self.part(CheckResult::with_state(
                f.state(&self.timeout, self.probe.refuse),
                f.message(self.probe.jail),
            ));
        }
    }

    /// C's `-e` strings against what the server sent.
    pub fn expectation(&mut self, received: &str) {
        if !self.probe.expect.is_empty() && !self.probe.expectation_met(received.as_bytes()) {
            self.part(CheckResult::with_state(
                self.probe.mismatch,
                self.probe.mismatch_text(),
            ));
        }
    }

    /// The line of the `-s` answer worth showing (hidden by `-j`).
    pub fn answer(&mut self, line: Option<&str>) {
        if let (Some(line), false) = (line, self.probe.jail) {
            self.note(format!("answer '{}'", printable(line.as_bytes(), SHOWN)));
        }
    }

    /// A step that went well ("logged in as monitor").
    pub fn note(&mut self, text: impl Into<String>) {
        self.part(CheckResult::with_state(State::Ok, text));
    }

    /// A message count judged by `thresholds`, as perfdata `messages`, with
    /// `text` on the line.
    pub fn messages(&mut self, count: u64, thresholds: &Thresholds, text: String) {
        let mut part = CheckResult::with_state(thresholds.evaluate(count as f64), text);
        part.perf(
            Perfdata::new("messages", count as f64, Uom::None)
                .thresholds(thresholds)
                .min(0.0),
        );
        self.part(part);
    }

    /// Another perfdata point, with the last part.
    pub fn perf(&mut self, point: Perfdata) {
        match self.parts.last_mut() {
            Some(last) => last.perf(point),
            None => {
                let mut part = CheckResult::with_state(State::Ok, "");
                part.perf(point);
                self.part(part);
            }
        }
    }

    /// How the session ended: a failed goodbye is WARNING (the check itself
    /// went through), or the `-t` state when the server went silent.
    pub fn goodbye(&mut self, goodbye: &Goodbye) {
        if let Goodbye::Failed(f) = goodbye {
            self.part(CheckResult::with_state(
                f.closing_state(&self.timeout),
                f.message(self.probe.jail),
            ));
        }
    }

    /// The result: the parts on one line; with `-v` (and without `-j`) the
    /// `transcript` of the dialogue as details.
    pub fn finish(self, transcript: &[String], verbosity: u8) -> CheckResult {
        let mut result = CheckResult::of_parts(self.parts);
        if verbosity > 0 && !self.probe.jail {
            result.details.extend(transcript.iter().cloned());
        }
        result
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
        let common = vec![
            CheckResult::with_state(State::Ok, "+OK ready"),
            CheckResult::with_state(State::Ok, "0.004 s"),
        ];
        let mut c = Composer::new(common, &p, TimeoutSpec::default());
        c.expectation("+OK ready");
        c.answer(Some("+OK noop"));
        c.note("logged in as u");
        c.messages(1, &Thresholds::new(None, None), count_messages(1));
        c.goodbye(&Goodbye::Failed(Failure::from(NetError::Closed {
            partial: String::new(),
            during: "waiting for the reply to QUIT".into(),
        })));
        let r = c.finish(&["< +OK 1 9".to_string()], 1);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary,
            "unexpected response: 'NOPE' not found, connection closed by the server while \
             waiting for the reply to QUIT, +OK ready, 0.004 s, answer '+OK noop', \
             logged in as u, 1 message"
        );
        assert_eq!(r.details, ["< +OK 1 9"]);
        assert_eq!(count_messages(0), "0 messages");
        // Silence at goodbye takes the -t state.
        let timeout: TimeoutSpec = "3:unknown".parse().unwrap();
        let mut c = Composer::new(vec![], &p, timeout);
        c.goodbye(&Goodbye::Failed(Failure::from(NetError::timeout(
            "waiting for the reply to QUIT",
            std::time::Duration::from_secs(3),
        ))));
        assert_eq!(c.finish(&[], 0).state(), State::Unknown);
    }
}
