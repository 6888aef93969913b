//! What the engine tests share: whether an engine is there to test with
//! (under CI=true it must be), a scratch directory the engines' user can
//! read, and our plugins' reading of a command line an engine built.

#![allow(dead_code)] // each test file uses its own part

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Whether `CI=true`: then a missing engine is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether the test can run; without what it needs it fails under CI and
/// is skipped with a note elsewhere.
pub fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    assert!(
        !in_ci(),
        "{what}: CI must run this test (tests/testbed/setup.sh installs the engines)"
    );
    eprintln!("skipped: {what}");
    false
}

/// The program `name` on PATH or in /usr/sbin (root's PATH may lack it).
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/bin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file());
    found
}

/// Whether this process runs as root (the engines then drop to `nagios`).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A fresh directory, removed when dropped, that every user can read (the
/// engines read their configuration as user nagios).
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `$TMPDIR/rsplugins-<name>-<pid>`, emptied.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rsplugins-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        set_mode(&dir, 0o755);
        Scratch(dir)
    }

    /// A subdirectory with `mode` (0o777 for what the engine writes).
    pub fn dir(&self, name: &str, mode: u32) -> PathBuf {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).expect("scratch subdirectory");
        set_mode(&dir, mode);
        dir
    }

    /// Writes `name` (mode 0644) and returns its path.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("scratch file");
        set_mode(&path, 0o644);
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// chmod.
pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A committed generated file, as shipped.
pub fn committed(path: &str) -> String {
    let full = xtask::workspace_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Parses `argv` (the binary's path first) exactly as the plugin's runner
/// does: the options the binary's name implies, getopt's habits, empty
/// words and old spellings, then clap. `Err` holds clap's message. A
/// handler (restart_service_rs) is parsed with its own definition: the
/// handlers share the plugins' runner.
pub fn parse(argv: &[String]) -> Result<(), String> {
    let first = argv.first().ok_or("empty command line")?;
    let name = Path::new(first)
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("no program name")?;
    let (command, implied) = match xtask::icinga::binary(name) {
        Some(binary) => (
            xtask::commands()
                .into_iter()
                .find(|c| c.get_name() == binary.plugin)
                .ok_or_else(|| format!("no plugin {}", binary.plugin))?,
            binary.implied,
        ),
        None => (
            xtask::handler_commands()
                .into_iter()
                .find(|c| c.get_name() == name)
                .ok_or_else(|| format!("{name} is not ours"))?,
            &[][..],
        ),
    };
    let command = rsplugins::runner::prepare_command(command);
    let mut words = vec![name.to_string()];
    words.extend(implied.iter().map(|w| w.to_string()));
    words.extend(argv[1..].iter().cloned());
    let words = rsplugins::argv::normalize(&command, words);
    command
        .try_get_matches_from(words)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
