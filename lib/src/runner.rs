//! The runner every binary hands over to: parses options, enforces the time
//! budget, turns signals, panics and errors into states, prints once, exits.
//!
//! Exit codes are always 0-3: `--help`, `--version` and usage errors are
//! UNKNOWN (3), a panic is UNKNOWN with one line (never 101, never a
//! backtrace), SIGTERM/SIGINT end the plugin UNKNOWN, and `-t` ends it in the
//! time-out state whatever the check is blocked in (name resolution included).
//!
//! Two ways of watching the clock and the signals: a supervisor thread (the
//! default: it ends the plugin even while the main thread sits in a call no
//! signal interrupts), or, for the plugins started by [`crate::lean_main`],
//! signal handlers and a timer ([`crate::alarm`]), which cost no thread;
//! such a plugin calls [`supervise`] before a call that a signal cannot
//! interrupt.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::Parser;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::alarm;
use crate::argv;
use crate::error::CheckError;
use crate::extra_opts;
use crate::options::CommonArgs;
use crate::output::{self, FirstLine, OutputFormat};
use crate::result::CheckResult;
use crate::secret;
use crate::state::State;
use crate::timeout::TimeoutSpec;

/// A plugin's parsed options: clap's parser plus access to the common group.
pub trait PluginArgs: Parser {
    /// The flattened [`CommonArgs`].
    fn common(&self) -> &CommonArgs;

    /// A service name chosen by the options (check_procs prints `RSS` or
    /// `CPU` in metric mode); `None` keeps the plugin's default.
    fn service(&self) -> Option<&'static str> {
        None
    }
}

/// Set by whoever prints the result (the check, the time-out, a signal):
/// exactly one does.
pub(crate) static FINISHED: AtomicBool = AtomicBool::new(false);
/// Set by [`lean_start`]: the time-out and the ending signals are taken by
/// signal handlers ([`crate::alarm`]) instead of a supervisor thread.
static LEAN: AtomicBool = AtomicBool::new(false);
/// The service name the program was started with.
static DEFAULT_SERVICE: OnceLock<&'static str> = OnceLock::new();
static FORMAT: OnceLock<OutputFormat> = OnceLock::new();
static SERVICE: OnceLock<&'static str> = OnceLock::new();
static FIRST_LINE: OnceLock<FirstLine> = OnceLock::new();

fn first_line() -> FirstLine {
    FIRST_LINE.get().copied().unwrap_or_default()
}

/// The service name once the options chose it, else the plugin's default.
fn service_or(default: &'static str) -> &'static str {
    SERVICE.get().copied().unwrap_or(default)
}

/// The service name the program was started with (empty before the runner ran).
fn default_service() -> &'static str {
    DEFAULT_SERVICE.get().copied().unwrap_or("")
}

fn format() -> OutputFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Prints `text` and exits with `code`. Only the first caller prints: when
/// the check, the time-out and a signal race, exactly one result is shown.
fn finish(text: &str, code: i32) -> ! {
    if FINISHED.swap(true, Ordering::SeqCst) {
        // Another thread is printing and exiting the process.
        loop {
            std::thread::park();
        }
    }
    let mut out = std::io::stdout().lock();
    // Nothing sensible is left to do if stdout is gone; the code still tells.
    let _ = out.write_all(secret::redact(text).as_bytes());
    let _ = out.flush();
    // Nothing registered with atexit has work left (the output is written,
    // nothing uses C's stdio): _exit skips running the C library's exit
    // handlers, whose code would be mapped for that alone.
    // SAFETY: _exit ends the process at once; stdout was flushed above.
    unsafe { libc::_exit(code) }
}

/// Ends the plugin with a one-line result in `state`.
pub fn exit_with(service: &str, state: State, message: &str) -> ! {
    finish(
        &output::render_line(format(), service, first_line(), state, message),
        state.exit_code(),
    )
}

fn install_panic_hook(service: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unexpected failure".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        exit_with(
            service_or(service),
            State::Unknown,
            &format!("internal error: {what}{place}"),
        )
    }));
}

