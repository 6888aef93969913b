//! The `-t SECONDS[:STATE]` time budget of a check.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::number::format_number;
use crate::state::State;

/// Default budget, as the C plugins.
pub const DEFAULT_SECONDS: f64 = 10.0;

/// How long a check may run and which state it ends in when it runs out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeoutSpec {
    /// Seconds (positive, may be fractional).
    pub seconds: f64,
    /// State reported on time-out (CRITICAL unless given).
    pub state: State,
}

impl Default for TimeoutSpec {
    fn default() -> Self {
        TimeoutSpec {
            seconds: DEFAULT_SECONDS,
            state: State::Critical,
        }
    }
}

impl TimeoutSpec {
    /// The budget as a duration.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }

    /// The line printed when the budget runs out.
    pub fn message(&self) -> String {
        format!(
            "Plugin timed out after {} seconds",
            format_number(self.seconds)
        )
    }
}

impl fmt::Display for TimeoutSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", format_number(self.seconds), self.state)
    }
}

/// Why a timeout text was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutError(pub String);

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeoutError {}

impl FromStr for TimeoutSpec {
    type Err = TimeoutError;

    /// `20`, `20:UNKNOWN`, `:warning`, `5.5:2`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(TimeoutError("empty timeout".to_string()));
        }
        let (secs, state) = match text.split_once(':') {
            Some((secs, state)) => (secs, Some(state)),
            None => (text, None),
        };
        let seconds = if secs.trim().is_empty() {
            DEFAULT_SECONDS
        } else {
            match secs.trim().parse::<f64>() {
                // An upper bound keeps Duration::from_secs_f64 from panicking.
                Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => s,
                _ => {
                    return Err(TimeoutError(format!(
                        "timeout '{secs}' must be a number of seconds above 0 and at most 86400"
                    )))
                }
            }
        };
        let state = match state {
            Some(s) => s
                .parse::<State>()
                .map_err(|e| TimeoutError(format!("timeout state: {e}")))?,
            None => State::Critical,
        };
        Ok(TimeoutSpec { seconds, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            "20".parse(),
            Ok(TimeoutSpec {
                seconds: 20.0,
                state: State::Critical
            })
        );
        assert_eq!(
            "20:UNKNOWN".parse(),
            Ok(TimeoutSpec {
                seconds: 20.0,
                state: State::Unknown
            })
        );
        assert_eq!(
            ":warning".parse(),
            Ok(TimeoutSpec {
                seconds: 10.0,
                state: State::Warning
            })
        );
        assert_eq!(
            "1.5:0".parse(),
            Ok(TimeoutSpec {
                seconds: 1.5,
                state: State::Ok
            })
        );
    }

    #[test]
    fn rejects() {
        for bad in ["0", "-1", "abc", "10:nope", "inf", "1e10", ""] {
            assert!(bad.parse::<TimeoutSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn message() {
        let t: TimeoutSpec = "3".parse().unwrap();
        assert_eq!(t.message(), "Plugin timed out after 3 seconds");
        assert_eq!(TimeoutSpec::default().duration(), Duration::from_secs(10));
    }
}
