//! Reading the process table fast: /proc/PID/stat of every process,
//! /proc/PID/status (user ids, locked memory) and the command line only where
//! a filter or `-v` needs them.
//!
//! 10,000 processes are read in well under 50 ms: each file costs one
//! `openat` relative to the root, one `read` into a reused buffer and one
//! `close` (the library's `ProcFs::process` also stats the file and the
//! directory), and large tables are split over the CPUs.

use std::fs;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{close, read};
use rsplugins::procfs::{
    clock_ticks, page_size, parse_stat, parse_status, split_cmdline, ProcFs, Process,
};
use rsplugins::CheckError;

use crate::filter::{Filter, Sys};

/// What was read from the system.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcData {
    /// Uptime, clock ticks and page size.
    pub sys: Sys,
    /// The plugin's own process id in this /proc tree (none in a fixture).
    pub self_pid: Option<u32>,
    /// Its parent (the engine's `sh -c` wrapper, say).
    pub parent_pid: Option<u32>,
    /// Every process, sorted by id. `uid` (effective) and `locked_kb` are
    /// read only when a filter needs them ([`Filter::needs_status`]) and only
    /// for processes passing the filters on stat, `cmdline` only when a
    /// filter or the listing needs it.
    pub processes: Vec<Process>,
}

impl ProcData {
    /// Whether `p` is the plugin itself, its parent or its child: never counted.
    pub fn is_own(&self, p: &Process) -> bool {
        let own = |pid: Option<u32>| pid == Some(p.pid);
        own(self.self_pid) || own(self.parent_pid) || self.self_pid == Some(p.ppid)
    }
}

/// The plugin's process id as the /proc tree names it (`self` link), and its
/// parent's. A fixture without `self` has neither.
fn own_ids(proc: &ProcFs) -> (Option<u32>, Option<u32>) {
    let self_pid = fs::read_link(proc.root().join("self"))
        .ok()
        .and_then(|target| target.to_str().and_then(|t| t.parse::<u32>().ok()));
    let parent_pid = match self_pid {
        Some(pid) if pid == std::process::id() => Some(std::os::unix::process::parent_id()),
        Some(pid) => proc.process(pid, false).ok().map(|p| p.ppid),
        None => None,
    };
    (self_pid, parent_pid)
}

/// A file descriptor closed when dropped.
struct Fd(RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = close(self.0);
    }
}

/// Reads `path` (relative to `dir`) into `buf` and returns how many bytes it
/// holds (the buffer keeps its size, so it is zeroed only when it grows).
///
/// A short read ends the file: regular files and these /proc files return
/// all they have up to the size asked for, which saves a `read` per file.
fn read_at(dir: RawFd, path: &str, buf: &mut Vec<u8>) -> nix::Result<usize> {
    let fd = Fd(openat(
        Some(dir),
        path,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
        Mode::empty(),
    )?);
    if buf.len() < 4096 {
        buf.resize(4096, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let want = buf.len() - len;
        let n = match read(fd.0, &mut buf[len..]) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        };
        len += n;
        if n < want {
            break;
        }
    }
    Ok(len)
}

/// What one reader thread needs to know.
struct Job<'a> {
    dir: RawFd,
    root: &'a ProcFs,
    filter: &'a Filter,
    sys: Sys,
    verbose: bool,
}

