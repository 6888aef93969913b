//! `cargo run -p xtask -- package [--no-build] [--profile NAME]`: the
//! Debian package `rsplugins`, made by cargo-deb from `packaging/Cargo.toml`.
//!
//! 1. Builds every plugin crate and the handlers' crate with the `dist`
//!    profile, one crate at a time (as bench/compare.sh does: built together,
//!    cargo would unify the library's features and link TLS code into the
//!    local checks). Crates marked `[package.metadata.rsplugins] link =
//!    "static"` (the local checks) are linked statically, those marked
//!    `optimize = "size"` (the network checks) built at opt-level "s", all
//!    with the layout of [`crate::link`]: see [`build`].
//!    `--no-build` packages what target/dist/ already holds.
//! 2. Stages under `target/dist/rsplugins-deb/` the package's file tree,
//!    exactly what it ships: the binaries `cargo metadata` names for the
//!    plugin crates and the handlers' crate (a stale binary in target/dist/
//!    is never packaged, a missing one is an error), gzipped man pages (an
//!    alias without a page of its own gets a symlink to its plugin's), the
//!    files of contrib/, and shell completions.
//! 3. Runs `cargo deb --no-build` on the packaging crate, whose one asset is
//!    that tree.
//!
//! Command definitions go where the engines load them by default only when
//! that is safe: a file whose definitions are all commands with our own
//! names (`..._rs`, `...-rs`) goes to Icinga 2's `plugins-contrib.d` and to
//! `/etc/nagios-plugins/config`; a file that takes over stock command names
//! (Nagios refuses a command defined twice) or defines anything else is
//! installed for inclusion by hand under `/usr/share/rsplugins/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Instant;

use crate::link;

use serde_json::Value;

/// The crate whose `[package.metadata.deb]` defines the package.
pub const PACKAGE_CRATE: &str = "rsplugins-package";

/// The Debian package's name (`name` in that metadata).
pub const DEB_NAME: &str = "rsplugins";

/// The build profile the package ships (`--profile` picks another for a
/// quick local package).
pub const PROFILE: &str = "dist";

/// The staging directory inside the profile's output directory, as the
/// packaging crate's assets name it (`target/release/rsplugins-deb/...`,
/// which cargo-deb maps to the profile's directory).
pub const STAGING: &str = "rsplugins-deb";

/// Where Icinga 2 loads command definitions from by default: Debian's
/// icinga2.conf has `include <plugins-contrib>`, which includes this
/// directory recursively, after the ITL commands ours import.
pub const ICINGA2_LOADED: &str = "usr/share/icinga2/include/plugins-contrib.d/rsplugins";

/// Where Nagios loads command definitions from by default: Debian's
/// nagios.cfg has `cfg_dir=/etc/nagios-plugins/config`, where the
/// monitoring-plugins packages put theirs (conffiles there, so local edits
/// survive upgrades).
pub const NAGIOS_LOADED: &str = "etc/nagios-plugins/config";

/// Definitions to include by hand (`<engine>/<file>`).
pub const OPT_IN: &str = "usr/share/rsplugins";

/// Documentation: README.md, contrib/'s other files (`<engine>/<file>`) and
/// the handlers' examples (`handlers/<file>`).
pub const DOC: &str = "usr/share/doc/rsplugins";

/// The plugins and the handlers, next to the C plugins (Icinga 2's
/// PluginDir, Nagios' $USER1$).
pub const PLUGIN_DIR: &str = "usr/lib/nagios/plugins";

/// The man pages.
pub const MAN_DIR: &str = "usr/share/man/man1";

/// Icinga 2 object types a loaded file may define.
const ICINGA2_COMMAND_TYPES: [&str; 3] = ["CheckCommand", "NotificationCommand", "EventCommand"];

/// Whether `name` is one of ours, which no stock definition uses.
fn our_name(name: &str) -> bool {
    name.ends_with("_rs") || name.ends_with("-rs")
}

