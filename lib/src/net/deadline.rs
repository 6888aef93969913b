//! The instant by which network steps must be done.

use std::time::{Duration, Instant};

use crate::timeout::TimeoutSpec;

/// When network work must end. Set a little before the plugin's `-t` budget
/// so a silent peer is reported with what the plugin was waiting for
/// ("no greeting within 10 s"), not only the runner's generic time-out.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline from now for the whole budget of `spec`, less a margin for
    /// printing the result (a tenth, at most 250 ms).
    pub fn from_timeout(spec: &TimeoutSpec) -> Deadline {
        let budget = spec.duration();
        let margin = (budget / 10).min(Duration::from_millis(250));
        Deadline {
            at: Instant::now() + budget - margin,
            budget,
        }
    }

    /// A deadline `after` from now (tests).
    pub fn after(after: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + after,
            budget: after,
        }
    }

    /// The instant itself.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The budget it was made from, for messages.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Runs `fut` until the deadline; `None` when it ran out.
    pub async fn run<F: std::future::Future>(&self, fut: F) -> Option<F::Output> {
        tokio::time::timeout_at(self.at.into(), fut).await.ok()
    }
}
