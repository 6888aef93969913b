//! The processes a service left behind, and ending them safely.
//!
//! A process belongs to the service when the service's pid file names it,
//! when it is in the unit's systemd cgroup, or when it runs the exact
//! executable given, as the user given. Never touched: PID 1, this process
//! and its ancestors (the handler, sudo, the engine), kernel threads.
//! Signals go through a pidfd opened after the process's start time was
//! checked, so a recycled PID is never hit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rsplugins::procfs::{ProcFs, Process};

use crate::journal::Journal;

/// How the service's processes are recognised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// A pid file naming the main process.
    pub pidfile: Option<PathBuf>,
    /// The exact executable (`/proc/PID/exe`), with `uid`.
    pub exe: Option<PathBuf>,
    /// The user the executable runs as.
    pub uid: Option<u32>,
    /// A systemd cgroup directory (`cgroup.procs`).
    pub cgroup: Option<PathBuf>,
}

impl Selector {
    /// Whether anything selects processes.
    pub fn is_empty(&self) -> bool {
        self.pidfile.is_none() && self.exe.is_none() && self.cgroup.is_none()
    }
}

/// One process to end, as it was when found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its id.
    pub pid: u32,
    /// Its start time (clock ticks after boot): tells a recycled id apart.
    pub start_ticks: u64,
    /// Its kernel name.
    pub comm: String,
    /// Its effective user id.
    pub uid: u32,
    /// Why it was selected (pid file, cgroup, executable).
    pub why: &'static str,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, uid {}, {})",
            self.pid, self.comm, self.uid, self.why
        )
    }
}

/// PID 1, this process and every ancestor: never signalled.
pub fn protected(proc: &ProcFs) -> BTreeSet<u32> {
    let mut set = BTreeSet::from([0, 1, std::process::id()]);
    let mut pid = std::os::unix::process::parent_id();
    while pid > 1 && set.insert(pid) {
        pid = match proc.process(pid, false) {
            Ok(p) => p.ppid,
            Err(_) => break,
        };
    }
    set
}

/// The executable of `pid` (without the " (deleted)" an upgrade leaves).
fn exe_of(proc: &ProcFs, pid: u32) -> Option<PathBuf> {
    let target = std::fs::read_link(proc.root().join(pid.to_string()).join("exe")).ok()?;
    let text = target.to_string_lossy();
    Some(PathBuf::from(
        text.strip_suffix(" (deleted)").unwrap_or(&text).to_string(),
    ))
}

/// The first number of a pid file; `None` when there is no such file (a
/// stopped service removes its own).
pub fn read_pidfile(path: &Path) -> Result<Option<u32>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("pid file {}: {e}", path.display())),
    };
    text.split_whitespace()
        .next()
        .and_then(|w| w.parse::<u32>().ok())
        .filter(|pid| *pid > 1)
        .map(Some)
        .ok_or_else(|| format!("pid file {} holds no process id", path.display()))
}

/// A process to end, with why it was chosen.
pub fn target(p: &Process, why: &'static str) -> Target {
    Target {
        pid: p.pid,
        start_ticks: p.start_ticks,
        comm: p.comm.clone(),
        uid: p.uid,
        why,
    }
}

/// The service's processes now; notes say what was looked at and skipped.
pub fn find(proc: &ProcFs, selector: &Selector) -> (Vec<Target>, Vec<String>) {
    let keep = protected(proc);
    let mut notes = Vec::new();
    let mut found: Vec<Target> = Vec::new();
    let add = |p: &Process, why: &'static str, found: &mut Vec<Target>| {
        if keep.contains(&p.pid) || p.is_kernel_thread() || p.state == 'Z' || p.state == 'X' {
            return;
        }
        if !found.iter().any(|t| t.pid == p.pid) {
            found.push(target(p, why));
        }
    };
    if let Some(path) = &selector.pidfile {
        match read_pidfile(path) {
            Ok(None) => {}
            Ok(Some(pid)) => match proc.process(pid, false) {
                Ok(p) => {
                    // With an executable given, a stale pid file naming
                    // another program is not believed.
                    let matches = selector
                        .exe
                        .as_ref()
                        .is_none_or(|exe| exe_of(proc, pid).as_ref() == Some(exe));
                    if matches {
                        add(&p, "pid file", &mut found);
                    } else {
                        notes.push(format!(
                            "pid file {} names {pid} ({}), which does not run {}: left alone",
                            path.display(),
                            p.comm,
                            selector
                                .exe
                                .as_ref()
                                .map(|e| e.display().to_string())
                                .unwrap_or_default()
                        ));
                    }
                }
                Err(_) => notes.push(format!(
                    "pid file {} names {pid}, which is gone",
                    path.display()
                )),
            },
            Err(e) => notes.push(e),
        }
    }
    if let Some(dir) = &selector.cgroup {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            for pid in text.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
                if let Ok(p) = proc.process(pid, false) {
                    add(&p, "cgroup", &mut found);
                }
            }
        }
    }
    if let (Some(exe), Some(uid)) = (&selector.exe, selector.uid) {
        for pid in proc.pids().unwrap_or_default() {
            let Ok(p) = proc.process(pid, false) else {
                continue;
            };
            if p.uid == uid && exe_of(proc, pid).as_ref() == Some(exe) {
                add(&p, "executable", &mut found);
            }
        }
    }
    found.sort_by_key(|t| t.pid);
    (found, notes)
}

