//! `cargo run -p xtask -- generate`: rewrites man/ and contrib/ command definitions;
//! `completions DIR`: shell completions; `package [--no-build] [--profile NAME]`:
//! the Debian package; `build [--profile NAME] [CRATE...]`: its binaries only.

use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo run -p xtask -- generate | completions DIR | package [--no-build] [--profile NAME] | build [--profile NAME] [CRATE...]";

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let rest: Vec<String> = std::env::args().skip(2).collect();
    match task.as_str() {
        "completions" => return xtask::completions::task(&rest),
        "package" => return xtask::package::task(&rest),
        "build" => return xtask::package::build_task(&rest),
        _ => {}
    }
    if task != "generate" {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let root = xtask::workspace_root();
    let artefacts = match xtask::artefacts() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cannot render: {e}");
            return ExitCode::FAILURE;
        }
    };
    for artefact in artefacts {
        let path = root.join(&artefact.path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&path, &artefact.content));
        if let Err(e) = written {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", artefact.path.display());
    }
    ExitCode::SUCCESS
}
