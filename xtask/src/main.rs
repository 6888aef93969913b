//! `cargo run -p xtask -- generate`: rewrites man/ and contrib/ command definitions.

use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    if task != "generate" {
        eprintln!("usage: cargo run -p xtask -- generate");
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
