//! Readers for the kernel's own files under `/proc`, with an injectable root
//! so plugins are tested on fixtures. No external program is ever run.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Why a /proc file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcError {
    /// The file could not be read.
    Io { path: String, reason: String },
    /// The file did not have the expected format.
    Parse { path: String, reason: String },
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcError::Io { path, reason } => write!(f, "cannot read {path}: {reason}"),
            ProcError::Parse { path, reason } => write!(f, "unexpected format in {path}: {reason}"),
        }
    }
}

impl std::error::Error for ProcError {}

/// The three load averages of /proc/loadavg.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAvg {
    /// 1-minute average.
    pub one: f64,
    /// 5-minute average.
    pub five: f64,
    /// 15-minute average.
    pub fifteen: f64,
}

/// The bytes of a /proc (or /sys) file. Those report a size of 0, so a
/// plain `fs::read` starts with a tiny buffer and doubles it read after
/// read; this reads into 16 KiB at once (one read for most files).
pub fn read_pseudo(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(16 * 1024);
    fs::File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// One process, from /proc/PID/stat (and cmdline when asked).
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Kernel command name (at most 15 characters).
    pub comm: String,
    /// State letter (R, S, D, Z, T, t, I, X...).
    pub state: char,
    /// Effective user id, from /proc/PID/status as ps takes it (not the owner
    /// of /proc/PID, which is root for a daemon that dropped privileges).
    pub uid: u32,
    /// Kernel flags (PF_KTHREAD marks kernel threads).
    pub flags: u64,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    /// Virtual size in bytes.
    pub vsize: u64,
    /// Resident pages.
    pub rss_pages: u64,
    /// Number of threads.
    pub threads: u64,
    /// Command line arguments (empty for kernel threads and zombies, or when not read).
    pub cmdline: Vec<String>,
    /// Process group id.
    pub pgrp: u32,
    /// Session id.
    pub session: u32,
    /// Foreground process group of the controlling terminal (-1 without one).
    pub tpgid: i64,
    /// Nice value (-20 to 19).
    pub nice: i64,
    /// Locked memory in kB (VmLck of /proc/PID/status; 0 when status was not read).
    pub locked_kb: u64,
}

/// The ps STAT letters that [`Process::ps_stat`] can give: kernel states
/// (W is paging on kernels before 2.6, P parked), then procps's modifiers.
pub const PS_STAT_LETTERS: &str = "RSDTtZXIPW<NLsl+";

const PF_KTHREAD: u64 = 0x0020_0000;

impl Process {
    /// Whether this is a kernel thread (kthreadd or one of its children).
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0 || self.pid == 2 || self.ppid == 2
    }

    /// The program name: comm, unless the command line shows a longer name
    /// that comm is the kernel's 15-character cut of.
    pub fn name(&self) -> String {
        if let Some(first) = self.cmdline.first() {
            let base = first.rsplit('/').next().unwrap_or(first);
            if base.len() > self.comm.len() && base.starts_with(&self.comm) && self.comm.len() >= 15
            {
                return base.to_string();
            }
        }
        self.comm.clone()
    }

    /// Seconds since the process started, given the system uptime.
    pub fn elapsed_seconds(&self, uptime: f64, ticks_per_second: f64) -> f64 {
        (uptime - self.start_ticks as f64 / ticks_per_second).max(0.0)
    }

    /// CPU use as `ps` shows it: CPU time over the process's lifetime, in percent.
    pub fn cpu_percent(&self, uptime: f64, ticks_per_second: f64) -> f64 {
        let elapsed = self.elapsed_seconds(uptime, ticks_per_second);
        if elapsed <= 0.0 {
            return 0.0;
        }
        self.cpu_ticks as f64 / ticks_per_second / elapsed * 100.0
    }

    /// The STAT column of ps, built as procps does: the state letter, then
    /// `<` (nice below 0) or `N` (above 0), `L` (locked pages, needs
    /// `locked_kb` from the status file), `s` (session leader), `l`
    /// (multi-threaded) and `+` (in the terminal's foreground process group).
    pub fn ps_stat(&self) -> String {
        let mut stat = String::with_capacity(6);
        stat.push(self.state);
        if self.nice < 0 {
            stat.push('<');
        } else if self.nice > 0 {
            stat.push('N');
        }
        if self.locked_kb > 0 {
            stat.push('L');
        }
        if self.session == self.pid {
            stat.push('s');
        }
        if self.threads > 1 {
            stat.push('l');
        }
        if i64::from(self.pgrp) == self.tpgid {
            stat.push('+');
        }
        stat
    }

    /// The arguments joined by spaces, or `[comm]` when there are none (as ps shows).
    pub fn args(&self) -> String {
        if self.cmdline.is_empty() {
            format!("[{}]", self.comm)
        } else {
            self.cmdline.join(" ")
        }
    }
}

