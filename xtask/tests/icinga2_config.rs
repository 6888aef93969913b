//! Our Icinga 2 command files in the real Icinga 2: they validate next to
//! the ITL, and the command lines Icinga builds from ITL-style services
//! (defaults, every ITL variable, our extra variables) are ones our
//! plugins accept, the ITL's quirks included; so are the event handler
//! command lines it builds when a service goes CRITICAL. Needs icinga2 and root (the
//! daemon drops to user nagios); under CI=true their absence fails.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{committed, is_root, parse, program, require, Scratch};
use xtask::icinga::{self, ITL_COMMANDS};

const ITL: &str = "/usr/share/icinga2/include/command-plugins.conf";
const OURS: &str = "contrib/icinga2/rsplugins-commands.conf";
const OURS_ITL: &str = "contrib/icinga2/rsplugins-itl-commands.conf";
const OURS_EVENTS: &str = "contrib/icinga2/rsplugins-eventcommands.conf";

/// icinga2 and root, or a skip (a failure under CI).
fn icinga2() -> Option<std::path::PathBuf> {
    let found = program("icinga2");
    let ok = require("icinga2 is not installed", found.is_some())
        && require("icinga2 needs root (it drops to user nagios)", is_root());
    if ok {
        found
    } else {
        None
    }
}

#[test]
fn the_transcribed_itl_arguments_are_the_installed_itls() {
    if !require("the ITL is not installed", Path::new(ITL).is_file()) {
        return;
    }
    let text = std::fs::read_to_string(ITL).expect("read the ITL");
    for itl in ITL_COMMANDS {
        let real = icinga::parse_itl(&text, itl.name)
            .unwrap_or_else(|| panic!("no CheckCommand {:?} in {ITL}", itl.name));
        let ours: Vec<(String, String, icinga::Kind, String)> = itl
            .args
            .iter()
            .map(|a| {
                (
                    a.key.to_string(),
                    a.word.to_string(),
                    a.kind,
                    a.macros.to_string(),
                )
            })
            .collect();
        assert_eq!(ours, real, "the ITL's {} arguments changed", itl.name);
    }
}

/// The committed command files, copied where user nagios reads them.
fn config(scratch: &Scratch, body: &str) -> std::path::PathBuf {
    let ours = scratch.file("rsplugins-commands.conf", &committed(OURS));
    let itl = scratch.file("rsplugins-itl-commands.conf", &committed(OURS_ITL));
    let events = scratch.file("rsplugins-eventcommands.conf", &committed(OURS_EVENTS));
    let text = format!(
        "include <itl>\ninclude <plugins>\ninclude \"{}\"\ninclude \"{}\"\ninclude \"{}\"\n{body}",
        ours.display(),
        itl.display(),
        events.display()
    );
    scratch.file("icinga2.conf", &text)
}

#[test]
fn icinga2_validates_both_command_files_next_to_the_itl() {
    let Some(icinga2) = icinga2() else { return };
    let scratch = Scratch::new("icinga2-validate");
    let cache = scratch.dir("cache", 0o777);
    let mut body = String::from(
        "const PluginDir = \"/usr/lib/nagios/plugins\"\n\
         object Host \"localhost\" {\n  check_command = \"dummy\"\n  address = \"127.0.0.1\"\n}\n",
    );
    // A service per command of both files: a name that does not exist, or
    // an import of an ITL command that does not, fails the validation.
    let own: Vec<String> = xtask::commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    let itl: Vec<String> = ITL_COMMANDS
        .iter()
        .map(|c| format!("{}-rs", c.name))
        .collect();
    for name in own.iter().chain(&itl) {
        let _ = writeln!(
            body,
            "object Service \"{name}\" {{\n  host_name = \"localhost\"\n  check_command = \"{name}\"\n}}"
        );
    }
    // And one per EventCommand, as its event handler.
    for name in event_commands() {
        let _ = writeln!(
            body,
            "object Service \"event-{name}\" {{\n  host_name = \"localhost\"\n  check_command = \"dummy\"\n  event_command = \"{name}\"\n}}"
        );
    }
    let cfg = config(&scratch, &body);
    let out = Command::new(&icinga2)
        .args(["daemon", "-C", "-c"])
        .arg(&cfg)
        .arg(format!("-DCacheDir={}", cache.display()))
        .output()
        .expect("run icinga2");
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "icinga2 -C failed:\n{log}");
    let problems: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("warning/") || l.contains("critical/"))
        .collect();
    assert!(
        problems.is_empty(),
        "icinga2 -C warned:\n{}",
        problems.join("\n")
    );

    // What Icinga made of each "<name>-rs": our binary, the ITL's template.
    let listed = Command::new(&icinga2)
        .args(["object", "list", "--type", "CheckCommand"])
        .arg(format!("-DCacheDir={}", cache.display()))
        .output()
        .expect("icinga2 object list");
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    for c in ITL_COMMANDS {
        let start = listed
            .find(&format!("Object '{}-rs' of type 'CheckCommand'", c.name))
            .unwrap_or_else(|| panic!("{}-rs not instantiated", c.name));
        let object = &listed[start..];
        let object = &object[..object[1..].find("Object '").map_or(object.len(), |e| e + 1)];
        assert!(
            object.contains(&format!(
                "* command = [ \"/usr/lib/nagios/plugins/{}\" ]",
                c.binary
            )),
            "{}-rs does not run {}:\n{object}",
            c.name,
            c.binary
        );
        assert!(
            object.contains(&format!("\"{}\"", c.name)) && object.contains("* templates = ["),
            "{}-rs does not import {}:\n{object}",
            c.name,
            c.name
        );
    }
}

