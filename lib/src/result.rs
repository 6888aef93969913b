//! The result of a check: a tree of summaries, details and perfdata.

use crate::perfdata::Perfdata;
use crate::state::State;

/// How the parts of a one-line summary are joined, in every plugin.
pub const JOINER: &str = ", ";

/// What a check found. Its state is the one set on it, else the worst of its
/// subchecks, else OK.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckResult {
    /// State set explicitly; overrides the subchecks.
    pub state: Option<State>,
    /// One-line summary (the first output line for the top result).
    pub summary: String,
    /// Further lines shown below the first.
    pub details: Vec<String>,
    /// Performance data of this node.
    pub perfdata: Vec<Perfdata>,
    /// Parts of the check, each with its own state.
    pub subchecks: Vec<CheckResult>,
    /// Structured facts for machine readers (the records of a DNS answer,
    /// say): JSON shows them as `data`; the text form shows the details.
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The first line's form for this result when it is not the plugin's
    /// (C check_dns prints `DNS OK: ...` for a right answer, `DNS CRITICAL -
    /// ...` for a wrong one).
    pub first_line: Option<crate::output::FirstLine>,
    /// The subchecks are the parts of the summary ([`CheckResult::of_parts`]):
    /// the text form does not list them again below the first line (their
    /// details still are); JSON keeps each with its state.
    pub folded: bool,
}

impl CheckResult {
    /// A result with a summary and no explicit state.
    pub fn new(summary: impl Into<String>) -> CheckResult {
        CheckResult {
            summary: summary.into(),
            ..CheckResult::default()
        }
    }

    /// A result with an explicit state.
    pub fn with_state(state: State, summary: impl Into<String>) -> CheckResult {
        CheckResult {
            state: Some(state),
            ..CheckResult::new(summary)
        }
    }

    /// Sets the explicit state.
    pub fn set_state(&mut self, state: State) {
        self.state = Some(state);
    }

    /// Adds a detail line.
    pub fn detail(&mut self, line: impl Into<String>) {
        self.details.push(line.into());
    }

    /// Adds a perfdata point.
    pub fn perf(&mut self, perfdata: Perfdata) {
        self.perfdata.push(perfdata);
    }

    /// Adds a structured fact under `key` (see [`CheckResult::data`]).
    pub fn datum(&mut self, key: impl Into<String>, value: serde_json::Value) {
        self.data.insert(key.into(), value);
    }

    /// Adds a subcheck.
    pub fn subcheck(&mut self, sub: CheckResult) {
        self.subchecks.push(sub);
    }

    /// The derived state: explicit, else worst of the subchecks, else OK.
    pub fn state(&self) -> State {
        self.state
            .unwrap_or_else(|| State::worst_of(self.subchecks.iter().map(CheckResult::state)))
    }

    /// A result made of `parts` (the steps of a protocol check: greeting,
    /// TLS, certificate, login, time...): its state is the worst of theirs,
    /// its summary their summaries on one line, the parts that are not OK
    /// first, each group in the order given, joined by [`JOINER`]. Empty
    /// summaries are left out.
    pub fn of_parts(parts: Vec<CheckResult>) -> CheckResult {
        let (problems, fine): (Vec<&CheckResult>, Vec<&CheckResult>) =
            parts.iter().partition(|p| p.state() != State::Ok);
        let summary = problems
            .iter()
            .chain(fine.iter())
            .map(|p| p.summary.as_str())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(JOINER);
        CheckResult {
            summary,
            subchecks: parts,
            folded: true,
            ..CheckResult::default()
        }
    }

    /// All perfdata of this node and its subchecks, in tree order.
    pub fn all_perfdata(&self) -> Vec<&Perfdata> {
        let mut out: Vec<&Perfdata> = self.perfdata.iter().collect();
        for sub in &self.subchecks {
            out.extend(sub.all_perfdata());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perfdata::Uom;

    #[test]
    fn state_is_explicit_else_worst_of_children_else_ok() {
        let mut top = CheckResult::new("top");
        assert_eq!(top.state(), State::Ok);
        top.subcheck(CheckResult::with_state(State::Unknown, "a"));
        assert_eq!(top.state(), State::Unknown);
        top.subcheck(CheckResult::with_state(State::Warning, "b"));
        assert_eq!(top.state(), State::Warning);
        top.set_state(State::Ok);
        assert_eq!(top.state(), State::Ok);
    }

    #[test]
    fn nested_states_propagate() {
        let mut inner = CheckResult::new("inner");
        inner.subcheck(CheckResult::with_state(State::Critical, "deep"));
        let mut top = CheckResult::new("top");
        top.subcheck(CheckResult::with_state(State::Warning, "w"));
        top.subcheck(inner);
        assert_eq!(top.state(), State::Critical);
    }

    #[test]
    fn parts_fold_into_one_line_problems_first() {
        let mut time = CheckResult::with_state(State::Ok, "0.004 s");
        time.perf(Perfdata::new("time", 0.004, Uom::Seconds));
        let r = CheckResult::of_parts(vec![
            CheckResult::with_state(State::Ok, "+OK ready"),
            CheckResult::with_state(State::Ok, ""),
            time,
            CheckResult::with_state(State::Warning, "QUIT rejected"),
            CheckResult::with_state(State::Critical, "PASS rejected"),
        ]);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(
            r.summary,
            "QUIT rejected, PASS rejected, +OK ready, 0.004 s"
        );
        assert!(r.folded);
        assert_eq!(r.all_perfdata().len(), 1);
    }

    #[test]
    fn perfdata_collects_the_whole_tree() {
        let mut top = CheckResult::new("top");
        top.perf(Perfdata::new("a", 1.0, Uom::None));
        let mut sub = CheckResult::new("sub");
        sub.perf(Perfdata::new("b", 2.0, Uom::None));
        top.subcheck(sub);
        let labels: Vec<&str> = top
            .all_perfdata()
            .iter()
            .map(|p| p.label.as_str())
            .collect();
        assert_eq!(labels, vec!["a", "b"]);
    }
}
