//! Self-healing on the rsplugins library: event handlers that the engines
//! (Icinga 2, Nagios 4, Naemon) run when a service changes state, and a
//! watchdog for hosts without an engine.
//!
//! - `restart_service_rs`: stop, kill what survived, start, validate with a
//!   check; a storm guard and notifications ([`restart`]).
//! - `shed_load_rs`: on a memory or load problem stop services, create
//!   marker files, run commands; on recovery undo exactly that ([`shed`]).
//! - `reap_procs_rs`: kill stuck or orphaned processes selected with
//!   check_proc_rs's filters ([`reap`]).
//! - `watchdog_rs`: runs checks from a small config file from cron, counts
//!   failures and runs the handlers ([`watchdog`]).
//!
//! They share the plugins' runner (options, `-t`, signals, exit codes, a
//! plugin-style first line) and these pieces: the engine's event
//! ([`event`]), the record of what was done ([`journal`]), names
//! ([`names`]), the service manager ([`manager`]), the processes a service
//! left behind ([`leftovers`]), the restart budget ([`storm`]) and
//! notifications ([`notify`]). No shell ever sees a word: every command is
//! an argv array.

pub mod event;
pub mod journal;
pub mod leftovers;
pub mod manager;
pub mod names;
pub mod notify;
pub mod reap;
pub mod restart;
pub mod shed;
pub mod step;
pub mod storm;
pub mod sudo;
pub mod watchdog;

/// The clap definitions of every handler binary (man pages, generated
/// EventCommands).
pub fn commands() -> Vec<clap::Command> {
    vec![
        restart::command(),
        shed::command(),
        reap::command(),
        watchdog::command(),
    ]
}

/// Where the handlers keep their state unless `--state-dir` says otherwise
/// (owned by the engine's user, mode 0750: see README "Auto-restart").
pub const STATE_DIR: &str = "/var/lib/rsplugins";

/// The state a run works with: the directory (in a dry run only if it
/// exists: read, never created or locked, a dry run changes nothing) and,
/// while the run acts, the lock of its name.
pub struct Held {
    /// The state directory.
    pub dir: Option<rsplugins::statefile::StateDir>,
    _lock: Option<rsplugins::statefile::Lock>,
}

/// Opens the state directory at `path` and locks `key` in it, or, in a dry
/// run, only reads what exists; `None` when another run holds the lock.
pub fn hold_state(
    path: &std::path::Path,
    key: &str,
    dry_run: bool,
) -> Result<Option<Held>, rsplugins::CheckError> {
    if dry_run {
        let dir = if path.exists() {
            Some(state_dir(path)?)
        } else {
            None
        };
        return Ok(Some(Held { dir, _lock: None }));
    }
    let dir = state_dir(path)?;
    Ok(dir.try_lock(key)?.map(|lock| Held {
        dir: Some(dir),
        _lock: Some(lock),
    }))
}

/// When a run must have reported: a second short of `-t` after `started`,
/// so that the handler's own line comes before the runner's time-out.
pub fn deadline(
    started: std::time::Instant,
    common: &rsplugins::options::CommonArgs,
) -> std::time::Instant {
    started
        + common
            .timeout
            .duration()
            .saturating_sub(std::time::Duration::from_secs(1))
}

/// Opens the state directory; a failure is UNKNOWN and says how to make one.
pub fn state_dir(
    path: &std::path::Path,
) -> Result<rsplugins::statefile::StateDir, rsplugins::CheckError> {
    rsplugins::statefile::StateDir::open(path).map_err(|e| {
        rsplugins::CheckError::unknown(format!(
            "{e} (the handlers' user needs it: install -d -o nagios -g nagios -m 0750 {})",
            path.display()
        ))
    })
}
