//! The runner test fixture's plugin: it panics, sleeps, handles a secret or
//! fails on request. Built twice, as `fixture_plugin` (std's start-up and the
//! supervisor thread) and `fixture_lean` ([`rsplugins::lean_main`]).

use clap::Parser;
use rsplugins::options::CommonArgs;
use rsplugins::runner::{self, PluginArgs};
use rsplugins::secret::Secret;
use rsplugins::{CheckError, CheckResult, State};

#[derive(Parser, Debug)]
#[command(name = "fixture_plugin", version, about = "Runner test fixture")]
pub struct Args {
    /// Panic inside the check
    #[arg(long)]
    panic: bool,
    /// Sleep this many seconds inside the check
    #[arg(long, value_name = "SECONDS")]
    sleep: Option<f64>,
    /// Sleep with the time-out and ending signals blocked (after asking for the supervisor)
    #[arg(long, value_name = "SECONDS")]
    sleep_unreachable: Option<f64>,
    /// A secret; the output mentions it to prove it is masked
    #[arg(long, value_name = "SECRET")]
    secret: Option<Secret>,
    /// Fail with this state
    #[arg(long, value_name = "STATE")]
    fail: Option<State>,
    #[command(flatten)]
    common: CommonArgs,
}

impl PluginArgs for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn check(args: Args) -> Result<CheckResult, CheckError> {
    if args.panic {
        panic!("fixture asked to panic");
    }
    if let Some(secs) = args.sleep {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    }
    if let Some(secs) = args.sleep_unreachable {
        // As a call no signal interrupts: only the supervisor thread can end it.
        runner::supervise();
        rsplugins::alarm::block_in_this_thread();
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    }
    if let Some(state) = args.fail {
        return Err(CheckError::new(state, "fixture failure"));
    }
    let mut result = CheckResult::with_state(State::Ok, "fixture ran");
    if let Some(secret) = args.secret {
        // Deliberately leak it through every path to prove the mask holds.
        result.summary = format!("logged in with {}", secret.expose());
        result.detail(format!("password was {}", secret.expose()));
    }
    Ok(result)
}

/// Runs the fixture under the runner.
pub fn main() -> ! {
    runner::run::<Args, _>("FIXTURE", check)
}
