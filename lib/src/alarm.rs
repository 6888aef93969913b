//! The time-out and the ending signals enforced by signal handlers instead
//! of a supervisor thread, for the plugins whose main thread only makes
//! calls a signal interrupts (see [`crate::lean_main`]).
//!
//! A thread costs about 55 µs of a 0.6 ms check here. The handler must be
//! async-signal-safe, so the line it prints is rendered beforehand (again
//! whenever the deadline or the service name changes) and it only claims the
//! output, writes and `_exit`s.

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::runner::FINISHED;

/// A rendered line and the exit code that goes with it.
#[derive(Debug, Clone)]
pub struct Ending {
    /// What is printed (the complete output).
    pub text: Vec<u8>,
    /// The exit code.
    pub code: i32,
}

/// What the handler prints for each signal.
#[derive(Debug, Clone)]
pub struct Endings {
    /// On SIGALRM: the time-out.
    pub timeout: Ending,
    /// On SIGTERM, SIGINT and SIGHUP (the signal is named in the line).
    pub terminated: [(Signal, Ending); 3],
}

/// The signals that end the plugin UNKNOWN.
pub const ENDING: [Signal; 3] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

/// The signals the handlers take: the time-out's and the ending ones.
fn handled() -> impl Iterator<Item = Signal> {
    std::iter::once(Signal::SIGALRM).chain(ENDING)
}

/// The current endings; replaced ones are leaked (a few per run), so a
/// handler running meanwhile never reads freed memory.
static ENDINGS: AtomicPtr<Endings> = AtomicPtr::new(std::ptr::null_mut());

/// Set once the handlers are installed.
static INSTALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signo: libc::c_int) {
    let endings = ENDINGS.load(Ordering::Acquire);
    if endings.is_null() {
        return;
    }
    // SAFETY: non-null pointers in ENDINGS come from Box::into_raw and are never freed.
    let endings = unsafe { &*endings };
    let ending = if signo == libc::SIGALRM {
        &endings.timeout
    } else {
        match endings.terminated.iter().find(|(s, _)| *s as i32 == signo) {
            Some((_, e)) => e,
            None => return,
        }
    };
    // The claim on the output shared with the runner: whoever sets it first prints.
    if FINISHED.swap(true, Ordering::SeqCst) {
        // The check is printing its own result and exiting.
        return;
    }
    let mut rest: &[u8] = &ending.text;
    while !rest.is_empty() {
        // SAFETY: write(2) on a valid buffer; async-signal-safe.
        let n = unsafe { libc::write(1, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            break;
        }
        rest = &rest[n as usize..];
    }
    // SAFETY: _exit(2) is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(ending.code) }
}

/// Installs the handlers (the first time), replaces the lines they print and
/// arms the timer for `deadline` (at once when it has passed).
pub fn arm(deadline: Instant, endings: Endings) -> Result<(), nix::Error> {
    // The previous endings are leaked on purpose, see ENDINGS.
    ENDINGS.swap(Box::into_raw(Box::new(endings)), Ordering::AcqRel);
    if !INSTALLED.swap(true, Ordering::SeqCst) {
        let mask = handled().collect::<SigSet>();
        let action = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_signal),
            // A handler that returns (the output was already claimed) lets the call go on.
            nix::sys::signal::SaFlags::SA_RESTART,
            mask,
        );
        for s in handled() {
            // SAFETY: the handler only uses async-signal-safe calls.
            unsafe { nix::sys::signal::sigaction(s, &action) }?;
        }
    }
    let left = deadline
        .saturating_duration_since(Instant::now())
        // A zero interval would disarm the timer.
        .max(Duration::from_micros(1));
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: left.as_secs() as libc::time_t,
            tv_usec: left.subsec_micros() as libc::suseconds_t,
        },
    };
    // SAFETY: a valid itimerval; the old value is not wanted.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) } != 0 {
        return Err(nix::Error::last());
    }
    Ok(())
}

/// Keeps the time-out and ending signals away from the calling thread, so
/// that the kernel delivers them to the main thread even while this one is
/// stuck in a call no signal interrupts (statvfs on a dead NFS server).
/// For worker threads of programs started with [`crate::lean_main`].
pub fn block_in_this_thread() {
    let mask = handled().collect::<SigSet>();
    // Cannot fail with a valid how and set.
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None);
}