/// Why an Icinga 2 file cannot be loaded on every host as it is (an apply
/// rule, an object other than a command, a command name that is not ours),
/// or None when it only defines our commands.
pub fn icinga2_not_loadable(text: &str) -> Option<String> {
    let mut defined = 0;
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["apply", ..] => return Some(format!("line {}: an apply rule", n + 1)),
            ["object" | "template", kind, name, ..] => {
                if !ICINGA2_COMMAND_TYPES.contains(kind) {
                    return Some(format!("line {}: an object of type {kind}", n + 1));
                }
                if !our_name(name.trim_matches('"')) {
                    return Some(format!("line {}: {kind} {name} is not one of ours", n + 1));
                }
                defined += 1;
            }
            ["object" | "template", ..] => {
                return Some(format!("line {}: an unusual definition", n + 1))
            }
            _ => {}
        }
    }
    (defined == 0).then(|| "no definition".to_string())
}

/// Why a Nagios file cannot be loaded on every host as it is (a definition
/// other than a command, a command name that is not ours), or None when it
/// only defines our commands.
pub fn nagios_not_loadable(text: &str) -> Option<String> {
    let mut defined = 0;
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("define") => {
                let kind = words.next().unwrap_or("").trim_end_matches('{');
                if kind != "command" {
                    return Some(format!("line {}: define {kind}", n + 1));
                }
                defined += 1;
            }
            Some("command_name") => {
                let name = words.next().unwrap_or("");
                if !our_name(name) {
                    return Some(format!("line {}: command {name} is not one of ours", n + 1));
                }
            }
            _ => {}
        }
    }
    (defined == 0).then(|| "no definition".to_string())
}

/// One installed binary: a plugin, one of its C-name aliases, or a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// File name (`check_simap_rs`).
    pub name: String,
    /// The crate it belongs to: for a plugin's binary the plugin crate,
    /// whose clap definition an alias parses with (`check_imap_rs`); for a
    /// handler the handlers' crate (`rsplugins-handlers`).
    pub plugin: String,
    /// Whether it is one of the handlers (the crate under `handlers/`):
    /// each has a clap definition and a man page of its own.
    pub handler: bool,
}

impl Binary {
    /// Whether this is a C-name alias rather than the plugin's own binary.
    pub fn is_alias(&self) -> bool {
        !self.handler && self.name != self.plugin
    }
}

/// The workspace as `cargo metadata` describes it.
#[derive(Debug)]
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory (honours CARGO_TARGET_DIR and config).
    pub target_dir: PathBuf,
    /// The crates whose binaries are installed: the plugin crates (the
    /// packages under `plugins/`) and the handlers' (under `handlers/`), in
    /// name order.
    pub crates: Vec<String>,
    /// Every binary of those crates, in name order.
    pub binaries: Vec<Binary>,
    /// The crates linked statically in the dist build
    /// (`[package.metadata.rsplugins] link = "static"`), in name order.
    pub static_crates: Vec<String>,
    /// The crates optimised for size
    /// (`[package.metadata.rsplugins] optimize = "size"`), in name order.
    pub size_crates: Vec<String>,
}

/// The cargo that runs us (`cargo run` sets CARGO), else the one on PATH.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