/// One service: its name, its command, its variables (Icinga 2 literals),
/// and what our plugin must say to the command line Icinga builds.
struct Case {
    service: String,
    command: String,
    vars: Vec<(String, String)>,
    expect: Expect,
}

#[derive(Clone)]
enum Expect {
    /// The plugin accepts the command line.
    Accepted,
    /// The plugin refuses it, naming this.
    Refused(String),
}

fn case(service: &str, command: &str, vars: &[(&str, &str)]) -> Case {
    Case {
        service: service.to_string(),
        command: command.to_string(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        expect: Expect::Accepted,
    }
}

/// ITL variables left out of the services, and why.
const NOT_SET: &[(&str, &str)] = &[
    // Refused by check_disk_rs itself, after parsing (its own tests).
    ("disk_clear", "refused by check_disk_rs"),
    ("disk_group", "refused by check_disk_rs"),
];

/// Every ITL variable of the mail family set, for prefix `p`.
fn mail_all(p: &str, port: &str, expect: &str) -> Vec<(String, String)> {
    [
        ("port", port),
        ("escape", "true"),
        ("send", "\"NOOP\""),
        ("expect", expect),
        ("all", "true"),
        ("quit", "\"QUIT\""),
        ("refuse", "\"crit\""),
        ("mismatch", "\"warn\""),
        ("jail", "true"),
        ("maxbytes", "1024"),
        ("delay", "1"),
        ("certificate_age", "\"30,14\""),
        ("ssl", "true"),
        ("warning", "1"),
        ("critical", "2"),
        ("timeout", "10"),
        ("ipv4", "true"),
    ]
    .iter()
    .map(|(k, v)| (format!("{p}_{k}"), v.to_string()))
    .collect()
}

/// Every ITL variable of the check_tcp-style commands, for prefix `p`.
fn tcp_all(p: &str, port: &str) -> Vec<(String, String)> {
    [
        ("port", port),
        ("expect", "[ \"220\", \"ready\" ]"),
        ("all", "true"),
        ("escape_send", "true"),
        ("send", "\"HELP\\\\r\\\\n\""),
        ("escape_quit", "true"),
        ("quit", "\"QUIT\""),
        ("refuse", "\"ok\""),
        ("mismatch", "\"crit\""),
        ("jail", "true"),
        ("maxbytes", "1024"),
        ("delay", "1"),
        ("certificate", "\"30,14\""),
        ("ssl", "true"),
        ("wtime", "1"),
        ("ctime", "2"),
        ("timeout", "10"),
        ("ipv6", "true"),
    ]
    .iter()
    .map(|(k, v)| (format!("{p}_{k}"), v.to_string()))
    .collect()
}

/// Values for options our own commands require (Icinga 2 literals).
const REQUIRED_SAMPLES: &[(&str, &str)] = &[
    ("port", "25"),
    ("query_address", "\"www.example.test\""),
    ("query", "\"select 1\""),
];

const PIN: &str = "\"3D:7A:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD\"";

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // Defaults: what a service that only names the command runs.
    for c in ITL_COMMANDS {
        let mut defaults = case(
            &format!("{}-defaults", c.name),
            &format!("{}-rs", c.name),
            &[],
        );
        if c.name == "tcp" {
            // check_tcp needs a port (C's too).
            defaults.vars.push(("tcp_port".into(), "25".into()));
        }
        if c.name == "dig" {
            // The ITL's dig requires the name to look up (C's too).
            defaults
                .vars
                .push(("dig_lookup".into(), "\"www.example.test\"".into()));
        }
        cases.push(defaults);
    }
    cases.push(case(
        "load-all",
        "load-rs",
        &[
            ("load_wload1", "1.5"),
            ("load_wload5", "1.25"),
            ("load_wload15", "1"),
            ("load_cload1", "3"),
            ("load_cload5", "2.5"),
            ("load_cload15", "2"),
            ("load_percpu", "true"),
        ],
    ));
    cases.push(case(
        "load-extras",
        "load-rs",
        &[
            ("load_procs_to_show", "5"),
            ("load_timeout", "\"20:UNKNOWN\""),
            ("load_verbose", "true"),
        ],
    ));
    cases.push(case(
        "procs-all",
        "procs-rs",
        &[
            ("procs_warning", "\"1:\""),
            ("procs_critical", "\"@10:20\""),
            ("procs_metric", "\"RSS\""),
            ("procs_timeout", "10"),
            ("procs_traditional", "true"),
            ("procs_state", "\"RSD\""),
            ("procs_ppid", "1"),
            ("procs_vsz", "100"),
            ("procs_rss", "100"),
            ("procs_pcpu", "1"),
            ("procs_user", "\"root\""),
            ("procs_argument", "\"sshd\""),
            ("procs_argument_regex", "\"ssh.*\""),
            ("procs_command", "\"sshd\""),
            ("procs_nokthreads", "true"),
        ],
    ));
    cases.push(case(
        "procs-extras",
        "procs-rs",
        &[
            ("procs_exclude_process", "\"bash,sh\""),
            ("procs_older_than", "60"),
            ("procs_orphaned", "true"),
            ("procs_verbose", "true"),
        ],
    ));
    cases.push(case(
        "disk-all",
        "disk-rs",
        &[
            ("disk_wfree", "\"15%\""),
            ("disk_cfree", "\"100\""),
            ("disk_inode_wfree", "\"20%\""),
            ("disk_inode_cfree", "\"10%\""),
            ("disk_partitions", "[ \"/\", \"/tmp\" ]"),
            ("disk_partition", "\"/var\""),
            ("disk_partitions_excluded", "[ \"/boot\" ]"),
            ("disk_partition_excluded", "\"/mnt\""),
            ("disk_exact_match", "true"),
            ("disk_errors_only", "true"),
            ("disk_ignore_reserved", "true"),
            ("disk_local", "true"),
            ("disk_stat_remote_fs", "true"),
            ("disk_mountpoint", "true"),
            ("disk_megabytes", "false"),
            ("disk_all", "true"),
            // Icinga reads `$` as a macro: `$$` is one dollar.
            ("disk_eregi_path", "[ \"^/$$\" ]"),
            ("disk_ereg_path", "[ \"^/$$\" ]"),
            ("disk_ignore_eregi_path", "[ \"^/BOOT\" ]"),
            ("disk_ignore_ereg_path", "[ \"^/boot\" ]"),
            ("disk_timeout", "10"),
            ("disk_units", "\"GB\""),
            ("disk_exclude_type", "[ \"tmpfs\" ]"),
            ("disk_include_type", "[ \"ext4\", \"xfs\" ]"),
        ],
    ));
    cases.push(case(
        "disk-kilobytes",
        "disk-rs",
        &[("disk_kilobytes", "true"), ("disk_megabytes", "false")],
    ));
    cases.push(case(
        "disk-extras",
        "disk-rs",
        &[
            ("disk_ignore_missing", "true"),
            ("disk_iperfdata", "true"),
            ("disk_verbose", "true"),
        ],
    ));
    cases.push(case(
        "swap-all",
        "swap-rs",
        &[
            ("swap_wfree", "40"),
            ("swap_cfree", "20"),
            ("swap_allswaps", "true"),
            ("swap_noswap", "\"ok\""),
        ],
    ));
    cases.push(case(
        "swap-integer",
        "swap-rs",
        &[
            ("swap_integer", "true"),
            ("swap_wfree", "100000000"),
            ("swap_cfree", "50000000"),
        ],
    ));
    cases.push(case(
        "swap-extras",
        "swap-rs",
        &[("swap_timeout", "5"), ("swap_verbose", "true")],
    ));
    cases.push(case(
        "ssh-all",
        "ssh-rs",
        &[
            ("ssh_port", "22"),
            ("ssh_timeout", "10"),
            ("ssh_ipv4", "true"),
        ],
    ));
    cases.push(case("ssh-ipv6", "ssh-rs", &[("ssh_ipv6", "true")]));
    cases.push(case(
        "ssh-extras",
        "ssh-rs",
        &[
            ("ssh_remote_version", "\"OpenSSH_9.2p1\""),
            ("ssh_remote_protocol", "\"2.0\""),
            ("ssh_warning", "1"),
            ("ssh_critical", "2"),
            ("ssh_verbose", "true"),
        ],
    ));
    let mut tcp = case("tcp-all", "tcp-rs", &[]);
    tcp.vars = tcp_all("tcp", "25");
    cases.push(tcp);
    cases.push(case(
        "tcp-ipv4",
        "tcp-rs",
        &[("tcp_port", "25"), ("tcp_ipv4", "true")],
    ));
    cases.push(case(
        "tcp-extras",
        "tcp-rs",
        &[
            ("tcp_port", "443"),
            ("tcp_ssl", "true"),
            ("tcp_verify", "true"),
            ("tcp_ca_file", "\"/etc/ssl/certs/ca-certificates.crt\""),
            ("tcp_sni", "\"localhost\""),
            ("tcp_verbose", "true"),
        ],
    ));
    cases.push(case(
        "tcp-pinned",
        "tcp-rs",
        &[("tcp_port", "443"), ("tcp_pin", &format!("[ {PIN} ]"))],
    ));
    cases.push(case(
        "tcp-insecure",
        "tcp-rs",
        &[("tcp_port", "443"), ("tcp_insecure", "true")],
    ));
    let mut ftp = case("ftp-all", "ftp-rs", &[]);
    ftp.vars = tcp_all("ftp", "21");
    cases.push(ftp);
    cases.push(case("ftp-ipv4", "ftp-rs", &[("ftp_ipv4", "true")]));
    cases.push(case(
        "ftp-extras",
        "ftp-rs",
        &[
            ("ftp_starttls", "true"),
            ("ftp_user", "\"ftpmon\""),
            ("ftp_password", "\"ftppass\""),
            ("ftp_allow_plaintext", "true"),
            ("ftp_insecure", "true"),
            ("ftp_sni", "\"localhost\""),
            ("ftp_verbose", "true"),
        ],
    ));
    cases.push(case(
        "ftp-trust",
        "ftp-rs",
        &[
            ("ftp_ssl", "true"),
            ("ftp_verify", "true"),
            ("ftp_ca_file", "\"/etc/ssl/monitest/cert.pem\""),
        ],
    ));
    cases.push(case(
        "ftp-pinned",
        "ftp-rs",
        &[("ftp_pin", &format!("[ {PIN} ]"))],
    ));
    cases.push(case(
        "http-all",
        "http-rs",
        &[
            ("http_vhost", "\"localhost\""),
            ("http_uri", "\"/health\""),
            ("http_port", "443"),
            ("http_ssl", "true"),
            ("http_sni", "true"),
            ("http_clientcert", "\"/etc/ssl/client.pem\""),
            ("http_privatekey", "\"/etc/ssl/client.key\""),
            ("http_auth_pair", "\"webmon:webpass\""),
            ("http_ignore_body", "true"),
            ("http_warn_time", "1"),
            ("http_critical_time", "2"),
            ("http_expect", "\"200,301\""),
            ("http_headerstring", "\"X-Rsplugins\""),
            ("http_string", "\"OK\""),
            ("http_post", "\"a=b\""),
            ("http_method", "\"PUT\""),
            ("http_maxage", "\"1d\""),
            ("http_contenttype", "\"text/plain\""),
            ("http_linespan", "true"),
            ("http_expect_body_regex", "\"O.\""),
            ("http_invertregex", "true"),
            ("http_useragent", "\"monitor\""),
            ("http_header", "[ \"X-A: 1\", \"X-B: 2\" ]"),
            ("http_extendedperfdata", "true"),
            ("http_onredirect", "\"follow\""),
            ("http_pagesize", "\"1:100\""),
            ("http_timeout", "10"),
            ("http_ipv4", "true"),
            ("http_verbose", "true"),
        ],
    ));
    cases.push(case(
        "http-eregi",
        "http-rs",
        &[("http_expect_body_eregi", "\"ok\""), ("http_ipv6", "true")],
    ));
    cases.push(case(
        "http-certificate",
        "http-rs",
        &[
            ("http_certificate", "\"30,14\""),
            ("http_ssl_force_tlsv1_2", "true"),
        ],
    ));
    // Accepted on the command line; the plugin refuses the version when it runs.
    for var in [
        "http_ssl_force_tlsv1",
        "http_ssl_force_tlsv1_1",
        "http_ssl_force_sslv2",
        "http_ssl_force_sslv3",
        "http_ssl_force_tlsv1_or_higher",
        "http_ssl_force_tlsv1_1_or_higher",
        "http_ssl_force_tlsv1_2_or_higher",
        "http_ssl_force_sslv2_or_higher",
        "http_ssl_force_sslv3_or_higher",
    ] {
        cases.push(case(&format!("http-{var}"), "http-rs", &[(var, "true")]));
    }
    cases.push(case(
        "http-refused",
        "http-rs",
        &[("http_proxy_auth_pair", "\"p:q\""), ("http_link", "true")],
    ));
    cases.push(case(
        "http-extras",
        "http-rs",
        &[
            ("http_ssl", "true"),
            ("http_continue_after_certificate", "true"),
            ("http_ca_cert", "\"/etc/ssl/certs/ca-certificates.crt\""),
            ("http_verify_cert", "true"),
            ("http_state_regex", "\"warning\""),
            ("http_max_redirs", "3"),
            ("http_enable_automatic_decompression", "true"),
            ("http_max_body", "1000000"),
            ("http_timeout_result", "\"unknown\""),
        ],
    ));
    cases.push(case(
        "http-insecure",
        "http-rs",
        &[("http_ssl", "true"), ("http_insecure", "true")],
    ));
    cases.push(case(
        "http-pinned",
        "http-rs",
        &[("http_ssl", "true"), ("http_pin", &format!("[ {PIN} ]"))],
    ));
    cases.push(case(
        "dns-all",
        "dns-rs",
        &[
            ("dns_lookup", "\"www.example.test\""),
            ("dns_server", "\"127.0.0.1\""),
            ("dns_query_type", "\"AAAA\""),
            (
                "dns_expected_answers",
                "[ \"2001:db8::10\", \"2001:db8::/64\" ]",
            ),
            ("dns_all_expected", "true"),
            ("dns_authoritative", "true"),
            ("dns_wtime", "0.5"),
            ("dns_ctime", "1"),
            ("dns_timeout", "5"),
        ],
    ));
    cases.push(case(
        "dns-nxdomain",
        "dns-rs",
        &[
            ("dns_lookup", "\"gone.example.test\""),
            ("dns_accept_cname", "true"),
        ],
    ));
    cases.push(case(
        "dns-extras",
        "dns-rs",
        &[
            ("dns_server", "\"127.0.0.1\""),
            ("dns_port", "5300"),
            ("dns_use_ipv4", "true"),
            ("dns_tcp", "true"),
            (
                "dns_compare_serial",
                "[ \"127.0.0.1:5300\", \"[::1]:5300\" ]",
            ),
            ("dns_serial_critical", "true"),
            ("dns_verbose", "true"),
        ],
    ));
    cases.push(case(
        "dns-ipv6",
        "dns-rs",
        &[("dns_server", "\"::1\""), ("dns_use_ipv6", "true")],
    ));
    cases.push(case(
        "dig-all",
        "dig-rs",
        &[
            ("dig_server", "\"127.0.0.1\""),
            ("dig_port", "53"),
            ("dig_lookup", "\"example.test\""),
            ("dig_record_type", "\"MX\""),
            ("dig_expected_address", "\"10 mail.example.test.\""),
            ("dig_arguments", "\"+norecurse +tcp\""),
            ("dig_warning", "0.5"),
            ("dig_critical", "1"),
            ("dig_timeout", "5"),
            ("dig_ipv4", "true"),
        ],
    ));
    cases.push(case(
        "dig-extras",
        "dig-rs",
        &[
            ("dig_lookup", "\"www.example.test\""),
            ("dig_require_flags", "[ \"aa\", \"qr\" ]"),
            ("dig_forbid_flags", "\"tc\""),
            ("dig_tcp", "true"),
            ("dig_compare_serial", "\"127.0.0.1:5300\""),
            ("dig_serial_critical", "true"),
            ("dig_verbose", "true"),
        ],
    ));
    cases.push(case(
        "dig-ipv6",
        "dig-rs",
        &[("dig_lookup", "\"www.example.test\""), ("dig_ipv6", "true")],
    ));
    cases.push(case(
        "smtp-all",
        "smtp-rs",
        &[
            ("smtp_port", "587"),
            ("smtp_mail_from", "\"monitor@localhost\""),
            ("smtp_expect", "\"220\""),
            ("smtp_command", "[ \"NOOP\", \"HELP\" ]"),
            ("smtp_response", "[ \"250\", \"214\" ]"),
            ("smtp_helo_fqdn", "\"monitor.example\""),
            ("smtp_certificate_age", "\"30,14\""),
            ("smtp_starttls", "true"),
            ("smtp_authtype", "\"LOGIN\""),
            ("smtp_authuser", "\"monitor\""),
            ("smtp_authpass", "\"monpass\""),
            ("smtp_ignore_quit", "true"),
            ("smtp_warning", "1"),
            ("smtp_critical", "2"),
            ("smtp_timeout", "10"),
            ("smtp_ipv6", "true"),
        ],
    ));
    cases.push(case(
        "smtp-quit-false",
        "smtp-rs",
        &[("smtp_ignore_quit", "false"), ("smtp_ipv4", "true")],
    ));
    cases.push(case(
        "smtp-extras",
        "smtp-rs",
        &[
            ("smtp_ssl", "true"),
            ("smtp_mail_from", "\"monitor@localhost\""),
            (
                "smtp_rcpt_to",
                "[ \"root@localhost\", \"postmaster@localhost\" ]",
            ),
            ("smtp_send_mail", "true"),
            ("smtp_verify", "true"),
            ("smtp_ca_file", "\"/etc/ssl/monitest/cert.pem\""),
            ("smtp_sni", "\"localhost\""),
            ("smtp_lmtp", "true"),
            ("smtp_verbose", "true"),
        ],
    ));
    cases.push(case(
        "smtp-plain-auth",
        "smtp-rs",
        &[
            ("smtp_authtype", "\"PLAIN\""),
            ("smtp_authuser", "\"monitor\""),
            ("smtp_authpass", "\"monpass\""),
            ("smtp_allow_plaintext", "true"),
            ("smtp_insecure", "true"),
        ],
    ));
    cases.push(case(
        "smtp-pinned",
        "smtp-rs",
        &[
            ("smtp_starttls", "true"),
            ("smtp_pin", &format!("[ {PIN} ]")),
        ],
    ));
    cases.push(case(
        "ssmtp-all",
        "ssmtp-rs",
        &[
            ("ssmtp_port", "465"),
            ("ssmtp_expect", "\"220\""),
            ("ssmtp_certificate_age", "\"30,14\""),
            ("ssmtp_ssl", "true"),
            ("ssmtp_warning", "1"),
            ("ssmtp_critical", "2"),
            ("ssmtp_timeout", "10"),
            ("ssmtp_ipv4", "true"),
        ],
    ));
    cases.push(case("ssmtp-ipv6", "ssmtp-rs", &[("ssmtp_ipv6", "true")]));
    cases.push(case(
        "ssmtp-extras",
        "ssmtp-rs",
        &[
            ("ssmtp_command", "[ \"NOOP\" ]"),
            ("ssmtp_response", "[ \"250\" ]"),
            ("ssmtp_mail_from", "\"monitor@localhost\""),
            ("ssmtp_rcpt_to", "[ \"root@localhost\" ]"),
            ("ssmtp_send_mail", "true"),
            ("ssmtp_helo_fqdn", "\"monitor.example\""),
            ("ssmtp_verify", "true"),
            ("ssmtp_ca_file", "\"/etc/ssl/monitest/cert.pem\""),
            ("ssmtp_sni", "\"localhost\""),
            ("ssmtp_authtype", "\"PLAIN\""),
            ("ssmtp_authuser", "\"monitor\""),
            ("ssmtp_authpass", "\"monpass\""),
            ("ssmtp_allow_plaintext", "true"),
            ("ssmtp_lmtp", "true"),
            ("ssmtp_ignore_quit", "true"),
            ("ssmtp_verbose", "true"),
        ],
    ));
    cases.push(case(
        "ssmtp-insecure",
        "ssmtp-rs",
        &[("ssmtp_insecure", "true")],
    ));
    cases.push(case(
        "ssmtp-pinned",
        "ssmtp-rs",
        &[("ssmtp_pin", &format!("[ {PIN} ]"))],
    ));
    // The check_tcp options check_ssmtp_rs does not have: refused by name.
    for (var, value) in [
        ("escape", "true"),
        ("send", "\"QUIT\""),
        ("all", "true"),
        ("quit", "\"QUIT\""),
        ("refuse", "\"crit\""),
        ("mismatch", "\"warn\""),
        ("jail", "true"),
        ("maxbytes", "1024"),
        ("delay", "1"),
    ] {
        let var = format!("ssmtp_{var}");
        let mut refused = case(&format!("ssmtp-{var}"), "ssmtp-rs", &[(&var, value)]);
        refused.expect = Expect::Refused(format!("--not-supported-{var}"));
        cases.push(refused);
    }
    for (name, port, expect) in [
        ("pop", "110", "[ \"+OK\" ]"),
        ("spop", "995", "[ \"+OK\", \"ready\" ]"),
        ("imap", "143", "[ \"* OK\" ]"),
        ("simap", "993", "[ \"* OK\", \"ready\" ]"),
    ] {
        let mut all = case(&format!("{name}-all"), &format!("{name}-rs"), &[]);
        all.vars = mail_all(name, port, expect);
        cases.push(all);
        cases.push(case(
            &format!("{name}-ipv6"),
            &format!("{name}-rs"),
            &[(&format!("{name}_ipv6"), "true")],
        ));
        let v = |s: &str| format!("{name}_{s}");
        let mut extras = vec![
            (v("user"), "\"monitor\"".to_string()),
            (v("password"), "\"monpass\"".to_string()),
            (v("allow_plaintext"), "true".to_string()),
            (v("messages_warning"), "10".to_string()),
            (v("messages_critical"), "20".to_string()),
            (v("verify"), "true".to_string()),
            (v("ca_file"), "\"/etc/ssl/monitest/cert.pem\"".to_string()),
            (v("sni"), "\"localhost\"".to_string()),
            (v("verbose"), "true".to_string()),
        ];
        if !name.starts_with('s') {
            extras.push((v("starttls"), "true".to_string()));
        }
        if name.ends_with("imap") {
            extras.push((v("mailbox"), "\"Archive\"".to_string()));
        }
        cases.push(Case {
            service: format!("{name}-extras"),
            command: format!("{name}-rs"),
            vars: extras,
            expect: Expect::Accepted,
        });
        cases.push(case(
            &format!("{name}-insecure"),
            &format!("{name}-rs"),
            &[(&v("insecure"), "true")],
        ));
        cases.push(case(
            &format!("{name}-pinned"),
            &format!("{name}-rs"),
            &[(&v("pin"), &format!("[ {PIN} ]"))],
        ));
    }
    // Our own commands (rsplugins-commands.conf), each with its defaults
    // and its required options (variables `<plugin>_<option>`).
    for cmd in xtask::commands() {
        let name = cmd.get_name().to_string();
        let mut own = case(&format!("own-{name}"), &name, &[]);
        let short = name.trim_start_matches("check_").trim_end_matches("_rs");
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if !arg.is_required_set() || long == "hostname" {
                continue;
            }
            let (_, value) = REQUIRED_SAMPLES
                .iter()
                .find(|(l, _)| *l == long)
                .unwrap_or_else(|| panic!("{name} requires --{long}: add a sample value"));
            own.vars.push((
                format!("{short}_{}", long.replace('-', "_")),
                value.to_string(),
            ));
        }
        cases.push(own);
    }
    cases
}

