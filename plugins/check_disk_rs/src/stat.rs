//! File system calls that may hang (statvfs and path lookups on a stale NFS
//! mount), run on a worker thread with a deadline: one worker while calls
//! answer, a fresh one for the rest when a call stalls.

use std::collections::VecDeque;
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

/// A call that may hang.
pub type Job<T> = Box<dyn FnOnce() -> T + Send + 'static>;

/// How long a worker may be silent before the jobs still queued go to a
/// fresh worker: a call blocked in the kernel (a stale NFS mount) cannot be
/// cancelled, but it holds up only itself.
const STALL: Duration = Duration::from_millis(100);

type Queue<T> = Arc<Mutex<VecDeque<(usize, Job<T>)>>>;

/// Takes jobs from the queue until it is empty, reporting each answer.
fn work<T>(queue: &Queue<T>, tx: &mpsc::Sender<(usize, T)>) {
    // The time-out signal must reach the main thread, not one stuck here.
    rsplugins::alarm::block_in_this_thread();
    loop {
        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some((index, job)) = next else { return };
        // The receiver is gone once the deadline passed: nothing to tell.
        if tx.send((index, job())).is_err() {
            return;
        }
    }
}

/// Runs the jobs on one worker thread and collects what answered by
/// `deadline`. When the worker stays silent for [`STALL`] while jobs wait,
/// a fresh worker takes them over; a job still running at the deadline is
/// `None` and left behind (the process exit ends its thread). The common
/// case, calls that answer at once, costs one thread whatever the number
/// of mounts.
pub fn run_with_deadline<T: Send + 'static>(
    jobs: Vec<Job<T>>,
    deadline: Instant,
) -> Vec<Option<T>> {
    let total = jobs.len();
    let mut results: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    if total == 0 {
        return results;
    }
    let queue: Queue<T> = Arc::new(Mutex::new(jobs.into_iter().enumerate().collect()));
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    let mut workers = 0usize;
    let spawn = |workers: &mut usize| -> bool {
        let (queue, tx) = (Arc::clone(&queue), tx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("fs-{workers}"))
            .stack_size(256 * 1024)
            .spawn(move || work(&queue, &tx))
            .is_ok();
        *workers += usize::from(spawned);
        spawned
    };
    if !spawn(&mut workers) {
        // No thread at all: answer here, without the deadline's protection.
        while let Some((index, job)) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
            results[index] = Some(job());
        }
        return results;
    }
    let mut received = 0;
    let mut progress = Instant::now();
    while received < total {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let wait = (progress + STALL)
            .saturating_duration_since(now)
            .min(deadline - now)
            .max(Duration::from_millis(1));
        match rx.recv_timeout(wait) {
            Ok((index, value)) => {
                results[index] = Some(value);
                received += 1;
                progress = Instant::now();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let waiting = queue.lock().map(|q| !q.is_empty()).unwrap_or(false);
                if waiting && progress.elapsed() >= STALL {
                    spawn(&mut workers);
                    progress = Instant::now();
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
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
    fn answering_jobs_share_one_worker() {
        let jobs: Vec<Job<String>> = (0..50)
            .map(|_| -> Job<String> {
                Box::new(|| std::thread::current().name().unwrap_or("").to_string())
            })
            .collect();
        let results = run_with_deadline(jobs, Instant::now() + Duration::from_secs(10));
        assert!(
            results.iter().all(|r| r.as_deref() == Some("fs-0")),
            "{results:?}"
        );
    }

    #[test]
    fn every_hung_job_gets_a_worker_of_its_own_and_the_rest_still_answer() {
        let start = Instant::now();
        let hang = || -> Job<u32> {
            Box::new(|| {
                std::thread::sleep(Duration::from_secs(3600));
                0
            })
        };
        let jobs: Vec<Job<u32>> = vec![hang(), hang(), Box::new(|| 7), hang(), Box::new(|| 9)];
        let results = run_with_deadline(jobs, start + Duration::from_millis(900));
        assert_eq!(results, vec![None, None, Some(7), None, Some(9)]);
        assert!(start.elapsed() < Duration::from_secs(2));
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