impl Workspace {
    /// Asks `cargo metadata`.
    pub fn load() -> Result<Self, String> {
        let out = Process::new(cargo())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(crate::workspace_root())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo metadata failed: {}", out.status));
        }
        let json: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
        Self::from_metadata(&json)
    }

    /// Reads `cargo metadata --format-version 1` output.
    pub fn from_metadata(json: &Value) -> Result<Self, String> {
        let text = |v: &Value, key: &str| -> Result<String, String> {
            v.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("cargo metadata: no `{key}`"))
        };
        let root = PathBuf::from(text(json, "workspace_root")?);
        let target_dir = PathBuf::from(text(json, "target_directory")?);
        let plugins_dir = root.join("plugins");
        let handlers_dir = root.join("handlers");
        let mut crates = Vec::new();
        let mut binaries = Vec::new();
        let mut static_crates = Vec::new();
        let mut size_crates = Vec::new();
        let mut any_plugin = false;
        for package in json
            .get("packages")
            .and_then(Value::as_array)
            .ok_or("cargo metadata: no `packages`")?
        {
            let manifest = text(package, "manifest_path")?;
            let manifest = Path::new(&manifest);
            let handler = manifest.starts_with(&handlers_dir);
            if !handler && !manifest.starts_with(&plugins_dir) {
                continue;
            }
            any_plugin |= !handler;
            let plugin = text(package, "name")?;
            let targets = package
                .get("targets")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("cargo metadata: {plugin} has no `targets`"))?;
            for target in targets {
                let is_bin = target
                    .get("kind")
                    .and_then(Value::as_array)
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
                if is_bin {
                    binaries.push(Binary {
                        name: text(target, "name")?,
                        plugin: plugin.clone(),
                        handler,
                    });
                }
            }
            // [package.metadata.rsplugins] KEY = "CHOSEN" | "DEFAULT" (or absent).
            let marked = |key: &str, chosen: &str, default: &str| -> Result<bool, String> {
                let pointer = format!("/metadata/rsplugins/{key}");
                match package.pointer(&pointer).and_then(Value::as_str) {
                    Some(v) if v == chosen => Ok(true),
                    Some(v) if v != default => Err(format!(
                        "{plugin}: [package.metadata.rsplugins] {key} = \"{v}\" ({chosen} or {default})"
                    )),
                    _ => Ok(false),
                }
            };
            if marked("link", "static", "dynamic")? {
                static_crates.push(plugin.clone());
            }
            if marked("optimize", "size", "speed")? {
                size_crates.push(plugin.clone());
            }
            crates.push(plugin);
        }
        if !any_plugin {
            return Err(format!(
                "cargo metadata: no package under {}",
                plugins_dir.display()
            ));
        }
        crates.sort();
        static_crates.sort();
        size_crates.sort();
        binaries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            root,
            target_dir,
            crates,
            binaries,
            static_crates,
            size_crates,
        })
    }

    /// A profile's output directory (`target/dist`; cargo's built-in
    /// profiles keep their historic directories).
    pub fn profile_dir(&self, profile: &str) -> PathBuf {
        self.target_dir.join(match profile {
            "dev" | "test" => "debug",
            "bench" => "release",
            other => other,
        })
    }
}

fn io<T>(what: &str, path: &Path, result: std::io::Result<T>) -> Result<T, String> {
    result.map_err(|e| format!("cannot {what} {}: {e}", path.display()))
}

/// This machine's target triple (`rustc -vV`), for the static builds.
fn host_triple() -> Result<String, String> {
    let out = Process::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| "rustc -vV names no host".to_string())
}

/// Builds `crates` (every installed crate when empty) with `profile`, one at
/// a time, and leaves every binary in [`Workspace::profile_dir`].
///
/// Each crate is built for the host triple given explicitly, with the
/// rustflags of [`link::flags`] (and [`link::STATIC_FLAGS`] for a crate
/// marked `link = "static"`): given that way, the flags reach only the
/// target's code, not build scripts or proc macros (which cannot be
/// static). RUSTFLAGS set by the caller would replace them: refused. A crate marked `optimize = "size"` is built at opt-level "s".
/// The binaries are then copied next to where cargo would have put them
/// without a triple. Only crates that never look a name up may be static:
/// static glibc loads NSS modules at run time and crashes in some
/// (check_proc_rs, which resolves `-u` users, stays dynamic;
/// tests/tests/package.rs).
pub fn build(ws: &Workspace, profile: &str, crates: &[String]) -> Result<(), String> {
    for c in crates {
        if !ws.crates.contains(c) {
            return Err(format!(
                "no installed crate {c} (one of: {})",
                ws.crates.join(", ")
            ));
        }
    }
    let chosen = if crates.is_empty() {
        ws.crates.as_slice()
    } else {
        crates
    };
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if std::env::var_os(var).is_some() {
            // Cargo would take them instead of the layout's and static linking's flags.
            return Err(format!("{var} is set: unset it for the package build"));
        }
    }
    let triple = host_triple()?;
    let flags = link::flags(&ws.root, &ws.target_dir)?;
    let opt_level_var = format!(
        "CARGO_PROFILE_{}_OPT_LEVEL",
        profile.to_uppercase().replace('-', "_")
    );
    let to = ws.profile_dir(profile);
    let from = ws
        .target_dir
        .join(&triple)
        .join(to.file_name().unwrap_or_default());
    for krate in chosen {
        let mut cmd = Process::new(cargo());
        cmd.args(["build", "--profile", profile, "--bins", "-p", krate])
            .args(["--target", &triple])
            .current_dir(&ws.root);
        let mut rustflags = flags.clone();
        if ws.static_crates.contains(krate) {
            rustflags.extend(link::STATIC_FLAGS.map(String::from));
        }
        // One flag per item (a path may hold spaces); with --target they reach
        // only the target's code.
        cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\u{1f}"));
        if ws.size_crates.contains(krate) {
            cmd.env(&opt_level_var, "s");
        }
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cargo build --profile {profile} -p {krate} failed: {status}"
            ));
        }
        io("create", &to, std::fs::create_dir_all(&to))?;
        for bin in ws.binaries.iter().filter(|b| &b.plugin == krate) {
            let built = from.join(&bin.name);
            let dest = to.join(&bin.name);
            // Replaced, not written over: the old file may be running.
            let _ = std::fs::remove_file(&dest);
            io("copy", &built, std::fs::copy(&built, &dest))?;
        }
    }
    Ok(())
}