/// Reads the processes `pids`; those gone meanwhile are skipped.
fn read_chunk(job: &Job, pids: &[u32]) -> Result<Vec<Process>, CheckError> {
    let want_status = job.filter.needs_status();
    // `-a` alone: the command line decides; a process that cannot match is
    // left out without reading its stat (half the files of a run).
    let arguments_first = job.filter.on_arguments_only();
    let mut buf = Vec::new();
    let mut path = String::with_capacity(32);
    let mut out = Vec::with_capacity(pids.len());
    let mut cmdline = None;
    for &pid in pids {
        path.clear();
        path.push_str(&pid.to_string());
        if arguments_first {
            path.push_str("/cmdline");
            // Unreadable (gone, or hidden by hidepid): the stat read below decides.
            let words = match read_at(job.dir, &path, &mut buf) {
                Ok(len) => split_cmdline(&buf[..len]),
                Err(_) => Vec::new(),
            };
            // Without arguments (a kernel thread, a zombie) ps shows [comm]: the stat decides.
            if !words.is_empty() && !job.filter.matches_arguments(&words.join(" ")) {
                continue;
            }
            cmdline = Some(words);
            path.truncate(path.len() - "cmdline".len() - 1);
        }
        path.push_str("/stat");
        let len = match read_at(job.dir, &path, &mut buf) {
            Ok(len) if len > 0 => len,
            // Exited while being read (ENOENT, ESRCH; or opened, then an
            // empty read once the task is gone) or not readable.
            _ => continue,
        };
        let mut p = match parse_stat(&buf[..len]) {
            Some(p) => p,
            // A task caught in the middle of exiting can show a half-made line (seen once
            // under the engine suite): read it again; gone then is gone, still malformed is
            // a real problem, named with what it says.
            None => match read_at(job.dir, &path, &mut buf) {
                Ok(len) if len > 0 => parse_stat(&buf[..len]).ok_or_else(|| {
                    CheckError::unknown(format!(
                        "unexpected format in {}: malformed stat line '{}'",
                        job.root.root().join(&path).display(),
                        String::from_utf8_lossy(&buf[..len.min(120)]).trim_end()
                    ))
                })?,
                _ => continue,
            },
        };
        let candidate = job.filter.matches_stat_fields(&p, &job.sys);
        // The others fail the filter whatever their status says.
        if want_status && candidate {
            // Not the owner of /proc/PID: that is root for a daemon that
            // dropped privileges (not dumpable). ps takes status's uids.
            path.truncate(path.len() - "stat".len());
            path.push_str("status");
            let len = match read_at(job.dir, &path, &mut buf) {
                Ok(len) if len > 0 => len,
                // Exited in between (an error, or an empty read).
                _ => continue,
            };
            let status = parse_status(&buf[..len]).ok_or_else(|| {
                CheckError::unknown(format!(
                    "unexpected format in {}: no valid Uid line",
                    job.root.root().join(&path).display()
                ))
            })?;
            p.uid = status.effective_uid;
            p.locked_kb = status.locked_kb;
            path.truncate(path.len() - "status".len());
            path.push_str("stat");
        }
        if let Some(words) = cmdline.take() {
            p.cmdline = words;
        } else if candidate
            && job.filter.matches_status(&p)
            && (job.verbose || job.filter.needs_cmdline(&p))
        {
            path.truncate(path.len() - "stat".len());
            path.push_str("cmdline");
            // A process gone in between keeps its stat data; no cmdline then.
            if let Ok(len) = read_at(job.dir, &path, &mut buf) {
                p.cmdline = split_cmdline(&buf[..len]);
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// Below this many processes one thread reads them all.
const PARALLEL_FROM: usize = 2000;

/// Reads every process; the command line only of those that pass the cheap
/// filters and need it (or of all passing ones with `verbose`, for the listing).
pub fn acquire(proc: &ProcFs, filter: &Filter, verbose: bool) -> Result<ProcData, CheckError> {
    let sys = Sys {
        uptime: proc.uptime()?,
        ticks_per_second: clock_ticks(),
        page_size: page_size(),
    };
    let (self_pid, parent_pid) = own_ids(proc);
    let pids = proc.pids()?;
    if pids.is_empty() {
        return Err(CheckError::unknown(format!(
            "no processes found in {}",
            proc.root().display()
        )));
    }
    let dir = Fd(openat(
        None,
        proc.root(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CheckError::unknown(format!("cannot read {}: {e}", proc.root().display())))?);
    let job = Job {
        dir: dir.0,
        root: proc,
        filter,
        sys,
        verbose,
    };

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    let processes = if threads < 2 || pids.len() < PARALLEL_FROM {
        read_chunk(&job, &pids)?
    } else {
        let size = pids.len().div_ceil(threads);
        let parts: Vec<Result<Vec<Process>, CheckError>> = std::thread::scope(|s| {
            let handles: Vec<_> = pids
                .chunks(size)
                .map(|chunk| {
                    let job = &job;
                    s.spawn(move || read_chunk(job, chunk))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(CheckError::unknown("a process reader thread failed"))
                    })
                })
                .collect()
        });
        let mut all = Vec::with_capacity(pids.len());
        for part in parts {
            all.extend(part?);
        }
        all
    };
    Ok(ProcData {
        sys,
        self_pid,
        parent_pid,
        processes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(count: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("uptime"), "1000.00 0.00\n").unwrap();
        for pid in 1..=count {
            let d = dir.path().join(pid.to_string());
            fs::create_dir(&d).unwrap();
            fs::write(
                d.join("stat"),
                format!(
                    "{pid} (proc{pid}) S 1 0 0 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 {pid} 4096 1 0\n"
                ),
            )
            .unwrap();
            // The first ones longer than the first buffer: read in several steps.
            let long = "x".repeat(if pid <= 3 { pid as usize * 3000 } else { 1 });
            fs::write(d.join("cmdline"), format!("/bin/proc{pid}\0{long}\0")).unwrap();
        }
        dir
    }

    #[test]
    fn reads_a_fixture_in_one_or_many_threads() {
        for count in [3, PARALLEL_FROM as u32 + 1] {
            let dir = fixture(count);
            let proc = ProcFs::new(dir.path());
            let data = acquire(&proc, &Filter::default(), false).unwrap();
            assert_eq!(data.processes.len(), count as usize);
            assert_eq!(data.self_pid, None);
            let pids: Vec<u32> = data.processes.iter().map(|p| p.pid).collect();
            assert_eq!(pids, (1..=count).collect::<Vec<_>>());
            assert!(data.processes.iter().all(|p| p.cmdline.is_empty()));
            assert_eq!(data.sys.uptime, 1000.0);
        }
        let dir = fixture(3);
        let proc = ProcFs::new(dir.path());
        let data = acquire(&proc, &Filter::default(), true).unwrap();
        let expected = proc.processes(true).unwrap();
        assert_eq!(data.processes.len(), 3);
        for (ours, lib) in data.processes.iter().zip(&expected) {
            assert_eq!(ours.cmdline, lib.cmdline);
            assert_eq!(ours.cmdline[1].len(), ours.pid as usize * 3000);
            assert_eq!(ours.comm, lib.comm);
            assert_eq!(ours.start_ticks, lib.start_ticks);
        }
    }

    #[test]
    fn status_is_read_only_when_needed() {
        let dir = fixture(3);
        // Process 1 runs as 108 (started by root), 2 is gone before its
        // status is read, 3 has locked pages.
        fs::write(
            dir.path().join("1/status"),
            "Name:\tproc1\nUid:\t0\t108\t108\t108\nVmLck:\t0 kB\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("3/status"),
            "Name:\tproc3\nUid:\t0\t0\t0\t0\nVmLck:\t  64 kB\n",
        )
        .unwrap();
        let proc = ProcFs::new(dir.path());
        let data = acquire(&proc, &Filter::default(), false).unwrap();
        assert_eq!(data.processes.len(), 3);
        assert!(data
            .processes
            .iter()
            .all(|p| p.uid == 0 && p.locked_kb == 0));
        let filter = Filter {
            uid: Some(108),
            ..Filter::default()
        };
        assert!(filter.needs_status());
        let data = acquire(&proc, &filter, false).unwrap();
        let read: Vec<(u32, u32, u64)> = data
            .processes
            .iter()
            .map(|p| (p.pid, p.uid, p.locked_kb))
            .collect();
        assert_eq!(read, [(1, 108, 0), (3, 0, 64)]);
        let filter = Filter {
            states: Some("L".into()),
            ..Filter::default()
        };
        assert!(filter.needs_status());
        assert_eq!(acquire(&proc, &filter, false).unwrap().processes.len(), 2);
        fs::write(dir.path().join("3/status"), "Name:\tproc3\n").unwrap();
        let err = acquire(&proc, &filter, false).unwrap_err();
        assert!(
            err.message.ends_with("/3/status: no valid Uid line"),
            "{}",
            err.message
        );
        // Status is not read where the stat filters already decided.
        let filter = Filter {
            uid: Some(0),
            ppid: Some(99),
            ..Filter::default()
        };
        let data = acquire(&proc, &filter, false).unwrap();
        assert_eq!(data.processes.len(), 3);
    }

    #[test]
    fn empty_or_missing_trees_are_unknown() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("uptime"), "1000.00 0.00\n").unwrap();
        let err = acquire(&ProcFs::new(dir.path()), &Filter::default(), false).unwrap_err();
        assert!(
            err.message.starts_with("no processes found in "),
            "{}",
            err.message
        );
        let err = acquire(
            &ProcFs::new("/nonexistent-rsplugins"),
            &Filter::default(),
            false,
        )
        .unwrap_err();
        assert!(err.message.contains("uptime"), "{}", err.message);
        fs::create_dir(dir.path().join("5")).unwrap();
        fs::write(dir.path().join("5/stat"), "5 (x) S\n").unwrap();
        let err = acquire(&ProcFs::new(dir.path()), &Filter::default(), false).unwrap_err();
        assert!(
            err.message.contains("malformed stat line"),
            "{}",
            err.message
        );
        // An empty stat is a process that exited between open and read:
        // skipped, not a malformed line.
        fs::write(dir.path().join("5/stat"), "").unwrap();
        let data = acquire(&ProcFs::new(dir.path()), &Filter::default(), false).unwrap();
        assert!(data.processes.is_empty(), "{:?}", data.processes);
    }

    #[test]
    fn real_proc_matches_the_library() {
        let proc = ProcFs::default();
        let filter = Filter {
            uid: Some(nix::unistd::geteuid().as_raw()),
            ..Filter::default()
        };
        let data = acquire(&proc, &filter, true).unwrap();
        assert_eq!(data.self_pid, Some(std::process::id()));
        assert_eq!(data.parent_pid, Some(std::os::unix::process::parent_id()));
        let me = data
            .processes
            .iter()
            .find(|p| p.pid == std::process::id())
            .unwrap();
        let lib = proc.process(std::process::id(), true).unwrap();
        assert_eq!(me.uid, lib.uid);
        assert_eq!(me.cmdline, lib.cmdline);
        assert_eq!(me.comm, lib.comm);
        assert_eq!(me.ppid, lib.ppid);
        assert!(data.is_own(me));
    }
}
