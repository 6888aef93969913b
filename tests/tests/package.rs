//! The Debian package's content, read from the .deb that RSPLUGINS_DEB
//! names (`cargo run -p xtask -- package` prints its path): every binary of
//! the workspace where the engines look for plugins, its man page and
//! completions, contrib/'s files as committed, command definitions loaded
//! by the engines only when they cannot clash with stock ones.
//!
//! Without RSPLUGINS_DEB the tests skip with a note; under CI=true that is
//! a failure (CI builds the package before the tests).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rsplugins_tests::available;

const PLUGIN_DIR: &str = "usr/lib/nagios/plugins";
const ICINGA2_LOADED: &str = "usr/share/icinga2/include/plugins-contrib.d/rsplugins";
const NAGIOS_LOADED: &str = "etc/nagios-plugins/config";

/// The package under test; a relative RSPLUGINS_DEB is taken from the
/// workspace root (tests run in tests/).
fn deb() -> Option<PathBuf> {
    let deb = std::env::var_os("RSPLUGINS_DEB").map(|d| root().join(d));
    let present = deb.as_ref().is_some_and(|d| d.is_file());
    available(
        "RSPLUGINS_DEB (a .deb from `cargo run -p xtask -- package`)",
        present,
    )
    .then_some(deb)
    .flatten()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The workspace's plugin binaries and their plugin, as cargo names them:
/// `src/main.rs` the crate's own, `src/bin/<name>.rs` its aliases; and the
/// handlers, each its own.
fn binaries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("plugins")).expect("plugins/") {
        let dir = entry.expect("entry").path();
        let plugin = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if dir.join("src/main.rs").is_file() {
            out.push((plugin.clone(), plugin.clone()));
        }
        if let Ok(bins) = std::fs::read_dir(dir.join("src/bin")) {
            for bin in bins {
                let path = bin.expect("entry").path();
                if path.extension().is_some_and(|e| e == "rs") {
                    let name = path
                        .file_stem()
                        .expect("stem")
                        .to_string_lossy()
                        .into_owned();
                    out.push((name, plugin.clone()));
                }
            }
        }
    }
    // The handlers crate: each binary is its own program, with its own page.
    for bin in std::fs::read_dir(root().join("handlers/src/bin")).expect("handlers/src/bin") {
        let path = bin.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            out.push((name.clone(), name));
        }
    }
    out.sort();
    assert!(out.len() >= 20, "{out:?}");
    out
}

/// One line of `dpkg-deb --contents`.
#[derive(Debug)]
struct Entry {
    mode: String,
    /// Without the leading `./`.
    path: String,
    /// A symlink's target.
    link: Option<String>,
}

fn listing(deb: &Path) -> Vec<Entry> {
    let out = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(deb)
        .output()
        .expect("dpkg-deb");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            // mode owner size date time path [-> target]
            let words: Vec<&str> = line.split_whitespace().collect();
            assert!(words.len() >= 6, "{line}");
            Entry {
                mode: words[0].to_string(),
                path: words[5]
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_string(),
                link: (words.get(6) == Some(&"->")).then(|| words[7].to_string()),
            }
        })
        .collect()
}

fn find<'a>(entries: &'a [Entry], path: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.path == path)
}

/// The package's files, unpacked once per test.
struct Unpacked(tempfile::TempDir);

impl Unpacked {
    fn new(deb: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("dpkg-deb")
            .arg("--extract")
            .arg(deb)
            .arg(dir.path())
            .output()
            .expect("dpkg-deb");
        assert!(out.status.success(), "{out:?}");
        Self(dir)
    }

    /// Where `path` of the package is unpacked.
    fn path(&self, path: &str) -> PathBuf {
        self.0.path().join(path)
    }

