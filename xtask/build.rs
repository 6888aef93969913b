//! Derives the list of plugins from the workspace: every crate under
//! `plugins/` is one, so a new plugin cannot be left out of the man pages
//! and command definitions (a missing dependency in Cargo.toml is then a
//! compile error, not a silent omission).

use std::path::Path;

fn main() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    println!("cargo:rerun-if-changed={}", plugins.display());
    let mut names: Vec<String> = std::fs::read_dir(&plugins)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let body: String = names
        .iter()
        .map(|n| format!("        {n}::command(),\n"))
        .collect();
    let code = format!("vec![\n{body}    ]\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("plugins.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