/// What ps takes from /proc/PID/status: user ids and locked memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Real user id (ps `ruid`, selected by `ps -U`).
    pub real_uid: u32,
    /// Effective user id (ps `uid`/`euid`, selected by `ps -u`). Unlike the
    /// owner of /proc/PID, right for daemons that dropped privileges.
    pub effective_uid: u32,
    /// VmLck in kB (0 for kernel threads, which have no such line).
    pub locked_kb: u64,
}

/// Sizes and counters of /proc/meminfo, in bytes.
pub type MemInfo = HashMap<String, u64>;

/// One line of /proc/swaps.
#[derive(Debug, Clone, PartialEq)]
pub struct SwapDevice {
    /// Device or file name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Used bytes.
    pub used: u64,
}

/// The /proc tree, at `/proc` or at a fixture's root.
#[derive(Debug, Clone)]
pub struct ProcFs {
    root: PathBuf,
}

impl Default for ProcFs {
    fn default() -> Self {
        ProcFs::new("/proc")
    }
}

impl ProcFs {
    /// A reader rooted at `root` (normally `/proc`).
    pub fn new(root: impl Into<PathBuf>) -> ProcFs {
        ProcFs { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a file below the root.
    pub fn read(&self, relative: &str) -> Result<String, ProcError> {
        let path = self.root.join(relative);
        read_pseudo(&path)
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            })
            .map_err(|e| ProcError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
    }

    fn parse_error(&self, relative: &str, reason: impl Into<String>) -> ProcError {
        ProcError::Parse {
            path: self.root.join(relative).display().to_string(),
            reason: reason.into(),
        }
    }

    /// The load averages.
    pub fn loadavg(&self) -> Result<LoadAvg, ProcError> {
        self.loadavg_line().map(|(load, _)| load)
    }

    /// The load averages and the /proc/loadavg line they were read from
    /// (without its newline), for plugins that show it.
    pub fn loadavg_line(&self) -> Result<(LoadAvg, String), ProcError> {
        let text = self.read("loadavg")?;
        let line = text.lines().next().unwrap_or_default().to_string();
        let values: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| self.parse_error("loadavg", format!("'{v}' is not a number")))
            })
            .collect::<Result<_, _>>()?;
        match values[..] {
            [one, five, fifteen] => Ok((LoadAvg { one, five, fifteen }, line)),
            _ => Err(self.parse_error("loadavg", "fewer than three values")),
        }
    }

    /// Online CPUs: the `cpuN` lines of /proc/stat.
    pub fn cpu_count(&self) -> Result<usize, ProcError> {
        let text = self.read("stat")?;
        let count = text
            .lines()
            .filter(|l| {
                l.strip_prefix("cpu")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        if count == 0 {
            return Err(self.parse_error("stat", "no cpuN lines"));
        }
        Ok(count)
    }

    /// Seconds since boot.
    pub fn uptime(&self) -> Result<f64, ProcError> {
        let text = self.read("uptime")?;
        text.split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| self.parse_error("uptime", "no uptime value"))
    }

    /// The ids of all processes.
    pub fn pids(&self) -> Result<Vec<u32>, ProcError> {
        let entries = fs::read_dir(&self.root).map_err(|e| ProcError::Io {
            path: self.root.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut pids: Vec<u32> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// One process (stat and status); `with_cmdline` also reads its arguments.
    ///
    /// A process that exits while being read gives an `Io` error: callers
    /// listing processes skip those.
    pub fn process(&self, pid: u32, with_cmdline: bool) -> Result<Process, ProcError> {
        let stat_rel = format!("{pid}/stat");
        let text = self.read(&stat_rel)?;
        let mut process = parse_stat(text.as_bytes())
            .ok_or_else(|| self.parse_error(&stat_rel, "malformed stat line"))?;
        let status = self.status(pid)?;
        process.uid = status.effective_uid;
        process.locked_kb = status.locked_kb;
        let dir = self.root.join(pid.to_string());
        if with_cmdline {
            let path = dir.join("cmdline");
            // A process gone in between keeps its stat data; no cmdline then.
            if let Ok(bytes) = fs::read(&path) {
                process.cmdline = split_cmdline(&bytes);
            }
        }
        Ok(process)
    }

    /// /proc/PID/status: user ids and locked memory.
    pub fn status(&self, pid: u32) -> Result<Status, ProcError> {
        let relative = format!("{pid}/status");
        let path = self.root.join(&relative);
        let bytes = fs::read(&path).map_err(|e| ProcError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        parse_status(&bytes).ok_or_else(|| self.parse_error(&relative, "no valid Uid line"))
    }

    /// All processes that could be read (those exiting meanwhile are skipped).
    pub fn processes(&self, with_cmdline: bool) -> Result<Vec<Process>, ProcError> {
        let pids = self.pids()?;
        let mut out = Vec::with_capacity(pids.len());
        for pid in pids {
            match self.process(pid, with_cmdline) {
                Ok(p) => out.push(p),
                Err(ProcError::Io { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// /proc/meminfo, values converted to bytes.
    pub fn meminfo(&self) -> Result<MemInfo, ProcError> {
        let text = self.read("meminfo")?;
        let mut info = MemInfo::new();
        for line in text.lines() {
            let Some((key, rest)) = line.split_once(':') else {
                continue;
            };
            let mut parts = rest.split_whitespace();
            let Some(Ok(value)) = parts.next().map(str::parse::<u64>) else {
                continue;
            };
            let bytes = match parts.next() {
                Some("kB") => value.saturating_mul(1024),
                _ => value,
            };
            info.insert(key.trim().to_string(), bytes);
        }
        if info.is_empty() {
            return Err(self.parse_error("meminfo", "no values"));
        }
        Ok(info)
    }

    /// /proc/swaps, sizes in bytes.
    pub fn swaps(&self) -> Result<Vec<SwapDevice>, ProcError> {
        let text = self.read("swaps")?;
        let mut out = Vec::new();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 4 {
                continue;
            }
            let size = fields[2].parse::<u64>();
            let used = fields[3].parse::<u64>();
            match (size, used) {
                (Ok(size), Ok(used)) => out.push(SwapDevice {
                    name: unescape_octal(fields[0]),
                    size: size.saturating_mul(1024),
                    used: used.saturating_mul(1024),
                }),
                _ => return Err(self.parse_error("swaps", format!("bad line '{line}'"))),
            }
        }
        Ok(out)
    }
}

/// Parses a /proc/PID/stat line; comm may hold spaces and parentheses, so
/// the fields start after the last `)`.
pub fn parse_stat(line: &[u8]) -> Option<Process> {
    let open = line.iter().position(|&c| c == b'(')?;
    let close = line.iter().rposition(|&c| c == b')')?;
    let pid: u32 = std::str::from_utf8(line.get(..open)?)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = String::from_utf8_lossy(line.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(line.get(close + 1..)?).ok()?;
    // Field numbers of proc(5); the first after the comm is field 3.
    let mut fields = rest.split_ascii_whitespace();
    let mut number = 2;
    let mut field = |n: usize| {
        let skip = n - number - 1;
        number = n;
        fields.nth(skip)
    };
    let state = field(3)?.chars().next()?;
    let ppid = field(4)?.parse().ok()?;
    let pgrp = field(5)?.parse().ok()?;
    let session = field(6)?.parse().ok()?;
    let tpgid = field(8)?.parse().ok()?;
    let flags = field(9)?.parse().ok()?;
    let utime: u64 = field(14)?.parse().ok()?;
    let stime: u64 = field(15)?.parse().ok()?;
    let nice = field(19)?.parse().ok()?;
    let threads = field(20)?.parse().ok()?;
    let start_ticks = field(22)?.parse().ok()?;
    let vsize = field(23)?.parse().ok()?;
    let rss = field(24)?.parse::<i64>().ok()?.max(0) as u64;
    Some(Process {
        pid,
        ppid,
        comm,
        state,
        uid: 0,
        flags,
        cpu_ticks: utime.saturating_add(stime),
        start_ticks,
        vsize,
        rss_pages: rss,
        threads,
        cmdline: Vec::new(),
        pgrp,
        session,
        tpgid,
        nice,
        locked_kb: 0,
    })
}

/// Parses /proc/PID/status for the fields of [`Status`]; `None` without a
/// valid `Uid:` line (real, effective, saved, filesystem).
pub fn parse_status(text: &[u8]) -> Option<Status> {
    let mut uids = None;
    let mut locked_kb = 0;
    // Line by line on bytes: the Name line may hold any bytes but no newline
    // (the kernel escapes it).
    for line in text.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"Uid:") {
            let rest = std::str::from_utf8(rest).ok()?;
            let mut ids = rest.split_ascii_whitespace().map(str::parse::<u32>);
            match (ids.next(), ids.next()) {
                (Some(Ok(real)), Some(Ok(effective))) => uids = Some((real, effective)),
                _ => return None,
            }
        } else if let Some(rest) = line.strip_prefix(b"VmLck:") {
            locked_kb = std::str::from_utf8(rest)
                .ok()
                .and_then(|r| r.split_ascii_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    let (real_uid, effective_uid) = uids?;
    Some(Status {
        real_uid,
        effective_uid,
        locked_kb,
    })
}

/// Splits /proc/PID/cmdline (NUL-separated) into arguments.
pub fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// /proc/swaps and mountinfo escape blanks as `\040` and the like.
pub fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(b) = u8::try_from(value) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The kernel's clock ticks per second (USER_HZ).
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// The page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(p.join("loadavg"), "0.12 0.08 0.05 1/123 4567\n").unwrap();
        fs::write(
            p.join("stat"),
            "cpu  1 2 3\ncpu0 1 2 3\ncpu1 1 2 3\nintr 5\n",
        )
        .unwrap();
        fs::write(p.join("uptime"), "1000.50 1900.00\n").unwrap();
        fs::write(
            p.join("meminfo"),
            "MemTotal:       16000 kB\nMemAvailable:    8000 kB\nHugePages_Total:       0\n",
        )
        .unwrap();
        fs::write(
            p.join("swaps"),
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2 partition 1000 250 -2\n/swap\\040file file 500 0 -3\n",
        )
        .unwrap();
        fs::create_dir(p.join("42")).unwrap();
        fs::write(
            p.join("42/stat"),
            "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 3 0 5000 104857600 256 18446744073709551615\n",
        )
        .unwrap();
        fs::write(p.join("42/cmdline"), b"/usr/bin/my\0--flag\0x y\0").unwrap();
        fs::write(
            p.join("42/status"),
            "Name:\tmy (odd) name\nUid:\t0\t108\t108\t108\nVmLck:\t       4 kB\n",
        )
        .unwrap();
        fs::create_dir(p.join("self")).unwrap();
        dir
    }

    #[test]
    fn loadavg_cpus_uptime() {
        let dir = fixture();
        let proc = ProcFs::new(dir.path());
        assert_eq!(
            proc.loadavg().unwrap(),
            LoadAvg {
                one: 0.12,
                five: 0.08,
                fifteen: 0.05
            }
        );
        assert_eq!(proc.loadavg_line().unwrap().1, "0.12 0.08 0.05 1/123 4567");
        assert_eq!(proc.cpu_count().unwrap(), 2);
        assert_eq!(proc.uptime().unwrap(), 1000.5);
    }

    #[test]
    fn bad_loadavg_is_a_parse_error() {
        let dir = fixture();
        fs::write(dir.path().join("loadavg"), "0.1 x\n").unwrap();
        let err = ProcFs::new(dir.path()).loadavg().unwrap_err();
        assert!(matches!(err, ProcError::Parse { .. }), "{err}");
        fs::write(dir.path().join("loadavg"), "0.1 0.2\n").unwrap();
        assert!(ProcFs::new(dir.path()).loadavg().is_err());
        fs::remove_file(dir.path().join("loadavg")).unwrap();
        assert!(matches!(
            ProcFs::new(dir.path()).loadavg(),
            Err(ProcError::Io { .. })
        ));
    }

    #[test]
    fn process_with_odd_comm() {
        let dir = fixture();
        let proc = ProcFs::new(dir.path());
        assert_eq!(proc.pids().unwrap(), vec![42]);
        let p = proc.process(42, true).unwrap();
        assert_eq!(p.comm, "my (odd) name");
        assert_eq!(p.ppid, 1);
        assert_eq!(p.state, 'S');
        assert_eq!(p.cpu_ticks, 200);
        assert_eq!(p.start_ticks, 5000);
        assert_eq!(p.vsize, 104857600);
        assert_eq!(p.rss_pages, 256);
        assert_eq!(p.threads, 3);
        assert_eq!(p.cmdline, vec!["/usr/bin/my", "--flag", "x y"]);
        // The effective uid of status, not the directory's owner.
        assert_eq!((p.uid, p.locked_kb), (108, 4));
        assert_eq!(p.args(), "/usr/bin/my --flag x y");
        assert!(!p.is_kernel_thread());
        // Started at tick 5000 (50 s at 100 Hz), uptime 1000.5 s: 2 s of CPU over 950.5 s.
        assert!((p.elapsed_seconds(1000.5, 100.0) - 950.5).abs() < 1e-9);
        assert!((p.cpu_percent(1000.5, 100.0) - 200.0 / 950.5).abs() < 1e-9);
        assert_eq!(p.cpu_percent(10.0, 100.0), 0.0);
    }

    #[test]
    fn stat_fields() {
        assert!(parse_stat(b"42 (x) S 1 2 3").is_none());
        assert!(parse_stat(b"garbage").is_none());
        let zombie = parse_stat(b"7 (z) Z 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 -5").unwrap();
        assert_eq!((zombie.state, zombie.rss_pages), ('Z', 0));
        assert_eq!(split_cmdline(b"a\0b c\0\0"), vec!["a", "b c"]);
    }

    #[test]
    fn long_names_come_from_the_command_line() {
        let mut p =
            parse_stat(b"7 (systemd-journal) S 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 10 100 5 0")
                .unwrap();
        p.cmdline = vec!["/lib/systemd/systemd-journald".into()];
        assert_eq!(p.name(), "systemd-journald");
        p.comm = "sshd".into();
        p.cmdline = vec!["sshd: root@pts/0".into()];
        assert_eq!(p.name(), "sshd");
    }

    #[test]
    fn ps_stat_letters_as_procps() {
        let dir = fixture();
        let proc = ProcFs::new(dir.path());
        let mut p = proc.process(42, false).unwrap();
        assert_eq!((p.pgrp, p.session, p.tpgid, p.nice), (42, 42, -1, 0));
        // Session leader with locked pages and three threads, no terminal.
        assert_eq!(p.ps_stat(), "SLsl");
        p.locked_kb = 0;
        assert_eq!(p.ps_stat(), "Ssl");
        assert!(p.ps_stat().chars().all(|c| PS_STAT_LETTERS.contains(c)));
        p.nice = -5;
        p.locked_kb = 8;
        p.tpgid = 42;
        assert_eq!(p.ps_stat(), "S<Lsl+");
        p.nice = 19;
        p.session = 1;
        p.threads = 1;
        p.locked_kb = 0;
        p.state = 'D';
        assert_eq!(p.ps_stat(), "DN+");
        let k =
            parse_stat(b"3 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 0 -20 1 0 9 0 0")
                .unwrap();
        assert_eq!((k.nice, k.ps_stat()), (-20, "I<".to_string()));
    }

    #[test]
    fn status_uids_and_locked_memory() {
        let text = b"Name:\tqmgr\nUmask:\t0077\nState:\tS (sleeping)\nUid:\t0\t103\t103\t103\nGid:\t0\t107\t107\t107\nVmLck:\t      12 kB\n";
        assert_eq!(
            parse_status(text),
            Some(Status {
                real_uid: 0,
                effective_uid: 103,
                locked_kb: 12
            })
        );
        // Kernel threads have no VmLck line.
        assert_eq!(
            parse_status(b"Name:\tkthreadd\nUid:\t0\t0\t0\t0\n").map(|s| s.locked_kb),
            Some(0)
        );
        assert_eq!(parse_status(b"Name:\tx\n"), None);
        assert_eq!(parse_status(b"Uid:\tx\t1\t1\t1\n"), None);
        let dir = fixture();
        let proc = ProcFs::new(dir.path());
        fs::write(dir.path().join("42/status"), &text[..]).unwrap();
        assert_eq!(proc.status(42).unwrap().effective_uid, 103);
        assert!(matches!(proc.status(43), Err(ProcError::Io { .. })));
        fs::write(dir.path().join("42/status"), "Name:\tx\n").unwrap();
        assert!(matches!(proc.status(42), Err(ProcError::Parse { .. })));
        let me = ProcFs::default().status(std::process::id()).unwrap();
        assert_eq!(me.effective_uid, nix::unistd::geteuid().as_raw());
        assert_eq!(me.real_uid, nix::unistd::getuid().as_raw());
    }

    #[test]
    fn meminfo_in_bytes_and_swaps() {
        let dir = fixture();
        let proc = ProcFs::new(dir.path());
        let mem = proc.meminfo().unwrap();
        assert_eq!(mem["MemTotal"], 16000 * 1024);
        assert_eq!(mem["HugePages_Total"], 0);
        let swaps = proc.swaps().unwrap();
        assert_eq!(swaps.len(), 2);
        assert_eq!(swaps[0].size, 1000 * 1024);
        assert_eq!(swaps[0].used, 250 * 1024);
        assert_eq!(swaps[1].name, "/swap file");
    }

    #[test]
    fn real_proc_is_readable() {
        let proc = ProcFs::default();
        assert!(proc.loadavg().is_ok());
        assert!(proc.cpu_count().unwrap() >= 1);
        let me = proc.process(std::process::id(), true).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(!me.cmdline.is_empty());
        assert!(proc.processes(false).unwrap().len() > 1);
    }
}