/// Whether `t` still runs (same id, same start time, not a zombie).
pub fn alive(proc: &ProcFs, t: &Target) -> bool {
    match proc.process(t.pid, false) {
        Ok(p) => p.start_ticks == t.start_ticks && p.state != 'Z' && p.state != 'X',
        Err(_) => false,
    }
}

/// Sends `signal` to `t` through a pidfd, after checking it is still the
/// same process. Gone already is not an error.
pub fn send(proc: &ProcFs, t: &Target, signal: Signal) -> Result<(), String> {
    // SAFETY: plain syscall with integer arguments; the fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, t.pid as libc::pid_t, 0) };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        return if err.raw_os_error() == Some(libc::ESRCH) {
            Ok(())
        } else {
            Err(format!("cannot open process {}: {err}", t.pid))
        };
    }
    let fd = fd as libc::c_int;
    let result = if alive(proc, t) {
        // SAFETY: fd is our open pidfd; a null siginfo is allowed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        let err = std::io::Error::last_os_error();
        if rc == 0 || err.raw_os_error() == Some(libc::ESRCH) {
            Ok(())
        } else {
            Err(format!("cannot send {signal} to {}: {err}", t.pid))
        }
    } else {
        Ok(())
    };
    // SAFETY: fd is ours and closed once.
    unsafe { libc::close(fd) };
    result
}