/// Gives `path` the `mode` it has in the package: set, not inherited, so
/// the package does not depend on the umask.
fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    io(
        "chmod",
        path,
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)),
    )
}

/// Copies `from` to `to` (parents created) with `mode`.
fn install(from: &Path, to: &Path, mode: u32) -> Result<(), String> {
    if let Some(dir) = to.parent() {
        io("create", dir, std::fs::create_dir_all(dir))?;
    }
    io("copy", from, std::fs::copy(from, to))?;
    set_mode(to, mode)
}

/// Stages the files of `contrib/<engine>/`: definitions ending in `.<ext>`
/// where the engine loads them when `not_loadable` finds nothing against
/// it (`loaded`), else under OPT_IN; any other file under DOC.
fn stage_contrib(
    ws: &Workspace,
    root: &Path,
    engine: &str,
    ext: &str,
    loaded: &str,
    not_loadable: fn(&str) -> Option<String>,
) -> Result<(), String> {
    let from = ws.root.join("contrib").join(engine);
    let mut files: Vec<PathBuf> = io("read", &from, std::fs::read_dir(&from))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().ok_or("no file name")?;
        let dir = if path.extension().and_then(|e| e.to_str()) != Some(ext) {
            root.join(DOC).join(engine)
        } else {
            let text = io("read", &path, std::fs::read_to_string(&path))?;
            match not_loadable(&text) {
                None => root.join(loaded),
                Some(why) => {
                    println!("{} is for inclusion by hand ({why})", path.display());
                    root.join(OPT_IN).join(engine)
                }
            }
        };
        install(&path, &dir.join(name), 0o644)?;
    }
    Ok(())
}

/// Stages every file of `contrib/<dir>/` (examples, not definitions) under
/// DOC; nothing when the directory does not exist.
fn stage_docs(ws: &Workspace, root: &Path, dir: &str) -> Result<(), String> {
    let from = ws.root.join("contrib").join(dir);
    if !from.is_dir() {
        return Ok(());
    }
    let mut files: Vec<PathBuf> = io("read", &from, std::fs::read_dir(&from))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().ok_or("no file name")?;
        install(&path, &root.join(DOC).join(dir).join(name), 0o644)?;
    }
    Ok(())
}

/// Gzips `from` into `to` as Debian wants man pages (`gzip -9n`: no name
/// or time stamp inside, so the same page makes the same bytes).
fn gzip(from: &Path, to: &Path) -> Result<(), String> {
    let file = io("create", to, std::fs::File::create(to))?;
    let status = Process::new("gzip")
        .args(["-9n", "--stdout"])
        .arg(from)
        .stdout(file)
        .status()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !status.success() {
        return Err(format!("gzip {} failed: {status}", from.display()));
    }
    set_mode(to, 0o644)
}

