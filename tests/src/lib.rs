//! Helpers shared by the integration tests.

use std::path::PathBuf;

use assert_cmd::Command;

/// Where the built binary `name` of the workspace is: next to the test
/// executable's `deps/` folder (`target/debug/`).
pub fn binary(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .and_then(|deps| deps.parent())
                .map(|dir| dir.join(name))
        })
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A command running the built binary `name` of the workspace.
///
/// Plugin binaries live in other packages, which `cargo test` does not build
/// for this one: the README's test command builds them first.
pub fn plugin(name: &str) -> Command {
    let path = binary(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` before the tests (the README's test command does)",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.env_remove("NAGIOS_CONFIG_PATH");
    cmd
}

/// `name` pointed at a scripted peer: `-H 127.0.0.1 -p PORT`.
pub fn plugin_on(name: &str, port: u16) -> Command {
    let mut cmd = plugin(name);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    cmd
}

/// Runs `cmd` and asserts it ended within `limit` (hostile-peer tests).
pub fn within(limit: std::time::Duration, cmd: &mut Command) -> assert_cmd::assert::Assert {
    let start = std::time::Instant::now();
    let assert = cmd.assert();
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    assert
}

pub mod dns_peer;
pub mod engine;
pub mod fixture;
pub mod http_peer;
pub mod peer;
pub mod pki;
pub mod sudoers;
pub mod system;

/// Whether the real-server testbed (tests/testbed/setup.sh) is up. In CI a
/// missing testbed is a failure, never a silent skip; elsewhere tests that
/// need it are skipped with a note.
pub fn testbed() -> bool {
    let up = std::path::Path::new("/etc/rsplugins-testbed.env").exists();
    if !up {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true but the testbed is not set up (tests/testbed/setup.sh did not run)"
        );
        eprintln!("testbed not set up: skipping (run tests/testbed/setup.sh as root)");
    }
    up
}

/// Whether `what` (a C plugin, a testbed port) is here. A test skips
/// without it on a laptop, but under CI=true a missing piece is a failure.
pub fn available(what: &str, present: bool) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true but {what} is missing"
        );
        eprintln!("{what} is missing: skipping");
    }
    present
}

/// A value of the testbed's /etc/rsplugins-testbed.env.
pub fn testbed_env(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/rsplugins-testbed.env").ok()?;
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
}

/// A value of the testbed's env file that the test needs (a panic naming it
/// when it is missing).
pub fn testbed_var(key: &str) -> String {
    testbed_env(key).unwrap_or_else(|| panic!("/etc/rsplugins-testbed.env has no {key}"))
}

/// The testbed's CA certificate (clients verify the servers with it).
pub fn testbed_ca() -> String {
    testbed_env("RSPLUGINS_TESTBED_CA").unwrap_or_else(|| "/etc/ssl/rsplugins-test/ca.pem".into())
}

/// The testbed's mail account (POP3, IMAP, SMTP AUTH): user and password.
pub fn mail_account() -> (String, String) {
    (
        testbed_env("RSPLUGINS_TESTBED_MAIL_USER").unwrap_or_else(|| "monitor".into()),
        testbed_env("RSPLUGINS_TESTBED_MAIL_PASS").unwrap_or_else(|| "monpass".into()),
    )
}

/// Whether the testbed has an IPv6 loopback (setup.sh writes
/// RSPLUGINS_TESTBED_IPV6=0 when it has none); says so when it is skipped.
pub fn testbed_ipv6() -> bool {
    let up = testbed_env("RSPLUGINS_TESTBED_IPV6").as_deref() != Some("0");
    if !up {
        eprintln!("no IPv6 loopback in this testbed: skipping ::1");
    }
    up
}

/// The testbed's BIND is up (a testbed from before BIND counts as missing:
/// a failure under CI).
pub fn testbed_bind() -> bool {
    testbed()
        && available(
            "BIND of tests/testbed (RSPLUGINS_TESTBED_DNS_PORT)",
            testbed_env("RSPLUGINS_TESTBED_DNS_PORT").is_some(),
        )
}

/// The testbed's MariaDB (primary and replica) and PostgreSQL (primary and
/// standby) are up (a testbed from before them counts as missing: a failure
/// under CI).
pub fn testbed_db() -> bool {
    testbed()
        && available(
            "MariaDB and PostgreSQL of tests/testbed (RSPLUGINS_TESTBED_MYSQL_PORT, _PGSQL_PORT)",
            testbed_env("RSPLUGINS_TESTBED_MYSQL_PORT").is_some()
                && testbed_env("RSPLUGINS_TESTBED_PGSQL_PORT").is_some(),
        )
}

/// The testbed's nginx is up (a testbed from before nginx counts as missing:
/// a failure under CI).
pub fn testbed_nginx() -> bool {
    testbed()
        && available(
            "nginx of tests/testbed (RSPLUGINS_TESTBED_HTTP_PORT)",
            testbed_env("RSPLUGINS_TESTBED_HTTP_PORT").is_some(),
        )
}

/// The testbed's self-healing pieces are up (rsyslogd on /dev/log, the
/// `rsplugins-heal-ftp` service, sudo) and we are root, as the handlers'
/// tests must be to stop and start services (a testbed from before them
/// counts as missing: a failure under CI).
pub fn testbed_healing() -> bool {
    if !testbed() {
        return false;
    }
    let root = engine::is_root();
    available(
        "root (the self-healing tests stop and start services)",
        root,
    ) && available(
        "the self-healing pieces of tests/testbed (RSPLUGINS_TESTBED_HEAL_FTP_UNIT)",
        testbed_env("RSPLUGINS_TESTBED_HEAL_FTP_UNIT").is_some()
            && std::path::Path::new("/usr/bin/sudo").exists(),
    )
}
