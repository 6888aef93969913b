//! Service states and how they combine.

use std::fmt;
use std::str::FromStr;

/// A plugin's service state, as Nagios, Icinga 2 and Naemon read it from the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Exit code 0.
    Ok,
    /// Exit code 1.
    Warning,
    /// Exit code 2.
    Critical,
    /// Exit code 3: the check could not tell (bad options, internal failure).
    Unknown,
}

impl State {
    /// All states, in exit-code order.
    pub const ALL: [State; 4] = [State::Ok, State::Warning, State::Critical, State::Unknown];

    /// The process exit code engines expect for this state.
    pub fn exit_code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// The upper-case name printed in plugin output.
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// Severity used when combining states: OK < UNKNOWN < WARNING < CRITICAL.
    ///
    /// Not the exit-code order: an UNKNOWN part must not hide a real CRITICAL.
    fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Unknown => 1,
            State::Warning => 2,
            State::Critical => 3,
        }
    }

    /// The more severe of two states.
    pub fn worst(self, other: State) -> State {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// The most severe of many states; OK when there are none.
    pub fn worst_of<I: IntoIterator<Item = State>>(states: I) -> State {
        states.into_iter().fold(State::Ok, State::worst)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A text that names no state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStateError(pub String);

impl fmt::Display for ParseStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a state (use OK, WARNING, CRITICAL, UNKNOWN or 0-3)",
            self.0
        )
    }
}

impl std::error::Error for ParseStateError {}

impl FromStr for State {
    type Err = ParseStateError;

    /// Accepts names (any case, `warn`/`crit` too) and the numbers 0-3.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "0" | "ok" => Ok(State::Ok),
            "1" | "warning" | "warn" => Ok(State::Warning),
            "2" | "critical" | "crit" => Ok(State::Critical),
            "3" | "unknown" => Ok(State::Unknown),
            _ => Err(ParseStateError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let codes: Vec<i32> = State::ALL.iter().map(|s| s.exit_code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3]);
    }

    #[test]
    fn worst_ranks_unknown_below_warning() {
        assert_eq!(State::Ok.worst(State::Unknown), State::Unknown);
        assert_eq!(State::Unknown.worst(State::Warning), State::Warning);
        assert_eq!(State::Warning.worst(State::Unknown), State::Warning);
        assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
        assert_eq!(State::Unknown.worst(State::Critical), State::Critical);
        assert_eq!(
            State::worst_of([State::Ok, State::Unknown, State::Ok]),
            State::Unknown
        );
        assert_eq!(State::worst_of([]), State::Ok);
        assert_eq!(
            State::worst_of([State::Critical, State::Warning, State::Unknown]),
            State::Critical
        );
    }

    #[test]
    fn parses_names_and_numbers_in_any_case() {
        assert_eq!("ok".parse(), Ok(State::Ok));
        assert_eq!("Warning".parse(), Ok(State::Warning));
        assert_eq!("CRITICAL".parse(), Ok(State::Critical));
        assert_eq!("unKnown".parse(), Ok(State::Unknown));
        assert_eq!("0".parse(), Ok(State::Ok));
        assert_eq!("1".parse(), Ok(State::Warning));
        assert_eq!("2".parse(), Ok(State::Critical));
        assert_eq!("3".parse(), Ok(State::Unknown));
        assert!("4".parse::<State>().is_err());
        assert!("".parse::<State>().is_err());
        assert!("okay".parse::<State>().is_err());
    }

    #[test]
    fn displays_upper_case() {
        assert_eq!(State::Warning.to_string(), "WARNING");
    }
}
