//! Sudoers rules a test installs for the restart handler, and removes.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A sudoers file of a test in /etc/sudoers.d/, removed on drop.
pub struct Sudoers(PathBuf);

impl Drop for Sudoers {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Installs the rules `handler` (restart_service_rs from the plugin
/// directory the engine runs, so that they name that binary) prints for
/// `args` and `user`, checked with `visudo -cf` (in `scratch`), mode 0440,
/// as /etc/sudoers.d/`name` (without a dot: sudo skips such files).
/// `origin` names the test file in the rules' header.
pub fn install(
    handler: &str,
    user: &str,
    args: &[&str],
    name: &str,
    scratch: &Path,
    origin: &str,
) -> Sudoers {
    let out = Command::new(handler)
        .args(args)
        .args(["--sudo", &format!("--print-sudoers={user}")])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {handler}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{handler} --print-sudoers: {text}"
    );
    let rules: Vec<&str> = text.lines().skip(1).collect();
    assert!(
        rules.len() >= 2
            && rules
                .iter()
                .all(|l| l.starts_with(&format!("{user} ALL=(root) NOPASSWD: "))),
        "--print-sudoers gave unexpected lines:\n{text}"
    );
    let body = format!(
        "# Written by rsplugins {origin}; removed when the test ends.\n{}\n",
        rules.join("\n")
    );
    let tmp = scratch.join(format!("sudoers-{name}"));
    std::fs::write(&tmp, &body).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    let check = Command::new("/usr/sbin/visudo")
        .args(["-cf", &tmp.display().to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("visudo");
    assert!(
        check.status.success(),
        "visudo -cf rejects the printed rules:\n{body}\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(!name.contains('.'), "sudo skips {name}: it has a dot");
    let path = Path::new("/etc/sudoers.d").join(name);
    let _ = std::fs::remove_file(&path);
    let guard = Sudoers(path.clone());
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o440)
        .open(&path)
        .and_then(|mut f| f.write_all(body.as_bytes()))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    guard
}
