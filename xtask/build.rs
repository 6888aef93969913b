//! Derives the list of plugins from the workspace: every crate under
//! `plugins/` is one, so a new plugin cannot be left out of the man pages
//! and command definitions (a crate with several binaries of their own
//! options says so with `pub fn commands()`; a missing dependency in Cargo.toml is then a
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
    // A crate with more than one binary of its own options (check_dns_rs:
    // check_dns_rs and check_dig_rs) lists them with `commands()`.
    let body: String = names
        .iter()
        .map(|n| {
            let lib = plugins.join(n).join("src/lib.rs");
            let several =
                std::fs::read_to_string(&lib).is_ok_and(|text| text.contains("pub fn commands()"));
            if several {
                format!("    all.extend({n}::commands());\n")
            } else {
                format!("    all.push({n}::command());\n")
            }
        })
        .collect();
    let code = format!("{{\n    let mut all = Vec::new();\n{body}    all\n}}\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("plugins.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