/// Stages the package's file tree under `root` (emptied first), the
/// binaries built with `profile`.
pub fn stage(ws: &Workspace, profile: &str, root: &Path) -> Result<(), String> {
    if root.exists() {
        io("remove", root, std::fs::remove_dir_all(root))?;
    }
    let built = ws.profile_dir(profile);
    let commands = crate::all_commands();
    let man = root.join(MAN_DIR);
    io("create", &man, std::fs::create_dir_all(&man))?;
    for binary in &ws.binaries {
        let bin = built.join(&binary.name);
        if !bin.is_file() {
            return Err(format!(
                "{} is missing: build with the {profile} profile (`cargo run -p xtask -- package` without --no-build)",
                bin.display()
            ));
        }
        install(&bin, &root.join(PLUGIN_DIR).join(&binary.name), 0o755)?;

        let page = ws.root.join("man").join(format!("{}.1", binary.name));
        let plugin_page = ws.root.join("man").join(format!("{}.1", binary.plugin));
        let to = man.join(format!("{}.1.gz", binary.name));
        if page.is_file() {
            gzip(&page, &to)?;
        } else if binary.is_alias()
            && plugin_page.is_file()
            // Same options as its plugin (not a binary of its own, like check_dig_rs).
            && crate::completions::command_of(binary, &commands)?.get_name() == binary.plugin
        {
            let target = format!("{}.1.gz", binary.plugin);
            io("link", &to, std::os::unix::fs::symlink(target, &to))?;
        } else {
            return Err(format!(
                "no man page for {}: run `cargo run -p xtask -- generate`",
                binary.name
            ));
        }
    }
    stage_contrib(
        ws,
        root,
        "icinga2",
        "conf",
        ICINGA2_LOADED,
        icinga2_not_loadable,
    )?;
    stage_contrib(
        ws,
        root,
        "nagios",
        "cfg",
        NAGIOS_LOADED,
        nagios_not_loadable,
    )?;
    stage_docs(ws, root, "handlers")?;
    install(
        &ws.root.join("README.md"),
        &root.join(DOC).join("README.md"),
        0o644,
    )?;
    for shell in crate::completions::SHELLS {
        let dir = root.join(crate::completions::debian_dir(shell));
        for file in crate::completions::write_shell(shell, &dir, &ws.binaries, &commands)? {
            set_mode(&file, 0o644)?;
        }
    }
    Ok(())
}

/// Runs cargo-deb on the files staged for `profile`; returns the .deb's path.
pub fn cargo_deb(ws: &Workspace, profile: &str) -> Result<PathBuf, String> {
    let probe = Process::new(cargo())
        .args(["deb", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return Err("cargo-deb is not installed: `cargo install cargo-deb --locked`".into());
    }
    let out_dir = ws.target_dir.join("debian");
    // Only this build's package stays, so `dpkg -i target/debian/rsplugins_*.deb`
    // installs exactly one.
    if let Ok(entries) = std::fs::read_dir(&out_dir) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{DEB_NAME}_")) && name.ends_with(".deb") {
                io("remove", &entry.path(), std::fs::remove_file(entry.path()))?;
            }
        }
    }
    let out = Process::new(cargo())
        .args([
            "deb",
            "-p",
            PACKAGE_CRATE,
            "--no-build",
            "--profile",
            profile,
            "--output",
        ])
        .arg(&out_dir)
        .current_dir(&ws.root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo deb: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo deb failed: {}", out.status));
    }
    // cargo-deb prints the path of the package it wrote.
    let printed = String::from_utf8_lossy(&out.stdout);
    let deb = printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"))
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo deb did not name the package it wrote: {printed}"))?;
    if !deb.is_file() {
        return Err(format!(
            "cargo deb named {}, which does not exist",
            deb.display()
        ));
    }
    Ok(deb)
}

/// The whole task: build with `profile` (unless `build_first` is false),
/// stage, package. Prints the time each part took; returns the .deb's path.
pub fn run(build_first: bool, profile: &str) -> Result<PathBuf, String> {
    let ws = Workspace::load()?;
    if build_first {
        let start = Instant::now();
        build(&ws, profile, &[])?;
        println!(
            "{profile} build of {} binaries ({} crates): {:.1} s",
            ws.binaries.len(),
            ws.crates.len(),
            start.elapsed().as_secs_f64()
        );
    }
    let start = Instant::now();
    stage(&ws, profile, &ws.profile_dir(profile).join(STAGING))?;
    let deb = cargo_deb(&ws, profile)?;
    let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
    println!(
        "packaging: {:.1} s, {size} bytes",
        start.elapsed().as_secs_f64()
    );
    Ok(deb)
}