/// Signals that end the plugin UNKNOWN.
fn ending_signals() -> SigSet {
    alarm::ENDING.into_iter().collect()
}

/// When the check must end and in which state: set from a first look at the
/// command line before any file is read, then from the parsed options.
static DEADLINE: Mutex<Option<(Instant, TimeoutSpec)>> = Mutex::new(None);

/// How often the supervisor looks whether the deadline moved.
const SUPERVISOR_TICK: Duration = Duration::from_millis(100);

fn set_deadline(start: Instant, timeout: TimeoutSpec) {
    let at = start + timeout.duration();
    *DEADLINE.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, timeout));
    if LEAN.load(Ordering::Relaxed) {
        if let Err(e) = alarm::arm(at, endings(timeout)) {
            exit_with(
                service_or(default_service()),
                State::Unknown,
                &format!("cannot arm the time-out: {e}"),
            );
        }
    }
}

/// The lines the signal handlers print, rendered now (they cannot allocate).
fn endings(timeout: TimeoutSpec) -> alarm::Endings {
    let service = service_or(default_service());
    let ending = |state: State, message: &str| alarm::Ending {
        text: secret::redact(&output::render_line(
            format(),
            service,
            first_line(),
            state,
            message,
        ))
        .into_bytes(),
        code: state.exit_code(),
    };
    alarm::Endings {
        timeout: ending(timeout.state, &timeout.message()),
        terminated: alarm::ENDING.map(|s| {
            (
                s,
                ending(State::Unknown, &format!("Plugin received {s}, ending")),
            )
        }),
    }
}

/// Prepares a program whose C `main` [`crate::lean_main`] defines: what
/// std's start-up would have done that matters here (SIGPIPE ignored, so a
/// closed pipe is an error and not a silent death; fds 0-2 open, so a file
/// the check opens never becomes its stdout), and the time-out by signal
/// handlers instead of a supervisor thread.
pub fn lean_start() {
    // SAFETY: setting a signal's disposition to ignore; no handler involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: a valid array of pollfd; a zero timeout returns at once.
    if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) } >= 0 {
        for f in fds.iter().filter(|f| f.revents & libc::POLLNVAL != 0) {
            // SAFETY: opening /dev/null; the lowest free descriptor is the closed one.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd != f.fd {
                // Cannot make the standard descriptors safe: carry on as std would not.
                // SAFETY: aborting without unwinding or output.
                unsafe { libc::abort() };
            }
        }
    }
    LEAN.store(true, Ordering::Relaxed);
}

/// Waits for an ending signal or the deadline in a thread of its own, so a
/// check blocked in any call (DNS, connect, statvfs, opening a FIFO) still
/// ends on time.
///
/// In a program started the usual way the signals are blocked in every
/// thread (the mask is inherited) and taken synchronously here: no
/// async-signal-safety concerns, no lost signal. In a lean one, started
/// later by [`supervise`], the signal handlers stay installed and whichever
/// takes a signal first prints (one claim on the output, [`FINISHED`]).
fn start_supervisor(service: &'static str, signals: SigSet) {
    let spawned = std::thread::Builder::new()
        .name("supervisor".into())
        // It only waits and, at the end, renders one line.
        .stack_size(128 * 1024)
        .spawn(move || loop {
            let Some((deadline, timeout)) = *DEADLINE.lock().unwrap_or_else(|e| e.into_inner())
            else {
                exit_with(service, State::Unknown, "time-out not armed");
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                exit_with(service_or(service), timeout.state, &timeout.message());
            }
            if let Some(signal) = wait_signal(&signals, left.min(SUPERVISOR_TICK)) {
                exit_with(
                    service_or(service),
                    State::Unknown,
                    &format!("Plugin received {signal}, ending"),
                );
            }
        });
    if let Err(e) = spawned {
        exit_with(
            service,
            State::Unknown,
            &format!("cannot start the time-out supervisor: {e}"),
        );
    }
}

