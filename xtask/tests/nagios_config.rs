//! Our Nagios command files: the Debian stock definitions we transcribed are
//! Debian's, every stock command line with our binary parses as our plugin
//! reads it (empty `'$ARG1$'` words included), the event handler commands
//! parse as the handlers read them, and Nagios 4 validates the files. The
//! Nagios validation needs nagios4; under CI=true its absence fails.

mod support;

use std::path::Path;
use std::process::Command;

use support::{committed, parse, program, require, Scratch};
use xtask::nagios::{parse_commands, renamed, DEBIAN_STOCK};

/// Where monitoring-plugins-basic keeps the pristine copies of what it
/// installs in /etc/nagios-plugins/config (which the admin may have edited).
const TEMPLATES: &str = "/usr/share/monitoring-plugins/templates-basic";

#[test]
fn the_transcribed_stock_definitions_are_debians() {
    if !require(
        "monitoring-plugins-basic is not installed",
        Path::new(TEMPLATES).is_dir(),
    ) {
        return;
    }
    let mut files: Vec<&str> = DEBIAN_STOCK.iter().map(|s| s.file).collect();
    files.dedup();
    for file in files {
        let text = std::fs::read_to_string(Path::new(TEMPLATES).join(file))
            .unwrap_or_else(|e| panic!("{TEMPLATES}/{file}: {e}"));
        let real = parse_commands(&text);
        let ours: Vec<(String, String)> = DEBIAN_STOCK
            .iter()
            .filter(|s| s.file == file)
            .map(|s| (s.name.to_string(), s.line.to_string()))
            .collect();
        assert_eq!(ours, real, "Debian's {file} changed");
    }
    // Debian has none of its own for these: nothing to replace.
    for absent in ["swap.cfg", "smtp.cfg"] {
        assert!(
            !Path::new(TEMPLATES).join(absent).exists(),
            "Debian now ships {absent}: transcribe it"
        );
    }
}

/// Sample `$ARGn$` values a service passes to each stock command: every
/// set is tried. An empty value is what Nagios substitutes when the
/// service passes none (`check_command check_smtp`).
fn samples(command: &str) -> Vec<Vec<&'static str>> {
    match command {
        "check_load" => vec![vec!["5", "4", "3", "10", "8", "6"]],
        "check_procs" | "check_procs_zombie" => vec![vec!["250", "400"]],
        "check_procs_httpd" => vec![vec!["10", "20"]],
        "check_disk" => vec![vec!["20%", "10%", "/"]],
        "check_all_disks" => vec![vec!["20%", "10%"]],
        "check_ssh" | "check_ssh_4" => vec![vec![]],
        "check_ssh_port" | "check_ssh_port_4" => vec![vec!["22"]],
        "check_tcp" | "check_tcp_4" => vec![vec!["25", ""], vec!["25", "-j"]],
        _ => vec![vec![""], vec!["-4"], vec!["-t20"]],
    }
}

/// The words `/bin/sh` makes of `line` (Nagios hands a command line with
/// quotes to the shell).
fn shell_words(line: &str) -> Vec<String> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("printf '%s\\0' {line}"))
        .output()
        .expect("run /bin/sh");
    assert!(out.status.success(), "sh could not split {line}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.strip_suffix('\0')
        .unwrap_or(&text)
        .split('\0')
        .map(str::to_string)
        .collect()
}

#[test]
fn every_stock_command_line_parses_with_our_plugin() {
    let mut failures = Vec::new();
    let mut tried = 0;
    for stock in DEBIAN_STOCK {
        let Some(line) = renamed(stock.line) else {
            continue;
        };
        for args in samples(stock.name) {
            let mut expanded = line.replace("$HOSTADDRESS$", "127.0.0.1");
            // Highest first: $ARG1$ is a prefix of $ARG10$.
            for (i, value) in args.iter().enumerate().rev() {
                expanded = expanded.replace(&format!("$ARG{}$", i + 1), value);
            }
            assert!(
                !expanded.contains("$ARG"),
                "{}: no sample for {expanded}",
                stock.name
            );
            let words = shell_words(&expanded);
            tried += 1;
            if let Err(e) = parse(&words) {
                failures.push(format!("{}: {words:?}\n{e}", stock.name));
            }
        }
    }
    assert!(tried >= 30, "only {tried} command lines tried");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The empty word Debian's quoting makes is what C ignores and clap alone
/// would refuse; the runner's normalisation is what lets it through.
#[test]
fn an_empty_arg1_is_the_case_that_needed_the_runner() {
    let words = shell_words("/usr/lib/nagios/plugins/check_smtp_rs -H '127.0.0.1' ''");
    assert_eq!(words.last().map(String::as_str), Some(""));
    assert!(parse(&words).is_ok());
    let raw = xtask::commands()
        .into_iter()
        .find(|c| c.get_name() == "check_smtp_rs")
        .expect("check_smtp_rs");
    assert!(raw.try_get_matches_from(&words).is_err());
}

const HANDLERS: &str = "contrib/nagios/rsplugins-handlers.cfg";

/// Sample `$ARG1$` values (the handler's own options) for each handler
/// command; the empty one is a service that passes none.
fn handler_samples(command: &str) -> Vec<&'static str> {
    match command {
        "restart-service-rs" => vec![
            "",
            "--unit vsftpd --sudo --pidfile /run/vsftpd.pid",
            "--unit vsftpd --also proftpd --also xinetd --check '/usr/lib/nagios/plugins/check_ftp_rs -H 127.0.0.1' -t 40",
        ],
        "shed-load-rs" => vec![
            "",
            "--stop-unit backup --stop-unit indexer --marker /run/throttle --sudo",
            "--run '/usr/sbin/iptables -I INPUT -p tcp --dport 8080 -j DROP' --undo '/usr/sbin/iptables -D INPUT -p tcp --dport 8080 -j DROP'",
        ],
        "reap-procs-rs" => vec![
            "-C sleep --older-than 3600",
            "-C php-fpm --orphaned --signal KILL --dry-run",
        ],
        other => panic!("no samples for {other}: add some"),
    }
}

