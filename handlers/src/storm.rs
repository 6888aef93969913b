//! The storm guard: at most `max` restarts of a service within a window,
//! counted in a state file that survives the handler (and reboots of the
//! engine), so a service that cannot start is not restarted forever.

use rsplugins::statefile::{StateDir, StateError};
use serde_json::{json, Value};

/// How many restarts a window allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Restarts allowed within the window.
    pub max: u32,
    /// The window, in seconds.
    pub window: u64,
}

/// What the state file remembers of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// When restarts began (epoch seconds), oldest first, within the window.
    pub restarts: Vec<u64>,
    /// When the last "storm" notification went out.
    pub storm_notified: Option<u64>,
}

impl Ledger {
    /// Reads the ledger of `key` (none yet: empty).
    pub fn load(dir: &StateDir, key: &str) -> Result<Ledger, StateError> {
        let value = dir.load(key)?.unwrap_or(Value::Null);
        let restarts = value
            .get("restarts")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let storm_notified = value.get("storm_notified").and_then(Value::as_u64);
        Ok(Ledger {
            restarts,
            storm_notified,
        })
    }

    /// Writes it back.
    pub fn save(&self, dir: &StateDir, key: &str) -> Result<(), StateError> {
        dir.save(
            key,
            &json!({"restarts": self.restarts, "storm_notified": self.storm_notified}),
        )
    }

    /// Forgets what left the window.
    pub fn prune(&mut self, now: u64, budget: Budget) {
        self.restarts
            .retain(|t| now.saturating_sub(*t) < budget.window);
        if self
            .storm_notified
            .is_some_and(|t| now.saturating_sub(t) >= budget.window)
        {
            self.storm_notified = None;
        }
    }

    /// Whether one more restart fits (after [`Ledger::prune`]).
    pub fn allows(&self, budget: Budget) -> bool {
        (self.restarts.len() as u64) < u64::from(budget.max)
    }

    /// When the oldest counted restart leaves the window.
    pub fn next_allowed(&self, budget: Budget) -> Option<u64> {
        self.restarts
            .first()
            .map(|t| t.saturating_add(budget.window))
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    u64::try_from(rsplugins::clock::now_epoch()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget {
        max: 2,
        window: 600,
    };

    #[test]
    fn restarts_beyond_the_budget_are_refused_until_the_window_moves() {
        let mut ledger = Ledger::default();
        assert!(ledger.allows(BUDGET));
        ledger.restarts.push(1000);
        ledger.prune(1100, BUDGET);
        assert!(ledger.allows(BUDGET));
        ledger.restarts.push(1100);
        ledger.prune(1200, BUDGET);
        assert!(!ledger.allows(BUDGET));
        assert_eq!(ledger.next_allowed(BUDGET), Some(1600));
        ledger.prune(1600, BUDGET);
        assert!(ledger.allows(BUDGET));
        assert_eq!(ledger.restarts, vec![1100]);
    }

    #[test]
    fn the_ledger_persists() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("s")).unwrap();
        assert_eq!(Ledger::load(&state, "ftp").unwrap(), Ledger::default());
        let ledger = Ledger {
            restarts: vec![5, 6],
            storm_notified: Some(7),
        };
        ledger.save(&state, "ftp").unwrap();
        assert_eq!(Ledger::load(&state, "ftp").unwrap(), ledger);
    }
}
