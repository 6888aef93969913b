//! File system calls that may hang (statvfs and path lookups on a stale NFS
//! mount), run each in a thread of its own with a deadline.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::limits::FsStats;

/// The calls the check makes on file systems; tests substitute their own.
pub trait FsAccess: Send + Sync {
    /// statvfs(2) of a path.
    fn statvfs(&self, path: &Path) -> io::Result<FsStats>;

    /// The absolute path with symbolic links resolved.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The real system.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemFs;

impl FsAccess for SystemFs {
    // The field types are u32 on some 32-bit targets: keep the conversions.
    #[allow(clippy::useless_conversion)]
    fn statvfs(&self, path: &Path) -> io::Result<FsStats> {
        let s = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
        let fragment = u64::from(s.fragment_size());
        Ok(FsStats {
            fragment_size: if fragment > 0 {
                fragment
            } else {
                u64::from(s.block_size())
            },
            blocks: u64::from(s.blocks()),
            blocks_free: u64::from(s.blocks_free()),
            blocks_available: u64::from(s.blocks_available()),
            files: u64::from(s.files()),
            files_free: u64::from(s.files_free()),
        })
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// The text of an I/O error without Rust's "(os error N)" suffix, as C prints it.
pub fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}

/// When file system calls must have answered: the `-t` budget less a margin
/// (a fifth, at most one second) left for reporting before the runner's
/// time-out fires.
pub fn deadline(start: Instant, budget: Duration) -> Instant {
    let margin = (budget / 5).min(Duration::from_secs(1));
    start + (budget - margin)
}

/// A call to run in its own thread.
pub type Job<T> = Box<dyn FnOnce() -> T + Send + 'static>;

/// Runs every job in its own thread and collects what answered by
/// `deadline`; a job still running then is `None` and left behind (a thread
/// blocked in the kernel cannot be cancelled; the process exit ends it).
pub fn run_with_deadline<T: Send + 'static>(
    jobs: Vec<Job<T>>,
    deadline: Instant,
) -> Vec<Option<T>> {
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    let mut results: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    let mut pending = 0usize;
    for (index, job) in jobs.into_iter().enumerate() {
        // The job waits in a slot so it can still run here if no thread starts.
        let slot = Arc::new(Mutex::new(Some(job)));
        let in_thread = Arc::clone(&slot);
        let tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("fs-{index}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                let job = in_thread.lock().ok().and_then(|mut s| s.take());
                if let Some(job) = job {
                    // The receiver is gone once the deadline passed: nothing to tell.
                    let _ = tx.send((index, job()));
                }
            });
        if spawned.is_ok() {
            pending += 1;
        } else {
            let job = slot.lock().ok().and_then(|mut s| s.take());
            if let Some(job) = job {
                results[index] = Some(job());
            }
        }
    }
    drop(tx);
    while pending > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((index, value)) => {
                results[index] = Some(value);
                pending -= 1;
            }
            Err(_) => break,
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_leaves_a_margin() {
        let now = Instant::now();
        assert_eq!(
            deadline(now, Duration::from_secs(10)),
            now + Duration::from_secs(9)
        );
        assert_eq!(
            deadline(now, Duration::from_secs(1)),
            now + Duration::from_millis(800)
        );
    }

    #[test]
    fn a_blocking_job_does_not_hold_up_the_others() {
        let start = Instant::now();
        let jobs: Vec<Job<u32>> = vec![
            Box::new(|| 1),
            Box::new(|| {
                std::thread::sleep(Duration::from_secs(3600));
                2
            }),
            Box::new(|| {
                std::thread::sleep(Duration::from_millis(20));
                3
            }),
        ];
        let results = run_with_deadline(jobs, start + Duration::from_millis(300));
        assert_eq!(results, vec![Some(1), None, Some(3)]);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn no_jobs_no_wait() {
        let results = run_with_deadline::<u8>(Vec::new(), Instant::now() + Duration::from_secs(60));
        assert!(results.is_empty());
    }

    #[test]
    fn system_statvfs_and_errors() {
        let root = SystemFs.statvfs(Path::new("/")).unwrap();
        assert!(root.fragment_size > 0 && root.blocks > 0);
        let err = SystemFs
            .statvfs(Path::new("/nonexistent/check_disk_rs"))
            .unwrap_err();
        assert_eq!(describe(&err), "No such file or directory");
        assert_eq!(describe(&io::Error::other("plain")), "plain");
    }
}