/// Our EventCommands' names (`restart-service-rs`).
fn event_commands() -> Vec<String> {
    xtask::event_handler_commands()
        .iter()
        .map(|c| xtask::event_command_name(c.get_name()))
        .collect()
}

/// A service that goes CRITICAL and runs one of our EventCommands with
/// these variables (Icinga 2 literals).
struct EventCase {
    service: String,
    command: String,
    vars: Vec<(String, String)>,
}

fn event_case(service: &str, command: &str, vars: &[(&str, &str)]) -> EventCase {
    EventCase {
        service: service.to_string(),
        command: command.to_string(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn event_cases() -> Vec<EventCase> {
    let mut cases: Vec<EventCase> = event_commands()
        .iter()
        .map(|name| event_case(&format!("ev-{name}-defaults"), name, &[]))
        .collect();
    cases.push(event_case(
        "ev-restart-all",
        "restart-service-rs",
        &[
            ("restart_on_state", "\"critical,warning\""),
            ("restart_on_attempt", "2"),
            ("restart_unit", "\"vsftpd\""),
            ("restart_manager", "\"systemd\""),
            ("restart_stop", "\"/usr/sbin/service vsftpd stop\""),
            ("restart_start", "\"/usr/sbin/service vsftpd start\""),
            ("restart_also", "[ \"proftpd\", \"xinetd\" ]"),
            ("restart_pidfile", "\"/run/vsftpd.pid\""),
            ("restart_exe", "\"/usr/sbin/vsftpd\""),
            ("restart_user", "\"ftp\""),
            ("restart_grace", "3"),
            (
                "restart_check",
                "\"/usr/lib/nagios/plugins/check_ftp_rs -H 127.0.0.1 -t 5\"",
            ),
            ("restart_validate_within", "20"),
            ("restart_max_restarts", "2"),
            ("restart_window", "600"),
            ("restart_state_dir", "\"/var/lib/rsplugins\""),
            ("restart_notify", "\"/usr/bin/logger -t rsplugins\""),
            ("restart_sudo", "true"),
            ("restart_dry_run", "true"),
            ("restart_verbose", "true"),
            ("restart_output_format", "\"json\""),
            ("restart_timeout", "40"),
        ],
    ));
    cases.push(event_case(
        "ev-shed-all",
        "shed-load-rs",
        &[
            ("shed_on_state", "\"critical\""),
            ("shed_on_attempt", "2"),
            ("shed_name", "\"memory\""),
            ("shed_stop_unit", "[ \"backup\", \"indexer\" ]"),
            ("shed_manager", "\"service\""),
            ("shed_marker", "[ \"/run/rsplugins-throttle\" ]"),
            (
                "shed_run",
                "[ \"/usr/sbin/iptables -I INPUT -p tcp --dport 8080 -j DROP\" ]",
            ),
            (
                "shed_undo",
                "[ \"/usr/sbin/iptables -D INPUT -p tcp --dport 8080 -j DROP\" ]",
            ),
            ("shed_sudo", "true"),
            ("shed_state_dir", "\"/var/lib/rsplugins\""),
            ("shed_dry_run", "true"),
            ("shed_verbose", "true"),
            ("shed_output_format", "\"text\""),
            ("shed_timeout", "30"),
        ],
    ));
    cases.push(event_case(
        "ev-reap-all",
        "reap-procs-rs",
        &[
            ("reap_state", "\"Z\""),
            ("reap_ppid", "1"),
            ("reap_vsz", "100"),
            ("reap_rss", "100"),
            ("reap_pcpu", "50"),
            ("reap_user", "\"root\""),
            ("reap_argument_array", "\"--stuck\""),
            ("reap_ereg_argument_array", "\"^/usr/bin/php\""),
            ("reap_command", "\"php-fpm\""),
            ("reap_exclude_process", "\"sshd,systemd\""),
            ("reap_no_kthreads", "true"),
            ("reap_older_than", "3600"),
            ("reap_orphaned", "true"),
            ("reap_signal", "\"KILL\""),
            ("reap_grace", "2"),
            ("reap_max", "5"),
            ("reap_dry_run", "true"),
            ("reap_verbose", "true"),
            ("reap_output_format", "\"text\""),
            ("reap_timeout", "15"),
        ],
    ));
    cases
}

/// Every variable of our EventCommands is set by some event service.
#[test]
fn the_event_services_try_every_variable() {
    let cases = event_cases();
    let text = committed(OURS_EVENTS);
    let mut missing = Vec::new();
    let mut command = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("object EventCommand \"") {
            command = name.trim_end_matches(" {").trim_matches('"').to_string();
            continue;
        }
        let line = line.trim();
        let Some(macro_) = line
            .strip_prefix("value = \"$")
            .or_else(|| line.strip_prefix("set_if = \"$"))
        else {
            continue;
        };
        let var = macro_.trim_end_matches("$\"");
        if var.starts_with("service.") {
            continue;
        }
        let set = cases
            .iter()
            .any(|c| c.command == command && c.vars.iter().any(|(v, _)| v == var));
        if !set {
            missing.push(format!("{command}: {var}"));
        }
    }
    assert!(!command.is_empty(), "no EventCommand in {OURS_EVENTS}");
    assert!(missing.is_empty(), "no event service sets {missing:?}");
}

/// Every ITL variable and every extra variable of each `<name>-rs` is set
/// by some service, so no argument goes untried.
#[test]
fn the_services_try_every_variable() {
    let cases = cases();
    let commands = xtask::commands();
    let mut missing = Vec::new();
    for c in ITL_COMMANDS {
        let set: BTreeSet<&str> = cases
            .iter()
            .filter(|k| k.command == format!("{}-rs", c.name))
            .flat_map(|k| k.vars.iter().map(|(v, _)| v.as_str()))
            .collect();
        let plugin = commands
            .iter()
            .find(|p| p.get_name() == c.bin().expect("binary").plugin)
            .expect("plugin");
        let extras = icinga::extra_variables(c, plugin).expect("extras");
        for var in icinga::itl_variables(c).into_iter().chain(extras) {
            // The ITL sets <name>_address to $check_address$ in every service.
            let exempt = NOT_SET.iter().any(|(v, _)| *v == var) || var.ends_with("_address");
            if !exempt && !set.contains(var.as_str()) {
                missing.push(var);
            }
        }
    }
    assert!(missing.is_empty(), "no service sets {missing:?}");
}

/// Stands in for every binary: writes the service (from $RSTEST) and the
/// command line it was given, tab-separated, to a file of its own (written
/// aside, then renamed, so the test never reads half of one).
const STUB: &str = "#!/bin/sh\n\
out=\"$(dirname \"$0\")/../out\"\n\
line=\"$RSTEST\"\n\
for a in \"$0\" \"$@\"; do line=\"$line$(printf '\\t')$a\"; done\n\
printf '%s\\n' \"$line\" > \"$out/.$$\" && mv \"$out/.$$\" \"$out/run.$$\"\n\
echo 'OK - stub'\n";

/// Ends the daemon: SIGTERM, then SIGKILL if it has not gone in 20 s.
fn stop(daemon: &mut std::process::Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = daemon.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[test]
fn icinga2_builds_command_lines_our_plugins_accept() {
    let Some(icinga2) = icinga2() else { return };
    let scratch = Scratch::new("icinga2-argv");
    let plugins = scratch.dir("plugins", 0o755);
    scratch.dir("out", 0o777);
    // Icinga's own state, all inside the scratch directory, so a daemon
    // already running on this machine is not disturbed.
    let mut state = Vec::new();
    for (dir, constant) in [
        ("run", "InitRunDir"),
        ("cache", "CacheDir"),
        ("log", "LogDir"),
        ("spool", "SpoolDir"),
        ("lib", "DataDir"),
    ] {
        let path = scratch.dir(dir, 0o777);
        state.push(format!("-D{constant}={}", path.display()));
    }
    std::fs::create_dir_all(scratch.0.join("run/icinga2/cmd")).expect("run dir");
    support::set_mode(&scratch.0.join("run/icinga2"), 0o777);
    support::set_mode(&scratch.0.join("run/icinga2/cmd"), 0o777);
    let stub = plugins.join("stub");
    std::fs::write(&stub, STUB).expect("stub");
    support::set_mode(&stub, 0o755);
    for b in icinga::binaries() {
        std::os::unix::fs::symlink("stub", plugins.join(&b.name)).expect("symlink");
    }
    for h in xtask::handler_commands() {
        std::os::unix::fs::symlink("stub", plugins.join(h.get_name())).expect("symlink");
    }

    let cases = cases();
    let mut body = format!(
        "const PluginDir = \"{}\"\n\
         object CheckerComponent \"checker\" {{ }}\n\
         object Host \"localhost\" {{\n  check_command = \"dummy\"\n  enable_active_checks = false\n  address = \"127.0.0.1\"\n  address6 = \"::1\"\n}}\n",
        plugins.display()
    );
    // A wrapper per command adds only $RSTEST, so the stub knows the service.
    let names: BTreeSet<&str> = cases.iter().map(|c| c.command.as_str()).collect();
    for name in &names {
        let _ = writeln!(
            body,
            "object CheckCommand \"t-{name}\" {{\n  import \"{name}\"\n  env.RSTEST = \"$service.name$\"\n}}"
        );
    }
    for c in &cases {
        let _ = writeln!(
            body,
            "object Service \"{}\" {{\n  host_name = \"localhost\"\n  check_command = \"t-{}\"\n  check_interval = 1s\n  retry_interval = 1s",
            c.service, c.command
        );
        for (var, value) in &c.vars {
            let _ = writeln!(body, "  vars.{var} = {value}");
        }
        body.push_str("}\n");
    }
    // Event handlers: a service that is CRITICAL at once (HARD: one attempt)
    // runs its event command on that state change.
    let events = event_cases();
    for name in event_commands() {
        let _ = writeln!(
            body,
            "object EventCommand \"t-{name}\" {{\n  import \"{name}\"\n  env.RSTEST = \"$service.name$\"\n}}"
        );
    }
    for c in &events {
        let _ = writeln!(
            body,
            "object Service \"{}\" {{\n  host_name = \"localhost\"\n  check_command = \"dummy\"\n  vars.dummy_state = 2\n  max_check_attempts = 1\n  check_interval = 1s\n  retry_interval = 1s\n  event_command = \"t-{}\"",
            c.service, c.command
        );
        for (var, value) in &c.vars {
            let _ = writeln!(body, "  vars.{var} = {value}");
        }
        body.push_str("}\n");
    }
    let cfg = config(&scratch, &body);
    let log_path = scratch.0.join("daemon.log");
    let log_file = std::fs::File::create(&log_path).expect("log");
    let mut daemon = Command::new(&icinga2)
        .args(["daemon", "-c"])
        .arg(&cfg)
        .args(&state)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log"))
        .stderr(log_file)
        .spawn()
        .expect("start icinga2");

    let out_dir = scratch.0.join("out");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while Instant::now() < deadline {
        if let Ok(Some(status)) = daemon.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("icinga2 ended ({status}):\n{log}");
        }
        for entry in std::fs::read_dir(&out_dir).expect("out/").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("run.") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let mut words = text.trim_end_matches('\n').split('\t').map(str::to_string);
            let service = words.next().unwrap_or_default();
            seen.entry(service).or_insert_with(|| words.collect());
        }
        if cases.iter().all(|c| seen.contains_key(&c.service))
            && events.iter().all(|c| seen.contains_key(&c.service))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(&mut daemon);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();

    let mut failures = Vec::new();
    for c in &cases {
        let Some(argv) = seen.get(&c.service) else {
            failures.push(format!("{}: never run", c.service));
            continue;
        };
        let shown = argv.join(" ");
        // A boolean that reached the command line as a word is an ITL
        // quirk left unhandled (`-q true`).
        let accepted = matches!(c.expect, Expect::Accepted);
        if accepted && argv.iter().any(|w| w == "true" || w == "false") {
            failures.push(format!("{}: a boolean as a word: {shown}", c.service));
        }
        let network = !matches!(
            c.command.as_str(),
            "load-rs" | "procs-rs" | "disk-rs" | "swap-rs"
        ) && !["load", "proc", "disk", "swap", "mem"]
            .iter()
            .any(|p| c.command == format!("check_{p}_rs"));
        let lookup = c
            .vars
            .iter()
            .find(|(v, _)| v == "dns_lookup")
            .map(|(_, value)| value.trim_matches('"'));
        let address = if c.command == "check_dns_rs" || c.command == "dns-rs" {
            // Its -H is the name to look up: the host's name (or the one the service names),
            // not its address.
            lookup.unwrap_or("localhost")
        } else if c.vars.iter().any(|(v, _)| v.ends_with("_ipv6")) {
            "::1"
        } else {
            "127.0.0.1"
        };
        if network && !argv.iter().any(|w| w == address) {
            failures.push(format!("{}: no host {address}: {shown}", c.service));
        }
        match (&c.expect, parse(argv)) {
            (Expect::Accepted, Ok(())) => {}
            (Expect::Accepted, Err(e)) => {
                failures.push(format!("{}: refused: {shown}\n{e}", c.service));
            }
            (Expect::Refused(what), Err(e)) if e.contains(what.as_str()) => {}
            (Expect::Refused(what), other) => failures.push(format!(
                "{}: should be refused naming {what}: {shown}\n{other:?}",
                c.service
            )),
        }
    }
    for c in &events {
        let Some(argv) = seen.get(&c.service) else {
            failures.push(format!("{}: event handler never run", c.service));
            continue;
        };
        let shown = argv.join(" ");
        if argv.iter().any(|w| w == "true" || w == "false") {
            failures.push(format!("{}: a boolean as a word: {shown}", c.service));
        }
        // The event, from the macros, where the handler reads one.
        let reads_event = c.command != "reap-procs-rs";
        let has = |pair: [&str; 2]| argv.windows(2).any(|w| w == pair);
        let event_ok = has(["--state", "CRITICAL"])
            && has(["--state-type", "HARD"])
            && has(["--service", c.service.as_str()])
            && argv
                .windows(2)
                .any(|w| w[0] == "--attempt" && w[1].parse::<u32>().is_ok());
        if reads_event && !event_ok {
            failures.push(format!("{}: no event: {shown}", c.service));
        }
        if !reads_event && argv.iter().any(|w| w.contains("CRITICAL")) {
            failures.push(format!("{}: an event it does not read: {shown}", c.service));
        }
        if let Err(e) = parse(argv) {
            failures.push(format!("{}: refused: {shown}\n{e}", c.service));
        }
    }
    // Icinga warns about arguments it cannot build (a missing macro, a bad
    // value type); none of ours may cause one.
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("warning/") || l.contains("critical/"))
        .collect();
    assert!(
        failures.is_empty() && warnings.is_empty(),
        "{}\nicinga2 log warnings:\n{}",
        failures.join("\n"),
        warnings.join("\n")
    );
}