/// Those of `targets` still alive after waiting up to `limit`.
pub fn wait_gone(proc: &ProcFs, targets: &[Target], limit: Duration) -> Vec<Target> {
    let start = Instant::now();
    loop {
        let left: Vec<Target> = targets.iter().filter(|t| alive(proc, t)).cloned().collect();
        if left.is_empty() || start.elapsed() >= limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// TERM, then KILL what is left after `grace`; returns the survivors.
pub fn terminate(
    proc: &ProcFs,
    targets: &[Target],
    grace: Duration,
    journal: &mut Journal,
) -> Vec<Target> {
    let mut left = targets.to_vec();
    for (signal, wait) in [
        (Signal::SIGTERM, grace),
        (Signal::SIGKILL, Duration::from_secs(3)),
    ] {
        left.retain(|t| alive(proc, t));
        if left.is_empty() {
            break;
        }
        for t in &left {
            match send(proc, t, signal) {
                Ok(()) => journal.notice(format!("sent {signal} to {t}")),
                Err(e) => journal.error(e),
            }
        }
        left = wait_gone(proc, &left, wait);
    }
    left
}

/// What [`end`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// There were none (or they left by themselves).
    Nothing,
    /// A dry run: these were listed, not signalled.
    Listed(usize),
    /// This many were ended.
    All(usize),
    /// These survived SIGKILL.
    Survivors(Vec<Target>),
}

/// Ends the service's leftover processes: the notes of [`find`] and every
/// signal go to the journal; what the stop left first gets up to 2 s of
/// `grace` to exit by itself, then [`terminate`]. A dry run lists them.
pub fn end(
    proc: &ProcFs,
    selector: &Selector,
    grace: Duration,
    dry_run: bool,
    journal: &mut Journal,
) -> Ended {
    let (found, notes) = find(proc, selector);
    for note in notes {
        journal.info(note);
    }
    let found = wait_gone(proc, &found, grace.min(Duration::from_secs(2)));
    if found.is_empty() {
        return Ended::Nothing;
    }
    if dry_run {
        for t in &found {
            journal.notice(format!("would end leftover {t}"));
        }
        return Ended::Listed(found.len());
    }
    let survivors = terminate(proc, &found, grace, journal);
    if survivors.is_empty() {
        Ended::All(found.len())
    } else {
        Ended::Survivors(survivors)
    }
}

/// `pid 12 (vsftpd), pid 13 (vsftpd)`.
pub fn list(targets: &[Target]) -> String {
    targets
        .iter()
        .map(Target::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn proc() -> ProcFs {
        ProcFs::new("/proc")
    }

    #[test]
    fn we_and_our_ancestors_are_protected() {
        let keep = protected(&proc());
        assert!(keep.contains(&1));
        assert!(keep.contains(&std::process::id()));
        assert!(keep.contains(&std::os::unix::process::parent_id()));
    }

    /// A `sleep 30` child, a pid file naming it (in the returned directory)
    /// and a selector by that pid file.
    fn sleeper_with_pidfile() -> (tempfile::TempDir, std::process::Child, Selector) {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pidfile = dir.path().join("x.pid");
        std::fs::write(&pidfile, format!("{}\n", child.id())).unwrap();
        let selector = Selector {
            pidfile: Some(pidfile),
            ..Selector::default()
        };
        (dir, child, selector)
    }

    #[test]
    fn a_pidfile_process_is_found_and_ended() {
        let (_dir, mut child, selector) = sleeper_with_pidfile();
        let (found, notes) = find(&proc(), &selector);
        assert_eq!(found.len(), 1, "{found:?} {notes:?}");
        assert_eq!(found[0].pid, child.id());
        assert_eq!(found[0].why, "pid file");
        let mut journal = Journal::new("test", "x");
        let survivors = terminate(&proc(), &found, Duration::from_secs(2), &mut journal);
        let _ = child.wait();
        assert!(survivors.is_empty());
        assert!(journal.lines()[0].starts_with("sent SIGTERM to "));
    }

    #[test]
    fn end_lists_in_a_dry_run_and_ends_otherwise() {
        let (_dir, mut child, selector) = sleeper_with_pidfile();
        let mut journal = Journal::new("test", "x");
        let dry = end(&proc(), &selector, Duration::ZERO, true, &mut journal);
        assert_eq!(dry, Ended::Listed(1));
        assert!(child.try_wait().unwrap().is_none(), "a dry run signalled");
        let ended = end(
            &proc(),
            &selector,
            Duration::from_secs(1),
            false,
            &mut journal,
        );
        let _ = child.wait();
        assert_eq!(ended, Ended::All(1), "{:?}", journal.lines());
        std::fs::remove_file(selector.pidfile.as_ref().unwrap()).unwrap();
        let none = end(&proc(), &selector, Duration::ZERO, false, &mut journal);
        assert_eq!(none, Ended::Nothing);
        assert_eq!(list(&[]), "");
    }

    #[test]
    fn a_stale_pidfile_naming_another_program_is_not_believed() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("x.pid");
        // Our own parent: protected anyway; use a child running another program.
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        std::fs::write(&pidfile, child.id().to_string()).unwrap();
        let selector = Selector {
            pidfile: Some(pidfile),
            exe: Some(PathBuf::from("/usr/sbin/vsftpd")),
            uid: None,
            cgroup: None,
        };
        let (found, notes) = find(&proc(), &selector);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.is_empty());
        assert!(
            notes[0].contains("which does not run /usr/sbin/vsftpd"),
            "{notes:?}"
        );
    }

    #[test]
    fn a_missing_pidfile_is_no_leftover() {
        let selector = Selector {
            pidfile: Some(PathBuf::from("/nonexistent/x.pid")),
            ..Selector::default()
        };
        let (found, notes) = find(&proc(), &selector);
        assert!(found.is_empty() && notes.is_empty(), "{notes:?}");
        assert_eq!(read_pidfile(Path::new("/nonexistent/x.pid")), Ok(None));
        // A directory in its place is a problem worth a note, not a missing file.
        assert!(read_pidfile(Path::new("/")).is_err());
    }

    #[test]
    fn a_pidfile_naming_us_or_init_selects_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("x.pid");
        std::fs::write(&pidfile, std::process::id().to_string()).unwrap();
        let selector = Selector {
            pidfile: Some(pidfile.clone()),
            ..Selector::default()
        };
        assert!(find(&proc(), &selector).0.is_empty());
        std::fs::write(&pidfile, "1").unwrap();
        assert!(find(&proc(), &selector).0.is_empty());
    }
}