/// Every handler command line, with the engine's macros as Nagios fills
/// them in (a service description with a space among them), is one the
/// handler accepts, and it gets the event it reads.
#[test]
fn every_handler_command_line_parses_with_its_handler() {
    let defined = parse_commands(&committed(HANDLERS));
    assert_eq!(defined.len(), xtask::event_handler_commands().len());
    let mut failures = Vec::new();
    for (name, line) in &defined {
        for arg1 in handler_samples(name) {
            let expanded = line
                .replace("$USER1$", "/usr/lib/nagios/plugins")
                .replace("$SERVICESTATE$", "CRITICAL")
                .replace("$SERVICESTATETYPE$", "HARD")
                .replace("$SERVICEATTEMPT$", "3")
                .replace("$SERVICEDESC$", "FTP on port 21")
                .replace("$ARG1$", arg1);
            assert!(!expanded.contains('$'), "{name}: {expanded}");
            let words = shell_words(&expanded);
            if line.contains("--state ") {
                assert!(
                    words
                        .windows(2)
                        .any(|w| w == ["--service", "FTP on port 21"]),
                    "{name}: {words:?}"
                );
            }
            if let Err(e) = parse(&words) {
                failures.push(format!("{name}: {words:?}\n{e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const OBJECTS: &str = "define timeperiod {
    timeperiod_name 24x7
    alias           always
    monday          00:00-24:00
}
define contact {
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    check_load
    service_notification_commands check_load
}
define host {
    host_name             localhost
    address               127.0.0.1
    max_check_attempts    1
    check_period          24x7
    contacts              nobody
    notification_interval 0
    notification_period   24x7
}
";

#[test]
fn nagios_validates_both_command_files() {
    let nagios = program("nagios4");
    if !require("nagios4 is not installed", nagios.is_some()) {
        return;
    }
    let Some(nagios) = nagios else { return };
    let scratch = Scratch::new("nagios-validate");
    let ours = scratch.file(
        "rsplugins-commands.cfg",
        &committed("contrib/nagios/rsplugins-commands.cfg"),
    );
    let debian = scratch.file(
        "rsplugins-debian-commands.cfg",
        &committed("contrib/nagios/rsplugins-debian-commands.cfg"),
    );
    let handlers = scratch.file("rsplugins-handlers.cfg", &committed(HANDLERS));
    // A service per command of both files: an undefined command, or one
    // defined twice, fails the validation.
    let mut names: Vec<String> =
        parse_commands(&committed("contrib/nagios/rsplugins-commands.cfg"))
            .into_iter()
            .chain(parse_commands(&committed(
                "contrib/nagios/rsplugins-debian-commands.cfg",
            )))
            .map(|(name, _)| name)
            .collect();
    assert!(names.len() > DEBIAN_STOCK.len(), "{names:?}");
    names.sort();
    let mut objects = OBJECTS.to_string();
    for name in &names {
        objects.push_str(&format!(
            "define service {{\n    host_name           localhost\n    service_description {name}\n    check_command       {name}!1!2!3!4!5!6\n    max_check_attempts  1\n    check_interval      5\n    retry_interval      1\n    check_period        24x7\n    notification_period 24x7\n    notification_interval 0\n    contacts            nobody\n}}\n"
        ));
    }
    // A service per event handler command, which runs it as its event handler.
    let event_handlers: Vec<String> = parse_commands(&committed(HANDLERS))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(!event_handlers.is_empty());
    for name in &event_handlers {
        objects.push_str(&format!(
            "define service {{\n    host_name           localhost\n    service_description event {name}\n    check_command       check_load_rs!-w 5 -c 10\n    event_handler       {name}!--dry-run\n    event_handler_enabled 1\n    max_check_attempts  1\n    check_interval      5\n    retry_interval      1\n    check_period        24x7\n    notification_period 24x7\n    notification_interval 0\n    contacts            nobody\n}}\n"
        ));
    }
    let objects = scratch.file("objects.cfg", &objects);
    let dir = scratch.dir("var", 0o777);
    let main = scratch.file(
        "nagios.cfg",
        &format!(
            "log_file={d}/nagios.log\ncheck_result_path={d}\nlock_file={d}/nagios.lock\ntemp_file={d}/nagios.tmp\n\
             illegal_macro_output_chars=`~$&|'\"<>\n\
             cfg_file={}\ncfg_file={}\ncfg_file={}\ncfg_file={}\n",
            ours.display(),
            debian.display(),
            handlers.display(),
            objects.display(),
            d = dir.display()
        ),
    );
    let out = Command::new(&nagios)
        .arg("-v")
        .arg(&main)
        .output()
        .expect("run nagios4 -v");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "nagios4 -v failed:\n{text}");
    assert!(
        text.contains("Total Warnings: 0") && text.contains("Total Errors:   0"),
        "nagios4 -v:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "Checked {} services.",
            names.len() + event_handlers.len()
        )),
        "nagios4 -v did not check every service:\n{text}"
    );
}