    /// The bytes of `path` inside the package.
    fn content(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.0.path().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

fn field(deb: &Path, name: &str) -> String {
    let out = Command::new("dpkg-deb")
        .arg("--field")
        .arg(deb)
        .arg(name)
        .output()
        .expect("dpkg-deb");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn every_binary_and_nothing_else_is_installed_executable_next_to_the_c_plugins() {
    let Some(deb) = deb() else { return };
    let entries = listing(&deb);
    let installed: BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.path.strip_prefix(&format!("{PLUGIN_DIR}/")))
        .collect();
    let binaries = binaries();
    let expected: BTreeSet<&str> = binaries.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(installed, expected);
    for bin in expected {
        let entry = find(&entries, &format!("{PLUGIN_DIR}/{bin}")).expect("listed");
        assert_eq!(entry.mode, "-rwxr-xr-x", "{bin}");
    }
}

#[test]
fn every_binary_has_a_gzipped_man_page_and_completions() {
    let Some(deb) = deb() else { return };
    let entries = listing(&deb);
    for (bin, plugin) in binaries() {
        let page = format!("usr/share/man/man1/{bin}.1.gz");
        let entry = find(&entries, &page).unwrap_or_else(|| panic!("no {page}"));
        match &entry.link {
            // An alias's page is its plugin's.
            Some(target) => {
                assert_eq!(target, &format!("{plugin}.1.gz"), "{page}");
                assert!(find(&entries, &format!("usr/share/man/man1/{target}")).is_some());
            }
            None => assert_eq!(entry.mode, "-rw-r--r--", "{page}"),
        }
        for completion in [
            format!("usr/share/bash-completion/completions/{bin}"),
            format!("usr/share/zsh/vendor-completions/_{bin}"),
            format!("usr/share/fish/vendor_completions.d/{bin}.fish"),
        ] {
            let entry = find(&entries, &completion).unwrap_or_else(|| panic!("no {completion}"));
            assert_eq!(entry.mode, "-rw-r--r--", "{completion}");
        }
    }
    // gzip, and the page of the plugin it names.
    let files = Unpacked::new(&deb);
    let gz = files.content("usr/share/man/man1/check_load_rs.1.gz");
    assert_eq!(gz[..2], [0x1f, 0x8b]);
    let mut gunzip = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    gunzip
        .stdin
        .take()
        .expect("stdin")
        .write_all(&gz)
        .expect("write");
    let page = gunzip.wait_with_output().expect("gzip");
    assert!(String::from_utf8_lossy(&page.stdout).contains(".TH check_load_rs 1"));
    // A completion registers for its binary's name, aliases included.
    let bash = files.content("usr/share/bash-completion/completions/check_simap_rs");
    assert!(String::from_utf8_lossy(&bash).contains("complete -F _check_simap_rs "));
}

#[test]
fn contrib_files_are_packaged_as_committed_and_ours_are_where_the_engines_load_them() {
    let Some(deb) = deb() else { return };
    let entries = listing(&deb);
    let files = Unpacked::new(&deb);
    for engine in ["icinga2", "nagios"] {
        for file in std::fs::read_dir(root().join("contrib").join(engine)).expect("contrib") {
            let path = file.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let packaged: Vec<&Entry> = entries
                .iter()
                .filter(|e| e.path.ends_with(&format!("/{name}")))
                .collect();
            assert_eq!(packaged.len(), 1, "{engine}/{name}: {packaged:?}");
            // Not assert_eq: the bytes of a whole file say nothing useful.
            assert!(
                files.content(&packaged[0].path) == std::fs::read(&path).expect("read"),
                "{} differs from contrib/{engine}/{name}: rebuild the package",
                packaged[0].path
            );
        }
    }
    // The generated command files, loaded without any configuration.
    assert!(find(
        &entries,
        &format!("{ICINGA2_LOADED}/rsplugins-commands.conf")
    )
    .is_some());
    assert!(find(&entries, &format!("{NAGIOS_LOADED}/rsplugins-commands.cfg")).is_some());
    // In /etc, so conffiles: local edits survive upgrades.
    let conffiles = Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("conffiles")
        .output()
        .expect("dpkg-deb");
    assert!(String::from_utf8_lossy(&conffiles.stdout)
        .lines()
        .any(|l| l.trim() == format!("/{NAGIOS_LOADED}/rsplugins-commands.cfg")));
}

#[test]
fn postinst_gives_the_handlers_state_directory_to_the_engines_user() {
    let Some(deb) = deb() else { return };
    let postinst = Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("postinst")
        .output()
        .expect("dpkg-deb");
    let text = String::from_utf8_lossy(&postinst.stdout);
    assert!(postinst.status.success(), "no postinst: {text}");
    assert!(
        text.contains("install -d -o nagios -g nagios -m 0750 /var/lib/rsplugins"),
        "{text}"
    );
    // Installed here after the engines made user nagios (CI installs the
    // package before the engines: then nothing is created, as the script says).
    let dir = Path::new("/var/lib/rsplugins");
    if dir.exists() {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).expect("stat");
        assert_eq!(meta.mode() & 0o777, 0o750);
    }
}

/// Whether an ELF executable names a program interpreter (PT_INTERP): a
/// dynamically linked one does, a static(-pie) one does not.
fn asks_for_a_loader(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().expect("e_phoff")) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let at = phoff + i * size;
        u32::from_le_bytes(elf[at..at + 4].try_into().expect("p_type")) == 3
    })
}

