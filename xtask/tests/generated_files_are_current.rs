//! The committed man pages and command definitions must be what the
//! generator produces from the current options.

#[test]
fn committed_artefacts_match_the_generator() {
    let root = xtask::workspace_root();
    let mut stale = Vec::new();
    for artefact in xtask::artefacts().expect("render") {
        let committed = std::fs::read(root.join(&artefact.path)).unwrap_or_default();
        if committed != artefact.content {
            stale.push(artefact.path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (run `cargo run -p xtask -- generate`): {}",
        stale.join(", ")
    );
}

#[test]
fn every_plugin_has_a_man_page_and_commands() {
    let names: Vec<String> = xtask::commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    let plugins_dir = xtask::workspace_root().join("plugins");
    let mut crates: Vec<String> = std::fs::read_dir(plugins_dir)
        .expect("plugins/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    // Every crate's own plugin is there (a crate may build more than one).
    for krate in &crates {
        assert!(
            names.contains(krate),
            "xtask::commands() must list every plugin crate: {krate} is missing from {names:?}"
        );
    }
}