/// Starts the supervisor thread in a program started by [`crate::lean_main`]
/// before it makes calls a signal cannot interrupt (reading another
/// process's command line waits for that process's memory lock, which only
/// SIGKILL breaks): from then on the time-out ends it whatever the call.
/// Does nothing in other programs, whose supervisor runs from the start, and
/// when called again.
pub fn supervise() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    if LEAN.load(Ordering::Relaxed) {
        STARTED.call_once(|| start_supervisor(default_service(), ending_signals()));
    }
}

/// `sigtimedwait`: the signal that arrived, or `None` when `left` ran out.
fn wait_signal(signals: &SigSet, left: Duration) -> Option<Signal> {
    let ts = libc::timespec {
        tv_sec: left.as_secs() as libc::time_t,
        tv_nsec: left.subsec_nanos() as libc::c_long,
    };
    // SAFETY: the set and timespec are valid for the call; a null siginfo is allowed.
    let signo = unsafe { libc::sigtimedwait(signals.as_ref(), std::ptr::null_mut(), &ts) };
    if signo > 0 {
        Signal::try_from(signo).ok()
    } else {
        None
    }
}

fn usage_error(service: &str, err: clap::Error) -> ! {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Help and version are not a check result: plain text, exit UNKNOWN.
            finish(&err.render().to_string(), State::Unknown.exit_code())
        }
        _ => {
            let rendered = err.render().to_string();
            let mut lines = rendered.lines().filter(|l| !l.trim().is_empty());
            let mut reason = lines
                .next()
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ")
                .to_string();
            // "the following required arguments were not provided:" lists them below.
            if reason.ends_with(':') {
                let listed: Vec<&str> = lines
                    .take_while(|l| l.starts_with(' '))
                    .map(str::trim)
                    .collect();
                reason = format!("{} {}", reason, listed.join(", "));
            }
            let mut result =
                CheckResult::with_state(State::Unknown, format!("invalid command line: {reason}"));
            if let Some(usage) = rendered.lines().find(|l| l.starts_with("Usage:")) {
                result.detail(format!("{usage} (see --help)"));
            }
            finish(
                &output::render(format(), service, first_line(), &result),
                State::Unknown.exit_code(),
            )
        }
    }
}