/// The plugin crates whose Cargo.toml asks for static linking.
fn static_crates() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("plugins"))
        .expect("plugins/")
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("Cargo.toml"))
                .is_ok_and(|t| t.contains("\n[package.metadata.rsplugins]\nlink = \"static\""))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Whether `needle` occurs in `bytes`.
fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// xtask/src/link.rs: every binary has its hot functions first (a section
/// `.text.hot`), and a dynamic one packed relocations and no libgcc_s (a
/// library to load and map at every start, for an unwinder nothing uses).
#[test]
fn binaries_are_laid_out_hot_first_without_libgcc_s() {
    let Some(deb) = deb() else { return };
    let files = Unpacked::new(&deb);
    for (bin, _) in binaries() {
        let elf = files.content(&format!("{PLUGIN_DIR}/{bin}"));
        assert!(holds(&elf, b"\0.text.hot\0"), "{bin}: no .text.hot section");
        if asks_for_a_loader(&elf) {
            assert!(!holds(&elf, b"libgcc_s.so"), "{bin} needs libgcc_s");
            assert!(
                holds(&elf, b"\0.relr.dyn\0"),
                "{bin}: no packed relocations"
            );
        }
    }
}

#[test]
fn static_checks_make_no_name_lookups_and_proc_resolves_users_through_nss_modules() {
    let Some(deb) = deb() else { return };
    let files = Unpacked::new(&deb);
    let statics = static_crates();
    assert_eq!(
        statics,
        [
            "check_disk_rs",
            "check_load_rs",
            "check_mem_rs",
            "check_swap_rs"
        ]
    );
    for (bin, plugin) in binaries() {
        let elf = files.content(&format!("{PLUGIN_DIR}/{bin}"));
        let wanted_static = statics.contains(&plugin);
        assert_eq!(
            asks_for_a_loader(&elf),
            !wanted_static,
            "{bin}: linked {} but its crate says {}",
            if asks_for_a_loader(&elf) {
                "dynamically"
            } else {
                "statically"
            },
            if wanted_static { "static" } else { "dynamic" }
        );
    }
    // Static glibc loads NSS modules for name lookups, and crashes in some
    // (libnss_systemd): a static check must never look a name up. Each runs
    // with its most talkative options under strace.
    let strace = Path::new("/usr/bin/strace");
    if available(
        "strace (tests/testbed/setup.sh installs it)",
        strace.exists(),
    ) {
        let runs: [(&str, &[&str]); 4] = [
            (
                "check_load_rs",
                &["-w", "5,4,3", "-c", "10,8,6", "-r", "-n", "5", "-vvv"],
            ),
            ("check_mem_rs", &["-w", "10%", "-c", "5%", "-vvv"]),
            (
                "check_swap_rs",
                &["-n", "ok", "-w", "50%", "-c", "25%", "-a", "-vvv"],
            ),
            ("check_disk_rs", &["-w", "20%", "-c", "10%", "-vvv"]),
        ];
        for (bin, args) in runs {
            let trace = tempfile::NamedTempFile::new().expect("tempfile");
            let out = Command::new(strace)
                .args(["-f", "-qq", "-e", "trace=openat,open,connect", "-o"])
                .arg(trace.path())
                .arg(files.path(&format!("{PLUGIN_DIR}/{bin}")))
                .args(args)
                .env_remove("HOME")
                .output()
                .expect("strace");
            let text = std::fs::read_to_string(trace.path()).expect("trace");
            assert!(out.status.code().is_some_and(|c| c <= 3), "{bin}: {out:?}");
            for needle in [
                "nsswitch.conf",
                "libnss_",
                "/etc/passwd",
                "/etc/group",
                "/etc/hosts",
            ] {
                assert!(
                    !text.contains(needle),
                    "{bin} {args:?} touched {needle}:\n{text}"
                );
            }
        }
    }
    // check_proc_rs stays dynamic: it resolves a user that only an NSS
    // module knows (libnss-extrausers), and an unknown one is UNKNOWN, not a crash.
    let (Some(user), Some(uid)) = (
        rsplugins_tests::testbed_env("RSPLUGINS_TESTBED_NSS_USER"),
        rsplugins_tests::testbed_env("RSPLUGINS_TESTBED_NSS_UID"),
    ) else {
        available(
            "the testbed's NSS-only user (RSPLUGINS_TESTBED_NSS_USER)",
            false,
        );
        return;
    };
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    assert!(!passwd.lines().any(|l| l.starts_with(&format!("{user}:"))));
    let proc = files.path(&format!("{PLUGIN_DIR}/check_proc_rs"));
    let out = Command::new(&proc)
        .args(["-u", &user, "-c", "0:"])
        .output()
        .expect("check_proc_rs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with(&format!("PROCS OK: 0 processes with UID = {uid} ({user})")),
        "{text}"
    );
    let out = Command::new(&proc)
        .args(["-u", "rsplugins-no-such-user", "-c", "0:"])
        .output()
        .expect("check_proc_rs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn loaded_definitions_use_only_our_own_command_names() {
    let Some(deb) = deb() else { return };
    let entries = listing(&deb);
    let files = Unpacked::new(&deb);
    // Another definition of a stock name stops Nagios and Icinga 2 from
    // starting: those files must stay opt-in, outside the loaded directories.
    let mut names = 0;
    for entry in &entries {
        let loaded = [ICINGA2_LOADED, NAGIOS_LOADED]
            .iter()
            .any(|dir| entry.path.starts_with(&format!("{dir}/")));
        if !loaded || entry.mode.starts_with('d') {
            continue;
        }
        let text = String::from_utf8(files.content(&entry.path)).expect("utf-8");
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let name = match words.as_slice() {
                ["command_name", name, ..] => name.to_string(),
                ["object" | "template", kind, name, ..] => {
                    assert!(kind.ends_with("Command"), "{}: {line}", entry.path);
                    name.trim_matches('"').to_string()
                }
                ["define", kind, ..] => {
                    assert_eq!(
                        kind.trim_end_matches('{'),
                        "command",
                        "{}: {line}",
                        entry.path
                    );
                    continue;
                }
                ["apply", ..] => panic!("{}: {line}", entry.path),
                _ => continue,
            };
            assert!(
                name.ends_with("_rs") || name.ends_with("-rs"),
                "{}: {line}",
                entry.path
            );
            names += 1;
        }
    }
    assert!(names > 20, "only {names} command names in the loaded files");
}

#[test]
fn control_fields() {
    let Some(deb) = deb() else { return };
    assert_eq!(field(&deb, "Package"), "rsplugins");
    assert_eq!(field(&deb, "Section"), "net");
    assert_eq!(field(&deb, "Priority"), "optional");
    let arch = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .expect("dpkg");
    assert_eq!(
        field(&deb, "Architecture"),
        String::from_utf8_lossy(&arch.stdout).trim()
    );
    // The binaries need only the C library (rustls brings its own TLS).
    let depends = field(&deb, "Depends");
    assert!(depends.starts_with("libc6 (>= "), "{depends}");
    assert!(!depends.contains("libssl"), "{depends}");
    assert!(!field(&deb, "Maintainer").is_empty());
    assert!(field(&deb, "Description").contains("monitoring plugins"));
}
