//! The event an engine reports to a handler (state, SOFT or HARD, attempt,
//! service) and the rule that says whether to act on it.

use clap::Args;
use rsplugins::{CheckError, State};

/// SOFT (the engine is still retrying) or HARD (confirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateType {
    /// Not yet confirmed.
    Soft,
    /// Confirmed after max_check_attempts.
    Hard,
}

impl std::str::FromStr for StateType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SOFT" | "0" => Ok(StateType::Soft),
            "HARD" | "1" => Ok(StateType::Hard),
            _ => Err(format!("'{s}' is not a state type (SOFT or HARD)")),
        }
    }
}

impl std::fmt::Display for StateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        })
    }
}

/// The engine's macros, as options (argv words: no shell sees them).
#[derive(Args, Debug, Clone, Default)]
pub struct EventArgs {
    /// The service's state: Nagios $SERVICESTATE$, Icinga 2 $service.state$
    /// (OK, WARNING, CRITICAL, UNKNOWN or 0-3)
    #[arg(long = "state", value_name = "STATE")]
    pub state: Option<State>,

    /// SOFT or HARD: Nagios $SERVICESTATETYPE$, Icinga 2 $service.state_type$
    #[arg(long = "state-type", value_name = "SOFT|HARD")]
    pub state_type: Option<StateType>,

    /// The check attempt: Nagios $SERVICEATTEMPT$, Icinga 2 $service.check_attempt$
    #[arg(long = "attempt", value_name = "N", default_value = "1")]
    pub attempt: u32,

    /// The service's name in the engine, for the log and notifications:
    /// Nagios $SERVICEDESC$, Icinga 2 $service.name$
    #[arg(long = "service", value_name = "NAME")]
    pub service: Option<String>,
}

/// One event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The state.
    pub state: State,
    /// SOFT or HARD.
    pub state_type: StateType,
    /// The attempt.
    pub attempt: u32,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.state, self.state_type, self.attempt)
    }
}

impl EventArgs {
    /// The event; `--state` and `--state-type` are required to act.
    pub fn event(&self) -> Result<Event, CheckError> {
        match (self.state, self.state_type) {
            (Some(state), Some(state_type)) => Ok(Event {
                state,
                state_type,
                attempt: self.attempt,
            }),
            _ => Err(CheckError::unknown(
                "--state and --state-type are required (the engine's state macros; see --help)",
            )),
        }
    }
}

/// When a handler acts on a problem: one of `states`, confirmed (HARD), or
/// at exactly SOFT attempt `on_attempt` when given (the engines'
/// documented "third SOFT or first HARD").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The states acted on.
    pub states: Vec<State>,
    /// The SOFT attempt acted on, if any.
    pub on_attempt: Option<u32>,
}

impl Rule {
    /// Whether to act on `event`.
    pub fn acts_on(&self, event: &Event) -> bool {
        self.states.contains(&event.state)
            && match event.state_type {
                StateType::Hard => true,
                StateType::Soft => self.on_attempt == Some(event.attempt),
            }
    }

    /// "CRITICAL HARD, or SOFT attempt 2" (for the log).
    pub fn describe(&self) -> String {
        let states: Vec<String> = self.states.iter().map(|s| s.to_string()).collect();
        match self.on_attempt {
            Some(n) => format!("{} HARD, or SOFT attempt {n}", states.join("/")),
            None => format!("{} HARD", states.join("/")),
        }
    }
}

/// Parses a comma-separated list of states (`warning,critical`).
pub fn parse_states(text: &str) -> Result<Vec<State>, String> {
    let mut states = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let state: State = word
            .parse()
            .map_err(|_| format!("'{word}' is not a state (ok, warning, critical, unknown)"))?;
        if !states.contains(&state) {
            states.push(state);
        }
    }
    if states.is_empty() {
        return Err("no state given".into());
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(state: State, state_type: StateType, attempt: u32) -> Event {
        Event {
            state,
            state_type,
            attempt,
        }
    }

    #[test]
    fn the_default_rule_acts_on_hard_critical_only() {
        let rule = Rule {
            states: vec![State::Critical],
            on_attempt: None,
        };
        assert!(rule.acts_on(&ev(State::Critical, StateType::Hard, 3)));
        assert!(!rule.acts_on(&ev(State::Critical, StateType::Soft, 1)));
        assert!(!rule.acts_on(&ev(State::Warning, StateType::Hard, 3)));
        assert!(!rule.acts_on(&ev(State::Ok, StateType::Hard, 1)));
        assert_eq!(rule.describe(), "CRITICAL HARD");
    }

    #[test]
    fn on_attempt_acts_on_exactly_that_soft_attempt() {
        let rule = Rule {
            states: vec![State::Critical],
            on_attempt: Some(2),
        };
        assert!(!rule.acts_on(&ev(State::Critical, StateType::Soft, 1)));
        assert!(rule.acts_on(&ev(State::Critical, StateType::Soft, 2)));
        assert!(!rule.acts_on(&ev(State::Critical, StateType::Soft, 3)));
        assert!(rule.acts_on(&ev(State::Critical, StateType::Hard, 4)));
    }

    #[test]
    fn macros_parse_as_the_engines_pass_them() {
        assert_eq!("HARD".parse::<StateType>(), Ok(StateType::Hard));
        assert_eq!("soft".parse::<StateType>(), Ok(StateType::Soft));
        assert_eq!("1".parse::<StateType>(), Ok(StateType::Hard));
        assert!("$SERVICESTATETYPE$".parse::<StateType>().is_err());
        assert_eq!(
            parse_states("warning, CRITICAL,warning"),
            Ok(vec![State::Warning, State::Critical])
        );
        assert!(parse_states("down").is_err());
        assert!(parse_states(" , ").is_err());
    }
}