/// Parses options and runs `check` under the plugin conventions. Never returns.
///
/// `service` is the first word of the output (`LOAD`, `SMTP`).
pub fn run<A, F>(service: &'static str, check: F) -> !
where
    A: PluginArgs,
    F: FnOnce(A) -> Result<CheckResult, CheckError>,
{
    run_as(service, FirstLine::Dash, check)
}

/// [`run`] with the first line in `form` (C's `PROCS OK: ...`).
pub fn run_as<A, F>(service: &'static str, form: FirstLine, check: F) -> !
where
    A: PluginArgs,
    F: FnOnce(A) -> Result<CheckResult, CheckError>,
{
    run_alias(service, form, &[], check)
}

/// [`run_as`] for a plugin under another of its names, the C name users
/// look for: `implied` words come before the user's (check_simap_rs is
/// check_imap_rs with `--ssl`, as C's check_simap is check_imap with SSL).
pub fn run_alias<A, F>(service: &'static str, form: FirstLine, implied: &[&str], check: F) -> !
where
    A: PluginArgs,
    F: FnOnce(A) -> Result<CheckResult, CheckError>,
{
    let _ = FIRST_LINE.set(form);
    let mut argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let at = argv.len().min(1);
    argv.splice(at..at, implied.iter().map(|w| w.to_string()));
    run_from(service, argv, check)
}

/// The clap definition as every plugin parses it: getopt_long's habits
/// (unambiguous abbreviations of long options; an option's value is the next
/// word whatever it looks like, so `-t -5` and `-P --pw` reach the value's
/// own check) and later options overriding earlier ones.
pub fn prepare_command(command: clap::Command) -> clap::Command {
    command
        .args_override_self(true)
        .infer_long_args(true)
        .mut_args(|arg| {
            if argv::takes_one_value(&arg) {
                arg.allow_hyphen_values(true)
            } else {
                arg
            }
        })
}

/// [`run`] on the given argv (program name first), for programs that are
/// not started under their plugin name (a multi-call binary, a handler).
pub fn run_from<A, F>(service: &'static str, argv: Vec<String>, check: F) -> !
where
    A: PluginArgs,
    F: FnOnce(A) -> Result<CheckResult, CheckError>,
{
    let start = Instant::now();
    let _ = DEFAULT_SERVICE.set(service);
    let lean = LEAN.load(Ordering::Relaxed);
    // One malloc arena for every thread: a plugin's threads (the supervisor,
    // check_disk_rs's worker) allocate little, and a second arena costs a
    // 64 MiB reservation and its page tables on the first allocation.
    // SAFETY: mallopt only sets a parameter; no allocation is in flight.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    install_panic_hook(service);
    let signals = ending_signals();
    // Block before any other thread exists so every thread inherits the mask
    // (a lean program takes them with handlers instead).
    let blocked = if lean {
        Ok(())
    } else {
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signals), None)
    };
    if let Err(e) = blocked {
        exit_with(
            service,
            State::Unknown,
            &format!("cannot block signals: {e}"),
        );
    }

    // Built once: the clap definition is the largest start-up cost after exec.
    let command = prepare_command(A::command());
    let argv = argv::normalize(&command, argv);
    // A first look, before any file is opened: the time-out and the signals
    // are armed, secrets are masked and the output format is known even if
    // --extra-opts or a file: secret blocks or the parse fails.
    let (timeout, reads_secret_file) = first_look(&command, &argv);
    set_deadline(start, timeout);
    if !lean {
        start_supervisor(service, signals);
    }

    let program = command.get_name().to_string();
    let extra = argv.iter().any(|a| a.starts_with("--extra-opts"));
    if extra || reads_secret_file {
        // A file on a dead NFS mount blocks past any signal but SIGKILL.
        supervise();
    }
    let argv = match extra_opts::expand(argv, &program) {
        Ok(argv) => argv,
        Err(e) => exit_with(service, State::Unknown, &e.to_string()),
    };
    if extra {
        // The ini file may have brought secrets, a format and a time-out of its own.
        set_deadline(start, first_look(&command, &argv).0);
    }
    // The definition and the matches are left for the process exit to free:
    // dropping them is a tenth of a small plugin's instructions.
    let mut command = command;
    let parsed = command.try_get_matches_from_mut(argv).and_then(|matches| {
        let args = A::from_arg_matches(&matches);
        std::mem::forget(matches);
        args
    });
    std::mem::forget(command);
    let args = match parsed {
        Ok(args) => args,
        Err(e) => usage_error(service, e),
    };
    let common = args.common().clone();
    let _ = FORMAT.set(common.output_format);
    let service = args.service().unwrap_or(service);
    let _ = SERVICE.set(service);
    set_deadline(start, common.timeout);

    match check(args) {
        Ok(result) => finish(
            &output::render(common.output_format, service, first_line(), &result),
            result.state().exit_code(),
        ),
        Err(e) => exit_with(service, e.state, &e.message),
    }
}

/// Registers the raw values of secret options, takes the output format and
/// returns the time budget and whether a secret comes from a file, from
/// `argv` before it is parsed.
fn first_look(command: &clap::Command, argv: &[String]) -> (TimeoutSpec, bool) {
    let mut timeout = TimeoutSpec::default();
    let mut secret_file = false;
    for (arg, value) in argv::option_values(command, argv) {
        if argv::is_secret(arg) {
            // env: and file: name where the secret is, not the secret.
            secret_file |= value.starts_with("file:");
            if !value.starts_with("env:") && !value.starts_with("file:") {
                secret::register(value.strip_prefix("literal:").unwrap_or(&value));
            }
        } else if arg.get_id() == "timeout" {
            timeout = value.parse().unwrap_or_default();
        } else if arg.get_id() == "output_format" {
            if let Ok(format) = value.parse() {
                let _ = FORMAT.set(format);
            }
        }
    }
    (timeout, secret_file)
}

/// Defines the C `main` of a plugin's binary, running `$main` (the crate's
/// `main()` or `main_as(..)` from [`plugin_entry!`]) after
/// [`runner::lean_start`]: std's own start-up is skipped (its stack-guard
/// probe reads /proc/self/maps, a fifth of a small check's instructions)
/// and the time-out is a timer signal instead of a supervisor thread: no
/// thread, about 0.1 ms and, for a network check, a tenth of its memory
/// less per run (the thread's stack and the C library's thread code).
///
/// Only for programs whose main thread makes no call a signal cannot
/// interrupt: sockets and name lookups are interrupted, but reads of other
/// processes' /proc files and file system calls on a hung mount are not.
/// Those belong on a worker thread that calls
/// [`alarm::block_in_this_thread`], or come after [`runner::supervise`],
/// which the runner calls before reading `--extra-opts` and `file:`
/// secrets, and [`crate::userfile`] and the TLS files before a file the
/// user names. The binary's crate root needs
/// `#![cfg_attr(not(test), no_main)]`.
///
/// [`runner::lean_start`]: crate::runner::lean_start
/// [`runner::supervise`]: crate::runner::supervise
/// [`alarm::block_in_this_thread`]: crate::alarm::block_in_this_thread
#[macro_export]
macro_rules! lean_main {
    ($main:expr) => {
        #[cfg(not(test))]
        #[no_mangle]
        extern "C" fn main(
            _argc: ::core::ffi::c_int,
            _argv: *const *const ::core::ffi::c_char,
        ) -> ::core::ffi::c_int {
            $crate::runner::lean_start();
            $main
        }
    };
}

/// Declares a plugin crate's entry points from its options type `$args`
/// (which flattens [`CommonArgs`] as `common`): the [`PluginArgs`] impl,
/// `pub fn command()` (the clap definition, for man pages and generated
/// command definitions) and `pub fn main()` (what the binary calls).
///
/// `service = |args| ...` lets the options choose the service name;
/// `first_line = FirstLine::Colon` prints C's `SERVICE STATE: summary`.
#[macro_export]
macro_rules! plugin_entry {
    ($args:ty, $service:expr, $check:path) => {
        $crate::plugin_entry!($args, $service, $check, service = |_: &$args| None);
    };
    ($args:ty, $service:expr, $check:path, first_line = $form:expr) => {
        $crate::plugin_entry!(
            $args,
            $service,
            $check,
            service = |_: &$args| None,
            first_line = $form
        );
    };
    ($args:ty, $service:expr, $check:path, service = $choose:expr) => {
        $crate::plugin_entry!(
            $args,
            $service,
            $check,
            service = $choose,
            first_line = $crate::output::FirstLine::Dash
        );
    };
    ($args:ty, $service:expr, $check:path, service = $choose:expr, first_line = $form:expr) => {
        impl $crate::runner::PluginArgs for $args {
            fn common(&self) -> &$crate::options::CommonArgs {
                &self.common
            }

            fn service(&self) -> Option<&'static str> {
                let choose: fn(&$args) -> Option<&'static str> = $choose;
                choose(self)
            }
        }

        /// The clap definition (for man pages and generated command definitions).
        pub fn command() -> $crate::clap::Command {
            <$args as $crate::clap::CommandFactory>::command()
        }

        /// Entry point of the binary.
        pub fn main() -> ! {
            $crate::runner::run_as::<$args, _>($service, $form, $check)
        }

        /// Entry point of a binary under a C name: its own service name
        /// and the options that name implies (`check_simap_rs`: `--ssl`).
        pub fn main_as(service: &'static str, implied: &[&str]) -> ! {
            $crate::runner::run_alias::<$args, _>(service, $form, implied, $check)
        }
    };
}