/// `cargo run -p xtask -- build [--profile NAME] [CRATE...]`: the binaries
/// as the package has them (static where a crate says so), in target/NAME/
/// (bench/compare.sh measures those).
pub fn build_task(args: &[String]) -> std::process::ExitCode {
    let mut profile = PROFILE.to_string();
    let mut crates = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.clone().next()) {
            ("--profile", Some(name)) => {
                profile = name.clone();
                args.next();
            }
            ("-p", Some(name)) => {
                crates.push(name.clone());
                args.next();
            }
            (name, _) if !name.starts_with('-') => crates.push(name.to_string()),
            _ => {
                eprintln!("usage: cargo run -p xtask -- build [--profile NAME] [CRATE...]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match Workspace::load().and_then(|ws| build(&ws, &profile, &crates)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `cargo run -p xtask -- package [--no-build] [--profile NAME]`; prints
/// the .deb's path last.
pub fn task(args: &[String]) -> std::process::ExitCode {
    let usage = "usage: cargo run -p xtask -- package [--no-build] [--profile NAME]";
    let mut build_first = true;
    let mut profile = PROFILE;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-build" => build_first = false,
            "--profile" => match args.next() {
                Some(name) => profile = name,
                None => {
                    eprintln!("{usage}");
                    return std::process::ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{usage}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match run(build_first, profile) {
        Ok(deb) => {
            println!("{}", deb.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Value {
        serde_json::json!({
            "workspace_root": "/w",
            "target_directory": "/t",
            "packages": [
                {
                    "name": "check_pop3_rs",
                    "manifest_path": "/w/plugins/check_pop3_rs/Cargo.toml",
                    "metadata": { "rsplugins": { "optimize": "size" } },
                    "targets": [
                        { "name": "check_pop3_rs", "kind": ["lib"] },
                        { "name": "check_spop_rs", "kind": ["bin"] },
                        { "name": "check_pop3_rs", "kind": ["bin"] },
                        { "name": "check_pop_rs", "kind": ["bin"] }
                    ]
                },
                {
                    "name": "rsplugins-tests",
                    "manifest_path": "/w/tests/Cargo.toml",
                    "targets": [{ "name": "fixture_plugin", "kind": ["bin"] }]
                },
                {
                    "name": "check_load_rs",
                    "manifest_path": "/w/plugins/check_load_rs/Cargo.toml",
                    "metadata": { "rsplugins": { "link": "static" } },
                    "targets": [{ "name": "check_load_rs", "kind": ["bin"] }]
                },
                {
                    "name": "rsplugins-handlers",
                    "manifest_path": "/w/handlers/Cargo.toml",
                    "targets": [
                        { "name": "handlers", "kind": ["lib"] },
                        { "name": "watchdog_rs", "kind": ["bin"] },
                        { "name": "restart_service_rs", "kind": ["bin"] }
                    ]
                }
            ]
        })
    }

    #[test]
    fn binaries_are_the_plugin_and_handler_crates_bins_with_their_crate() {
        let ws = Workspace::from_metadata(&metadata()).expect("metadata");
        assert_eq!(
            ws.crates,
            ["check_load_rs", "check_pop3_rs", "rsplugins-handlers"]
        );
        let names: Vec<(&str, &str, bool, bool)> = ws
            .binaries
            .iter()
            .map(|b| (b.name.as_str(), b.plugin.as_str(), b.is_alias(), b.handler))
            .collect();
        assert_eq!(
            names,
            [
                ("check_load_rs", "check_load_rs", false, false),
                ("check_pop3_rs", "check_pop3_rs", false, false),
                ("check_pop_rs", "check_pop3_rs", true, false),
                ("check_spop_rs", "check_pop3_rs", true, false),
                ("restart_service_rs", "rsplugins-handlers", false, true),
                ("watchdog_rs", "rsplugins-handlers", false, true),
            ]
        );
        assert_eq!(ws.static_crates, ["check_load_rs"]);
        assert_eq!(ws.size_crates, ["check_pop3_rs"]);
        assert_eq!(ws.profile_dir(PROFILE), PathBuf::from("/t/dist"));
        assert_eq!(ws.profile_dir("dev"), PathBuf::from("/t/debug"));
    }

    #[test]
    fn metadata_without_plugins_is_an_error() {
        let json = serde_json::json!({
            "workspace_root": "/w", "target_directory": "/t", "packages": []
        });
        assert!(Workspace::from_metadata(&json).is_err());
        // The handlers alone are no suite.
        let handlers_only = serde_json::json!({
            "workspace_root": "/w", "target_directory": "/t", "packages": [{
                "name": "rsplugins-handlers",
                "manifest_path": "/w/handlers/Cargo.toml",
                "targets": [{ "name": "watchdog_rs", "kind": ["bin"] }]
            }]
        });
        assert!(Workspace::from_metadata(&handlers_only).is_err());
    }

    #[test]
    fn the_real_workspace_lists_every_alias() {
        let ws = Workspace::load().expect("cargo metadata");
        let aliases: Vec<(&str, &str)> = ws
            .binaries
            .iter()
            .filter(|b| b.is_alias())
            .map(|b| (b.name.as_str(), b.plugin.as_str()))
            .collect();
        for expected in [
            ("check_procs_rs", "check_proc_rs"),
            ("check_pop_rs", "check_pop3_rs"),
            ("check_spop_rs", "check_pop3_rs"),
            ("check_simap_rs", "check_imap_rs"),
            ("check_ssmtp_rs", "check_smtp_rs"),
        ] {
            assert!(
                aliases.contains(&expected),
                "{expected:?} not in {aliases:?}"
            );
        }
        // Every handler binary, each with a clap definition of its own.
        let handlers: Vec<&str> = ws
            .binaries
            .iter()
            .filter(|b| b.handler)
            .map(|b| b.name.as_str())
            .collect();
        let defined: Vec<String> = crate::handler_commands()
            .iter()
            .map(|c| c.get_name().to_string())
            .collect();
        assert_eq!(handlers, defined);
        assert!(ws.crates.iter().any(|c| c == "rsplugins-handlers"));
    }

    #[test]
    fn icinga2_files_with_only_our_commands_are_loaded() {
        let ours = "// x\nobject CheckCommand \"load-rs\" {\n  import \"load\"\n}\n\
                    template CheckCommand \"check_x_rs\" {}\n\
                    object EventCommand \"restart-service-rs\" {\n}\n";
        assert_eq!(icinga2_not_loadable(ours), None);
        let why = |text: &str| icinga2_not_loadable(text).unwrap_or_default();
        assert!(why("apply Service \"load\" {\n}\n").contains("line 1: an apply rule"));
        assert!(why("\nobject Host \"h\" {}\n").contains("line 2: an object of type Host"));
        assert!(why("object CheckCommand \"load\" {\n}\n").contains("not one of ours"));
        assert!(why("object EventCommand \"restart\" {\n}\n").contains("not one of ours"));
        assert_eq!(why("// nothing\n"), "no definition");
    }

    #[test]
    fn nagios_files_with_only_our_commands_are_loaded() {
        let ours = "# x\ndefine command {\n    command_name check_load_rs\n}\n\
                    define command{\n  command_name load-rs\n}\n";
        assert_eq!(nagios_not_loadable(ours), None);
        let why = |text: &str| nagios_not_loadable(text).unwrap_or_default();
        assert!(why("define service {\n}\n").contains("define service"));
        assert!(why("define host{\n}\n").contains("define host"));
        // Debian's stock name: Nagios would refuse it defined twice.
        assert!(why("define command {\n command_name check_load\n}\n")
            .contains("line 2: command check_load is not one of ours"));
        assert_eq!(why(""), "no definition");
    }

    /// The staged tree of the real workspace, with stand-ins for the
    /// binaries: the handlers sit with the plugins, with man pages and
    /// completions; their definitions where the engines load them, their
    /// examples with the documentation.
    #[test]
    fn staging_puts_the_handlers_files_in_their_places() {
        let mut ws = Workspace::load().expect("cargo metadata");
        let scratch = std::env::temp_dir().join(format!("xtask-stage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        ws.target_dir = scratch.join("target");
        let built = ws.profile_dir(PROFILE);
        std::fs::create_dir_all(&built).expect("profile dir");
        for b in &ws.binaries {
            std::fs::write(built.join(&b.name), "#!/bin/sh\n").expect("stand-in");
        }
        let root = scratch.join("root");
        stage(&ws, PROFILE, &root).expect("stage");
        let present = |path: &str| root.join(path).is_file();
        for h in [
            "restart_service_rs",
            "shed_load_rs",
            "reap_procs_rs",
            "watchdog_rs",
        ] {
            assert!(present(&format!("{PLUGIN_DIR}/{h}")), "{h}");
            assert!(present(&format!("{MAN_DIR}/{h}.1.gz")), "{h}'s man page");
            assert!(
                present(&format!("usr/share/bash-completion/completions/{h}")),
                "{h}'s completion"
            );
        }
        assert!(present(&format!(
            "{ICINGA2_LOADED}/rsplugins-eventcommands.conf"
        )));
        assert!(present(&format!("{NAGIOS_LOADED}/rsplugins-handlers.cfg")));
        for example in ["README.md", "sudoers.example", "watchdog.conf.example"] {
            assert!(present(&format!("{DOC}/handlers/{example}")), "{example}");
        }
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
