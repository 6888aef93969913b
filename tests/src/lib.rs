//! Helpers shared by the integration tests.

use std::path::PathBuf;

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

/// A command running the built binary `name` of the workspace.
///
/// Plugin binaries live in other packages, so `cargo test --workspace` (the
/// README's test command) must have built them; say so plainly otherwise.
pub fn plugin(name: &str) -> Command {
    let path: PathBuf = cargo_bin(name);
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --workspace`",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.env_remove("NAGIOS_CONFIG_PATH");
    cmd
}

/// The directory holding the test fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub mod peer;
pub mod pki;

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
