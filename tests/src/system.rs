//! What the tests read of the machine they run on: the clock, log files
//! since a point, syslog lines of our programs, processes, pid files, ports,
//! and the testbed's init-script services.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch (the engines' timestamps are these).
pub fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The size of `path` now (0 when it does not exist): where to read from later.
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What `path` got since `from` (all of it when it was rotated).
pub fn read_since(path: &Path, from: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(from)
        .ok()
        .filter(|f| *f <= bytes.len())
        .unwrap_or(0);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The syslog lines (tag `rsplugins`) in `text` of `program` about `subject`.
pub fn syslog_lines(text: &str, program: &str, subject: &str) -> Vec<String> {
    let tag = format!(" {program}: {subject}: ");
    text.lines()
        .filter(|l| l.contains("rsplugins[") && l.contains(&tag))
        .map(str::to_string)
        .collect()
}

/// Whether `pid` runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

/// The pid a pid file names.
pub fn pid_file(path: impl AsRef<Path>) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
}

/// `service UNIT VERB`, quietly; whether it succeeded.
pub fn service(unit: &str, verb: &str) -> bool {
    Command::new("/usr/sbin/service")
        .args([unit, verb])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The testbed's init-script service `unit` up: accepting on `port`, its
/// pid file naming a live process (started once when it is not); its pid.
pub fn service_running(unit: &str, port: u16, pidfile: &str) -> u32 {
    let start = std::time::Instant::now();
    let mut started = false;
    loop {
        if let (true, Some(pid)) = (port_open(port), pid_file(pidfile).filter(|p| alive(*p))) {
            return pid;
        }
        if !started && !port_open(port) {
            service(unit, "start");
            started = true;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{unit} is not running (127.0.0.1:{port} accepting: {}, pid file {pidfile}: {:?}); \
             is something else (another cargo test run?) stopping it?",
            port_open(port),
            pid_file(pidfile)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
