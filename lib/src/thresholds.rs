//! A warning and a critical range evaluated together.

use crate::range::Range;
use crate::state::State;

/// Optional warning and critical ranges for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    /// Range whose alert means WARNING.
    pub warning: Option<Range>,
    /// Range whose alert means CRITICAL.
    pub critical: Option<Range>,
}

impl Thresholds {
    /// Thresholds from optional ranges.
    pub fn new(warning: Option<Range>, critical: Option<Range>) -> Thresholds {
        Thresholds { warning, critical }
    }

    /// The state of `value`: CRITICAL is checked first, then WARNING, else OK.
    pub fn evaluate(&self, value: f64) -> State {
        if self.critical.is_some_and(|c| c.alerts(value)) {
            State::Critical
        } else if self.warning.is_some_and(|w| w.alerts(value)) {
            State::Warning
        } else {
            State::Ok
        }
    }

    /// Whether either range is set.
    pub fn is_set(&self) -> bool {
        self.warning.is_some() || self.critical.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(w: &str, c: &str) -> Thresholds {
        Thresholds::new(Some(w.parse().unwrap()), Some(c.parse().unwrap()))
    }

    #[test]
    fn simple_upper_bounds() {
        let th = t("30", "60");
        assert_eq!(th.evaluate(15.3), State::Ok);
        assert_eq!(th.evaluate(30.0001), State::Warning);
        assert_eq!(th.evaluate(69.0), State::Critical);
    }

    #[test]
    fn negative_bands() {
        let th = t("-10:-2", "-30:20");
        assert_eq!(th.evaluate(-31.0), State::Critical);
        assert_eq!(th.evaluate(-29.0), State::Warning);
        assert_eq!(th.evaluate(-11.0), State::Warning);
        assert_eq!(th.evaluate(-10.0), State::Ok);
        assert_eq!(th.evaluate(-2.0), State::Ok);
        assert_eq!(th.evaluate(-1.0), State::Warning);
        assert_eq!(th.evaluate(19.0), State::Warning);
        assert_eq!(th.evaluate(21.0), State::Critical);
    }

    #[test]
    fn critical_wins_over_warning() {
        // Both alert: the critical range is evaluated first.
        let th = t("5", "5");
        assert_eq!(th.evaluate(6.0), State::Critical);
    }

    #[test]
    fn either_may_be_missing() {
        let only_warn = Thresholds::new(Some("5".parse().unwrap()), None);
        assert_eq!(only_warn.evaluate(6.0), State::Warning);
        let only_crit = Thresholds::new(None, Some("5".parse().unwrap()));
        assert_eq!(only_crit.evaluate(6.0), State::Critical);
        assert_eq!(only_crit.evaluate(4.0), State::Ok);
        assert_eq!(Thresholds::default().evaluate(1e9), State::Ok);
        assert!(!Thresholds::default().is_set());
    }
}
