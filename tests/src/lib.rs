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
