//! The engine suite (issue 9): every command we ship, run by a real Icinga 2
//! and a real Nagios 4 (`tests/testbed/engines.sh start`), read back from the
//! engine and compared with the same binary run by hand with the same
//! arguments.
//!
//! For each command found in our definition files (the engines include them
//! by path; nothing here lists them): one service with default vars and one
//! with typical vars; for each network command one against a port that
//! accepts and never answers, with the plugin's `-t 2` and the engine's 60 s,
//! where the engine must show our time-out. Nagios also runs Debian's stock
//! command lines (/etc/nagios-plugins/config/*.cfg) with only the binary
//! renamed to ours. Icinga 2 parses every result's performance data (its
//! InfluxdbWriter, see engines.sh): its log must show no "Ignoring invalid
//! perfdata" for our services, and must show it for a control service that
//! prints broken perfdata, so the look can fail.
//!
//! Checks run only when forced, all at once; the by-hand runs run in
//! parallel, as the engine's user. Under CI=true a missing engine or testbed
//! fails; elsewhere the tests skip with a note.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rsplugins_tests::engine::{
    engines, icinga2_check_commands, itl_commands, mask_numbers, nagios_commands, nagios_expand,
    parse_perfdata, resolve_commands, split_output, state_name, status_blocks, CheckCommand,
    Engines, HandRun, Perf, Var,
};
use rsplugins_tests::system::epoch;
use rsplugins_tests::{testbed, testbed_env};
use serde_json::Value;

/// The plugin's own time-out against the hanging port, in seconds.
const PLUGIN_TIMEOUT: u64 = 2;
/// The engines' time-out for a check (engines.sh: service_check_timeout=60;
/// Icinga's CheckCommand default is 1m).
const ENGINE_TIMEOUT: u64 = 60;
/// How long results may take to show up in an engine.
const RESULT_WAIT: Duration = Duration::from_secs(60);
/// Expect string that never comes (makes check_tcp_rs wait for an answer).
const NEVER: &str = "rsplugins-never-sent";
/// The file the suite writes into each engine's objects directory.
const SUITE: &str = "engines-suite";

/// What a service must show besides being the same as by hand.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Only the same as by hand.
    Same,
    /// OK (the testbed's servers answer, the thresholds are wide).
    Ok,
    /// Anything but UNKNOWN (local checks whose state depends on the machine).
    NotUnknown,
    /// Our time-out: this state, "timed out after 2 seconds", well before the engine's.
    TimedOut(i64),
}

/// One service of the suite.
#[derive(Debug, Clone)]
struct Case {
    service: String,
    kind: &'static str,
    command: String,
    file: String,
    expect: Expect,
    /// Nagios: the command line as the engine runs it (macros expanded).
    line: Option<String>,
    /// Nagios stock lines: the same line with Debian's C plugin.
    c_line: Option<String>,
}

/// A result as the engine shows it.
#[derive(Debug, Clone, Default)]
struct Seen {
    state: i64,
    summary: String,
    perfdata: Vec<String>,
    argv: Option<Vec<String>>,
    seconds: f64,
}

/// Test values that the typical vars and arguments use.
struct Values {
    ca: String,
    mail_user: String,
    mail_pass: String,
    ftp_user: String,
    ftp_pass: String,
    db_user: String,
    db_pass: String,
    db_name: String,
}

impl Values {
    fn from_testbed() -> Values {
        let get = |k: &str| {
            testbed_env(&format!("RSPLUGINS_TESTBED_{k}")).unwrap_or_else(|| {
                panic!("/etc/rsplugins-testbed.env has no RSPLUGINS_TESTBED_{k}")
            })
        };
        Values {
            ca: get("CA"),
            mail_user: get("MAIL_USER"),
            mail_pass: get("MAIL_PASS"),
            ftp_user: get("FTP_USER"),
            ftp_pass: get("FTP_PASS"),
            db_user: get("DB_USER"),
            db_pass: get("DB_PASS"),
            db_name: get("DB_NAME"),
        }
    }
}

fn s(v: &str) -> Var {
    Var::Str(v.to_string())
}

/// Typical custom variables of every Icinga 2 command we ship, by name: what
/// a user sets, against the testbed's servers. `None`: the suite does not
/// know the command yet, which fails the suite (add it here).
fn icinga2_typical(name: &str, v: &Values) -> Option<(Vec<(&'static str, Var)>, Expect)> {
    use Expect::{NotUnknown, Ok};
    let t = |vars: Vec<(&'static str, Var)>, e| Some((vars, e));
    match name {
        // contrib/icinga2/rsplugins-commands.conf: our own variable names
        "check_disk_rs" => t(
            vec![
                ("disk_warning", s("20%")),
                ("disk_critical", s("10%")),
                ("disk_path", Var::List(vec!["/".into()])),
            ],
            NotUnknown,
        ),
        "check_ftp_rs" => t(
            vec![
                ("ftp_starttls", Var::Bool(true)),
                ("ftp_ca_file", s(&v.ca)),
                ("ftp_user", s(&v.ftp_user)),
                ("ftp_password", s(&v.ftp_pass)),
            ],
            Ok,
        ),
        "check_imap_rs" => t(
            vec![
                ("imap_starttls", Var::Bool(true)),
                ("imap_ca_file", s(&v.ca)),
                ("imap_user", s(&v.mail_user)),
                ("imap_password", s(&v.mail_pass)),
                ("imap_messages_warning", s("10")),
                ("imap_messages_critical", s("20")),
            ],
            Ok,
        ),
        "check_load_rs" => t(
            vec![
                ("load_percpu", Var::Bool(true)),
                ("load_warning", s("5,4,3")),
                ("load_critical", s("10,8,6")),
            ],
            NotUnknown,
        ),
        "check_mem_rs" => t(
            vec![("mem_warning", s("10%")), ("mem_critical", s("5%"))],
            NotUnknown,
        ),
        "check_pop3_rs" => t(
            vec![
                ("pop3_starttls", Var::Bool(true)),
                ("pop3_ca_file", s(&v.ca)),
                ("pop3_user", s(&v.mail_user)),
                ("pop3_password", s(&v.mail_pass)),
                ("pop3_messages_warning", s("10")),
                ("pop3_messages_critical", s("20")),
            ],
            Ok,
        ),
        // Not sshd: the ssh checks of the same batch fork sshd children, so the engine's and
        // the by-hand count would differ. dovecot's master is one process whatever its load.
        "check_proc_rs" => t(
            vec![("proc_command", s("dovecot")), ("proc_critical", s("1:"))],
            Ok,
        ),
        "check_smtp_rs" => t(
            vec![
                ("smtp_starttls", Var::Bool(true)),
                ("smtp_ca_file", s(&v.ca)),
                ("smtp_warning", s("2")),
                ("smtp_critical", s("5")),
            ],
            Ok,
        ),
        "check_ssh_rs" => t(
            vec![
                ("ssh_port", s("22")),
                ("ssh_remote_protocol", s("2.0")),
                ("ssh_timeout", s("5")),
            ],
            Ok,
        ),
        "check_swap_rs" => t(
            vec![
                ("swap_no_swap", s("ok")),
                ("swap_warning", s("50%")),
                ("swap_critical", s("25%")),
            ],
            NotUnknown,
        ),
        "check_tcp_rs" => t(
            vec![
                ("tcp_port", s("25")),
                ("tcp_expect", s("220")),
                ("tcp_warning", s("2")),
                ("tcp_critical", s("5")),
            ],
            Ok,
        ),
        "check_db_rs" => t(
            vec![
                ("db_type", s("mysql")),
                ("db_user", s(&v.db_user)),
                ("db_password", s(&v.db_pass)),
                ("db_database", s(&v.db_name)),
                ("db_query", s("select 42")),
                ("db_query_warning", s("50")),
                ("db_connections", Var::Bool(true)),
            ],
            Ok,
        ),
        "check_mysql_rs" => t(
            vec![
                ("mysql_username", s(&v.db_user)),
                ("mysql_password", s(&v.db_pass)),
            ],
            Ok,
        ),
        "check_mysql_query_rs" => t(
            vec![
                ("mysql_query_username", s(&v.db_user)),
                ("mysql_query_password", s(&v.db_pass)),
                ("mysql_query_query", s("select 5")),
                ("mysql_query_warning", s("10")),
            ],
            Ok,
        ),
        "check_pgsql_rs" => t(
            vec![
                ("pgsql_logname", s(&v.db_user)),
                ("pgsql_password", s(&v.db_pass)),
                ("pgsql_database", s(&v.db_name)),
            ],
            Ok,
        ),
        "check_http_rs" => t(
            vec![
                ("http_hostname", s("localhost")),
                ("http_url", s("/health")),
                ("http_string", s("OK")),
                ("http_ssl", Var::Bool(true)),
                ("http_ca_cert", s(&v.ca)),
                ("http_warning", s("2")),
                ("http_critical", s("5")),
            ],
            Ok,
        ),
        // contrib/icinga2/rsplugins-itl-commands.conf: the ITL's variable names
        "load-rs" => t(
            vec![
                ("load_wload1", s("5")),
                ("load_wload5", s("4")),
                ("load_wload15", s("3")),
                ("load_cload1", s("10")),
                ("load_cload5", s("8")),
                ("load_cload15", s("6")),
                ("load_percpu", Var::Bool(true)),
            ],
            NotUnknown,
        ),
        "procs-rs" => t(
            vec![("procs_command", s("dovecot")), ("procs_critical", s("1:"))],
            Ok,
        ),
        "disk-rs" => t(
            vec![
                ("disk_partitions", Var::List(vec!["/".into()])),
                ("disk_wfree", s("20%")),
                ("disk_cfree", s("10%")),
            ],
            NotUnknown,
        ),
        "swap-rs" => t(vec![("swap_noswap", s("ok"))], NotUnknown),
        "ssh-rs" => t(vec![("ssh_port", s("22")), ("ssh_timeout", s("5"))], Ok),
        "tcp-rs" => t(
            vec![
                ("tcp_port", s("25")),
                ("tcp_expect", s("220")),
                ("tcp_wtime", s("2")),
                ("tcp_ctime", s("5")),
            ],
            Ok,
        ),
        "smtp-rs" => t(
            vec![
                ("smtp_starttls", Var::Bool(true)),
                ("smtp_warning", s("2")),
                ("smtp_critical", s("5")),
            ],
            Ok,
        ),
        "ssmtp-rs" => t(
            vec![("ssmtp_warning", s("2")), ("ssmtp_critical", s("5"))],
            Ok,
        ),
        "pop-rs" => t(
            vec![
                ("pop_port", s("110")),
                ("pop_warning", s("2")),
                ("pop_critical", s("5")),
            ],
            Ok,
        ),
        "spop-rs" => t(
            vec![("spop_warning", s("2")), ("spop_critical", s("5"))],
            Ok,
        ),
        "imap-rs" => t(
            vec![
                ("imap_port", s("143")),
                ("imap_warning", s("2")),
                ("imap_critical", s("5")),
            ],
            Ok,
        ),
        "simap-rs" => t(
            vec![("simap_warning", s("2")), ("simap_critical", s("5"))],
            Ok,
        ),
        "check_dns_rs" => t(
            vec![
                ("dns_hostname", s("www.example.test")),
                ("dns_server", s("127.0.0.1")),
                ("dns_expected_address", s("192.0.2.0/24")),
            ],
            Ok,
        ),
        "check_dig_rs" => t(
            vec![
                ("dig_hostname", s("127.0.0.1")),
                ("dig_query_address", s("www.example.test")),
                ("dig_record_type", s("A")),
                ("dig_expected_address", s("192.0.2.10")),
            ],
            Ok,
        ),
        "dig-rs" => t(
            vec![
                ("dig_lookup", s("example.test")),
                ("dig_record_type", s("A")),
                ("dig_expected_address", s("192.0.2.1")),
            ],
            Ok,
        ),
        "http-rs" => t(
            vec![
                ("http_vhost", s("localhost")),
                ("http_uri", s("/health")),
                ("http_string", s("OK")),
                ("http_ssl", Var::Bool(true)),
                ("http_ca_cert", s(&v.ca)),
                ("http_warn_time", s("2")),
                ("http_critical_time", s("5")),
            ],
            Ok,
        ),
        "dns-rs" => t(
            vec![
                ("dns_lookup", s("example.test")),
                ("dns_server", s("127.0.0.1")),
                ("dns_expected_answers", s("192.0.2.1")),
            ],
            Ok,
        ),
        "ftp-rs" => t(
            vec![
                ("ftp_port", s("21")),
                ("ftp_wtime", s("2")),
                ("ftp_ctime", s("5")),
            ],
            Ok,
        ),
        _ => None,
    }
}

/// Typical `$ARG1$` of every Nagios command we ship, by name.
fn nagios_typical(name: &str, v: &Values) -> Option<(String, Expect)> {
    use Expect::{NotUnknown, Ok};
    let (arg, e) = match name {
        "check_disk_rs" => ("-w 20% -c 10% -p /".to_string(), NotUnknown),
        "check_ftp_rs" => (
            format!(
                "--starttls --ca-file {} -U {} -P {}",
                v.ca, v.ftp_user, v.ftp_pass
            ),
            Ok,
        ),
        "check_imap_rs" => (
            format!(
                "--starttls --ca-file {} -U {} -P {} --messages-warning 10 --messages-critical 20",
                v.ca, v.mail_user, v.mail_pass
            ),
            Ok,
        ),
        "check_load_rs" => ("-r -w 5,4,3 -c 10,8,6".to_string(), NotUnknown),
        "check_mem_rs" => ("-w 10% -c 5%".to_string(), NotUnknown),
        "check_pop3_rs" => (
            format!(
                "--starttls --ca-file {} -U {} -P {} --messages-warning 10 --messages-critical 20",
                v.ca, v.mail_user, v.mail_pass
            ),
            Ok,
        ),
        "check_proc_rs" => ("-C dovecot -c 1:".to_string(), Ok),
        "check_smtp_rs" => (format!("-S --ca-file {} -w 2 -c 5", v.ca), Ok),
        "check_dns_rs" => ("-H www.example.test -a 192.0.2.0/24".to_string(), Ok),
        "check_dig_rs" => ("-l www.example.test -T A -a 192.0.2.10".to_string(), Ok),
        "check_ssh_rs" => ("-p 22 -P 2.0 -t 5".to_string(), Ok),
        "check_swap_rs" => ("-n ok -w 50% -c 25%".to_string(), NotUnknown),
        "check_tcp_rs" => ("-p 25 -e 220 -w 2 -c 5".to_string(), Ok),
        "check_http_rs" => (
            format!(
                "-H localhost -u /health -s OK -S --ca-cert {} -w 2 -c 5",
                v.ca
            ),
            Ok,
        ),
        "check_db_rs" => (
            format!(
                "--type pgsql -u {} -P {} -d {} --query 'select 5' --connections",
                v.db_user, v.db_pass, v.db_name
            ),
            Ok,
        ),
        "check_mysql_rs" => (format!("-u {} -p {}", v.db_user, v.db_pass), Ok),
        "check_mysql_query_rs" => (
            format!("-u {} -p {} -q 'select 5' -w 10", v.db_user, v.db_pass),
            Ok,
        ),
        "check_pgsql_rs" => (
            format!("-l {} -p {} -d {}", v.db_user, v.db_pass, v.db_name),
            Ok,
        ),
        _ => return None,
    };
    Some((arg, e))
}

/// Arguments for Debian's stock command definitions (`!`-separated ARGs),
/// by command name; a stock command not listed runs with its ARGs empty.
fn stock_args(name: &str) -> &'static [&'static str] {
    match name {
        "check_disk" => &["20%", "10%", "/"],
        "check_all_disks" => &["20%", "10%"],
        "check_load" => &["5", "4", "3", "10", "8", "6"],
        "check_procs" => &["250", "400"],
        // Zombies pile up on a machine whose PID 1 reaps nothing (containers): wide enough
        // that the engine's and the by-hand count fall on the same side.
        "check_procs_zombie" => &["100", "200"],
        "check_procs_httpd" => &["10", "20"],
        "check_ssh_port" | "check_ssh_port_4" => &["22"],
        "check_tcp" | "check_tcp_4" => &["25"],
        // the testbed's named on 127.0.0.1 serves example.test (Debian's check_dns asks it
        // for www.google.com, which it refuses: loopback only either way)
        "check_dig" => &["example.test"],
        _ => &[],
    }
}

/// Stock services whose state may differ from the C plugin's, with the
/// README's reason. Every other stock service must end as C's does.
fn differs_from_c_by_design(service: &str) -> Option<&'static str> {
    match service {
        // README: without -p, pseudo filesystems are skipped (C checks every one with blocks).
        "stock--check_all_disks" => Some("check_disk_rs skips pseudo filesystems without -p"),
        // README: garbage thresholds are refused (C accepts them); C then fails on the empty -p.
        "stock-noargs--check_disk" | "stock-noargs--check_all_disks" => {
            Some("check_disk_rs refuses an empty threshold with UNKNOWN")
        }
        // README: an empty threshold or state list is a usage error (UNKNOWN);
        // C takes `-w '' -c ''` as no threshold at all.
        "stock-noargs--check_procs" | "stock-noargs--check_procs_zombie" => {
            Some("check_proc_rs refuses an empty threshold with UNKNOWN")
        }
        // README: a query with no name is a usage error (UNKNOWN); C asks dig
        // for nothing and reports CRITICAL.
        "stock-noargs--check_dig" => Some("check_dig_rs refuses an empty -l with UNKNOWN"),
        // Debian's check_http2 passes `-w '$ARG2$' -c '$ARG3$'`, empty without ARGs.
        "stock--check_http2" | "stock--check_http2_4" => {
            Some("check_http_rs refuses an empty threshold with UNKNOWN")
        }
        // Debian's mysql.cfg passes `-p '$ARG2$'`: C logs in without a password.
        "stock--check_mysql_cmdlinecred"
        | "stock--check_mysql_database"
        | "stock--check_mysql_slave" => Some("check_mysql_rs refuses an empty -p with UNKNOWN"),
        // Debian's check_squid passes `-p '$ARG1$'`: C connects to port 0.
        "stock--check_squid" | "stock--check_squid_4" => {
            Some("check_http_rs refuses an empty port with UNKNOWN")
        }
        // README: an empty secret is a usage error (C sends no credentials at all).
        "stock--check_https_auth"
        | "stock--check_https_auth_4"
        | "stock--check_https_auth_hostname" => {
            Some("check_http_rs refuses an empty -a with UNKNOWN")
        }
        _ => None,
    }
}

/// The event handlers' binaries (handlers/src/bin/*.rs): not checks.
fn handler_binaries() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../handlers/src/bin");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".rs"))
                .map(str::to_string)
        })
        .collect();
    assert!(!names.is_empty(), "no handler in {}", dir.display());
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The option that must name a loopback server before a command may run at
/// all: a DNS check without one asks /etc/resolv.conf's resolver, which is
/// off this machine (tests talk to loopback only).
fn loopback_server_option(binary: &str) -> Option<&'static str> {
    match binary {
        "check_dns_rs" => Some("-s"),
        "check_dig_rs" => Some("-H"),
        _ => None,
    }
}

/// The option that names the port: `-p`, but `-P` for C's database plugins
/// (their `-p` is the password).
fn port_option(binary: &str) -> &'static str {
    match binary {
        "check_mysql_rs" | "check_mysql_query_rs" | "check_pgsql_rs" => "-P",
        _ => "-p",
    }
}

/// Whether `binary --help` lists the short option `opt` (`-e`, an expect
/// option, makes a plugin wait for an answer that never comes on the hanging
/// port; without `-p` there is no pointing it there).
fn help_has(binary: &Path, opt: &str) -> bool {
    let prefix = format!("{opt}, ");
    Command::new(binary)
        .arg("--help")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim_start().starts_with(&prefix))
        })
        .unwrap_or(false)
}

/// A port that accepts TCP connections (the kernel completes them) and
/// never sends a byte, and on which UDP datagrams (DNS) are never answered.
fn hanging_port() -> (TcpListener, UdpSocket, u16) {
    for _ in 0..20 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local address").port();
        if let Ok(u) = UdpSocket::bind(("127.0.0.1", port)) {
            return (l, u, port);
        }
    }
    panic!("no port free for both TCP and UDP on 127.0.0.1");
}

// -------------------------------------------------------------------------------------------
// Comparing an engine's result with the same run by hand
// -------------------------------------------------------------------------------------------

fn perf_items(items: &[String], service: &str, problems: &mut Vec<String>) -> Vec<Perf> {
    let mut out = Vec::new();
    for item in items {
        match parse_perfdata(item) {
            Ok(p) if p.len() == 1 => out.extend(p),
            Ok(p) => problems.push(format!(
                "{service}: the engine took {item:?} as one item, it is {} items",
                p.len()
            )),
            Err(e) => problems.push(format!("{service}: engine perfdata: {e}")),
        }
    }
    out
}

/// A first line as two runs of the same check can be compared: the numbers
/// (times, load, counts) masked, and with the count the plural of "process"
/// (zombies come and go between the engine's run and ours).
fn comparable(line: &str) -> String {
    mask_numbers(line).replace("# processes", "# process")
}

/// Whether a case's state follows the machine (load, free memory and disk, process
/// counts), which the test run itself moves between two runs of the same check: its
/// state is then compared as "not UNKNOWN", the rest of the line as for every other case.
/// Known by the plugin the command runs (ours, ITL-style or Debian's stock name).
fn follows_the_machine(case: &Case) -> bool {
    const LOCAL: [&str; 5] = ["load", "proc", "mem", "swap", "disk"];
    let named = |text: &str| LOCAL.iter().any(|p| text.contains(p));
    case.expect == Expect::NotUnknown
        || named(&case.command)
        || case.line.as_deref().is_some_and(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|binary| named(binary.rsplit('/').next().unwrap_or(binary)))
        })
}

/// A first line with its state word (`LOAD WARNING - ...`, `PROCS OK: ...`) made neutral.
fn without_state_word(line: &str) -> String {
    let words: Vec<&str> = line.splitn(3, ' ').collect();
    if let [service, word, rest @ ..] = words.as_slice() {
        let (bare, colon) = word.strip_suffix(':').map_or((*word, ""), |w| (w, ":"));
        if ["OK", "WARNING", "CRITICAL", "UNKNOWN"].contains(&bare) {
            return format!("{service} STATE{colon} {}", rest.join(" "));
        }
    }
    line.to_string()
}

/// Compares the engine's result with the by-hand run; pushes every difference.
/// `nagios`: Nagios shows a `;` of the plugin's first line as `:` (it keeps
/// `;` for its own log and command formats), so the by-hand line is read so.
fn compare(case: &Case, seen: &Seen, hand: &HandRun, nagios: bool, problems: &mut Vec<String>) {
    let svc = &case.service;
    let code = hand.code.map(i64::from).unwrap_or(-1);
    let machine_state = follows_the_machine(case);
    if seen.state != code && !(machine_state && (0..=2).contains(&code)) {
        problems.push(format!(
            "{svc}: engine {} but by hand {} ({:?} / {:?})",
            state_name(seen.state),
            state_name(code),
            seen.summary,
            hand.stdout.lines().next().unwrap_or("")
        ));
    }
    if !(0..=3).contains(&code) {
        problems.push(format!(
            "{svc}: exit code {code} by hand: {}{}",
            hand.stdout, hand.stderr
        ));
    }
    let mut by_hand = split_output(&hand.stdout);
    if nagios {
        by_hand.summary = by_hand.summary.replace(';', ":");
    }
    // A time-out's wording depends on which of the plugin's two clocks ends it first (the
    // network deadline names the step, the -t alarm just after it says "Plugin timed out"),
    // which the load of a whole batch can change: for those cases state and "timed out after
    // 2 seconds" are checked below instead.
    let timed_out = matches!(case.expect, Expect::TimedOut(_));
    let line = |l: &str| {
        let l = comparable(l);
        if machine_state {
            without_state_word(&l)
        } else {
            l
        }
    };
    // Engines drop the leading space of C check_pgsql's ` OK - database ...`.
    if !timed_out && line(seen.summary.trim()) != line(by_hand.summary.trim_start()) {
        problems.push(format!(
            "{svc}: first line differs (numbers aside):\n  engine:  {}\n  by hand: {}",
            seen.summary, by_hand.summary
        ));
    }
    let engine_perf = perf_items(&seen.perfdata, svc, problems);
    match parse_perfdata(&by_hand.perfdata) {
        Ok(hand_perf) => {
            let a: Vec<String> = engine_perf.iter().map(Perf::shape).collect();
            let b: Vec<String> = hand_perf.iter().map(Perf::shape).collect();
            if a != b {
                problems.push(format!(
                    "{svc}: perfdata differs (values aside):\n  engine:  {a:?}\n  by hand: {b:?}"
                ));
            }
        }
        Err(e) => problems.push(format!("{svc}: perfdata by hand: {e}")),
    }
    match case.expect {
        Expect::Same => {}
        Expect::Ok if seen.state != 0 => problems.push(format!(
            "{svc}: expected OK, engine shows {}: {}",
            state_name(seen.state),
            seen.summary
        )),
        Expect::NotUnknown if seen.state == 3 => {
            problems.push(format!("{svc}: UNKNOWN: {}", seen.summary))
        }
        Expect::TimedOut(state) => {
            let text = format!("timed out after {PLUGIN_TIMEOUT} seconds");
            if seen.state != state || !seen.summary.contains(&text) {
                problems.push(format!(
                    "{svc}: expected {} with {text:?} (the plugin's -t), engine shows {}: {}",
                    state_name(state),
                    state_name(seen.state),
                    seen.summary
                ));
            }
            // Ended by the plugin's own -t, not by the engine's time-out.
            if !(seen.seconds >= PLUGIN_TIMEOUT as f64 * 0.75
                && seen.seconds < (ENGINE_TIMEOUT / 6) as f64)
            {
                problems.push(format!(
                    "{svc}: ran {:.2} s in the engine (plugin -t {PLUGIN_TIMEOUT}, engine {ENGINE_TIMEOUT})",
                    seen.seconds
                ));
            }
        }
        _ => {}
    }
}

/// Runs the by-hand commands on a pool of 16 threads, in the order given
/// (put the slow time-out cases first: they take 2 s each).
fn run_by_hand(eng: &Engines, jobs: Vec<(usize, Vec<String>)>) -> BTreeMap<usize, HandRun> {
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|sc| {
        for _ in 0..16 {
            sc.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((i, argv)) = next else { break };
                let run = eng.run_as_engine(&argv, Duration::from_secs(30));
                if let Ok(mut r) = results.lock() {
                    r.insert(i, run);
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

fn report(
    engine: &str,
    cases: &[Case],
    seen: &BTreeMap<String, Seen>,
    extra: &BTreeMap<String, String>,
) {
    let mut t = format!("\n{engine}: {} services\n", cases.len());
    let mut file = "";
    for c in cases {
        if c.file != file {
            file = &c.file;
            let _ = writeln!(t, " {file}:");
        }
        let s = seen.get(&c.service);
        let _ = writeln!(
            t,
            "  {:<9} {:<22} {:<34} {:<8} {}{}",
            c.kind,
            c.command,
            c.service,
            s.map(|s| state_name(s.state)).unwrap_or("-"),
            s.map(|s| s.summary.as_str()).unwrap_or("(no result)"),
            extra
                .get(&c.service)
                .map(|e| format!("  [{e}]"))
                .unwrap_or_default()
        );
    }
    eprintln!("{t}");
}

// -------------------------------------------------------------------------------------------
// Icinga 2
// -------------------------------------------------------------------------------------------

/// Icinga's REST API through curl (the password goes in on stdin, not argv).
fn icinga_api(eng: &Engines, method: &str, path: &str, body: Option<&str>) -> Value {
    let (text, err) = eng.icinga2_api().request(method, path, body);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("Icinga API {method} {path}: {e}: {text}{err}"))
}

fn icinga_seen(r: &Value) -> Option<(f64, Seen)> {
    let cr = r.pointer("/attrs/last_check_result")?;
    if cr.is_null() {
        return None;
    }
    let output = cr["output"].as_str().unwrap_or("");
    let seen = Seen {
        state: cr["exit_status"].as_i64().unwrap_or(-1),
        summary: output.lines().next().unwrap_or("").to_string(),
        perfdata: cr["performance_data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default(),
        argv: cr["command"].as_array().map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect()
        }),
        seconds: cr["execution_end"].as_f64().unwrap_or(0.0)
            - cr["execution_start"].as_f64().unwrap_or(0.0),
    };
    Some((cr["execution_end"].as_f64().unwrap_or(0.0), seen))
}

#[test]
fn icinga2_runs_every_shipped_command_as_by_hand() {
    let Some(eng) = engines() else { return };
    if !testbed() {
        return;
    }
    let started = Instant::now();
    let v = Values::from_testbed();
    let plugin_dir = eng.plugin_dir();
    let (_hang, _hang_udp, hang_port) = hanging_port();

    let files = eng.icinga2_def_files();
    assert!(
        !files.is_empty(),
        "no Icinga 2 definitions at {}",
        eng.get("ICINGA2_DEFS")
    );
    let mut defs = Vec::new();
    for f in &files {
        defs.extend(icinga2_check_commands(&read(f), f));
    }
    let commands: Vec<CheckCommand> = resolve_commands(&defs, &itl_commands());
    assert!(!commands.is_empty(), "no CheckCommand in {files:?}");

    let template = eng.get("SERVICE_TEMPLATE");
    let mut problems = Vec::new();
    let mut cases = Vec::new();
    let mut no_timeout_case = Vec::new();
    let mut conf = String::from("// Written by tests/tests/engines.rs on every run.\n");
    let add = |conf: &mut String, cases: &mut Vec<Case>, case: Case, vars: &[(String, Var)]| {
        let _ = writeln!(
            conf,
            "object Service \"{}\" {{\n  import \"{template}\"",
            case.service
        );
        let _ = writeln!(conf, "  check_command = \"{}\"", case.command);
        for (k, val) in vars {
            let _ = writeln!(conf, "  vars.{k} = {}", val.to_icinga());
        }
        conf.push_str("}\n");
        cases.push(case);
    };
    for c in &commands {
        let file = file_name(&c.file);
        let binary = c.binary.clone().unwrap_or_default();
        if !binary.ends_with("_rs") {
            problems.push(format!(
                "{} ({file}) runs {binary:?}, not one of our binaries",
                c.name
            ));
        }
        let case = |kind, service: String, expect| Case {
            service,
            kind,
            command: c.name.clone(),
            file: file.clone(),
            expect,
            line: None,
            c_line: None,
        };
        // Every service of a DNS command names the testbed's server (see loopback_server_option).
        let guard: Vec<(String, Var)> = match loopback_server_option(&binary) {
            None => vec![],
            Some(opt) => match c.option(opt).and_then(|a| a.var()) {
                Some(var) => vec![(var.to_string(), s("127.0.0.1"))],
                None => {
                    problems.push(format!(
                        "{} ({file}): no {opt} variable to name a loopback DNS server: not run",
                        c.name
                    ));
                    continue;
                }
            },
        };
        let guarded = |vars: &[(String, Var)]| -> Vec<(String, Var)> {
            guard
                .iter()
                .filter(|(k, _)| !vars.iter().any(|(x, _)| x == k))
                .chain(vars.iter())
                .cloned()
                .collect()
        };
        add(
            &mut conf,
            &mut cases,
            case("default", format!("default--{}", c.name), Expect::Same),
            &guarded(&[]),
        );
        let typical: Option<(Vec<(String, Var)>, Expect)> =
            icinga2_typical(&c.name, &v).map(|(vars, e)| {
                (
                    vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    e,
                )
            });
        match typical.clone() {
            Some((vars, expect)) => {
                for (k, _) in &vars {
                    let used = c.arguments.values().any(|a| {
                        a.value.as_deref().is_some_and(|x| x.contains(&format!("${k}$")))
                            || a.set_if.as_deref().is_some_and(|x| x.contains(&format!("${k}$")))
                    }) || c.vars.values().any(|x| x.contains(&format!("${k}$")));
                    if !used {
                        problems.push(format!("{}: typical var {k} is not used by the command (renamed?)", c.name));
                    }
                }
                add(&mut conf, &mut cases, case("typical", format!("typical--{}", c.name), expect), &guarded(&vars));
            }
            None => problems.push(format!(
                "CheckCommand {} ({file}) has no typical vars: add it to icinga2_typical() in tests/tests/engines.rs",
                c.name
            )),
        }
        if c.is_network() {
            let var = |opt: &str| c.option(opt).and_then(|a| a.var()).map(str::to_string);
            let (Some(port), Some(timeout)) = (var(port_option(&binary)), var("-t")) else {
                // e.g. check_dns: no port to point at the hanging one
                no_timeout_case.push(c.name.clone());
                continue;
            };
            // check_tcp_rs also shows that -t's state is ours to choose.
            let tcp = binary == "check_tcp_rs";
            // The typical service pointed at the hanging port (a required value stays set).
            let mut vars: Vec<(String, Var)> = typical
                .map(|(t, _)| t)
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| ![&port, &timeout].contains(&k) && var("-e").as_ref() != Some(k))
                .collect();
            vars.extend([
                (port, Var::Str(hang_port.to_string())),
                (
                    timeout,
                    Var::Str(if tcp {
                        format!("{PLUGIN_TIMEOUT}:warning")
                    } else {
                        PLUGIN_TIMEOUT.to_string()
                    }),
                ),
            ]);
            if let Some(expect) = var("-e") {
                vars.push((expect, s(NEVER)));
            }
            let state = if tcp { 1 } else { 2 };
            add(
                &mut conf,
                &mut cases,
                case(
                    "timeout",
                    format!("timeout--{}", c.name),
                    Expect::TimedOut(state),
                ),
                &guarded(&vars),
            );
        }
    }
    // The control: perfdata Icinga cannot parse, so the log look below can fail.
    conf.push_str(
        "object CheckCommand \"rsplugins-suite-broken-perfdata\" {\n  command = [ \"/bin/echo\", \"OK - broken perfdata | broken=1,5\" ]\n}\n",
    );
    let control = "control--broken-perfdata";
    let _ = writeln!(
        conf,
        "object Service \"{control}\" {{\n  import \"{template}\"\n  check_command = \"rsplugins-suite-broken-perfdata\"\n}}"
    );

    let objects = Path::new(&eng.get("ICINGA2_OBJECTS_DIR")).join(format!("{SUITE}.conf"));
    std::fs::write(&objects, &conf).unwrap_or_else(|e| panic!("write {}: {e}", objects.display()));
    eng.reload("icinga2");
    let log_path = eng.get("ICINGA2_LOG");
    let log_offset = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    let configured = started.elapsed();

    // Force every check at once and wait for all results.
    let t0 = epoch();
    let host = eng.get("HOST");
    let body =
        format!("{{\"type\":\"Service\",\"filter\":\"host.name==\\\"{host}\\\"\",\"force\":true}}");
    let r = icinga_api(&eng, "POST", "/v1/actions/reschedule-check", Some(&body));
    let rescheduled = r["results"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(rescheduled, cases.len() + 1, "reschedule-check: {r}");
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let deadline = Instant::now() + RESULT_WAIT;
    loop {
        let r = icinga_api(
            &eng,
            "GET",
            "/v1/objects/services?attrs=last_check_result",
            None,
        );
        seen.clear();
        for item in r["results"].as_array().into_iter().flatten() {
            let name = item["name"].as_str().unwrap_or("");
            let svc = name.split_once('!').map(|(_, s)| s).unwrap_or(name);
            if let Some((end, s)) = icinga_seen(item) {
                if end >= t0 {
                    seen.insert(svc.to_string(), s);
                }
            }
        }
        let missing: Vec<&str> = cases
            .iter()
            .map(|c| c.service.as_str())
            .chain([control])
            .filter(|s| !seen.contains_key(*s))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no result from Icinga 2 within {RESULT_WAIT:?} for {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let engine_done = started.elapsed();

    // The same argv by hand, as the engine's user.
    let mut notes = BTreeMap::new();
    let mut jobs = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let s = &seen[&c.service];
        match &s.argv {
            Some(argv) if !argv.is_empty() && argv[0].starts_with('/') => {
                if !Path::new(&argv[0]).starts_with(&plugin_dir) {
                    problems.push(format!(
                        "{}: the engine ran {}, not a binary of {}",
                        c.service,
                        argv[0],
                        plugin_dir.display()
                    ));
                }
                jobs.push((i, argv.clone()));
            }
            _ if s.summary.contains("Non-optional macro") => {
                // Icinga refused to run it: only right when the definition makes the value required.
                let cmd = commands.iter().find(|x| x.name == c.command);
                if !cmd.is_some_and(|x| x.arguments.values().any(|a| a.required)) {
                    problems.push(format!("{}: {}", c.service, s.summary));
                }
                notes.insert(
                    c.service.clone(),
                    "not run: a required value is unset".to_string(),
                );
            }
            other => problems.push(format!(
                "{}: no command line in the engine's result ({other:?}): {}",
                c.service, s.summary
            )),
        }
    }
    jobs.sort_by_key(|(i, _)| cases[*i].kind != "timeout");
    let hand = run_by_hand(&eng, jobs);
    for (i, h) in &hand {
        compare(
            &cases[*i],
            &seen[&cases[*i].service],
            h,
            false,
            &mut problems,
        );
    }

    // Icinga's parse of the performance data: warnings for the control only.
    let mut control_warned = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut warnings = Vec::new();
    while Instant::now() < deadline {
        let log = std::fs::read(&log_path).unwrap_or_default();
        let tail =
            String::from_utf8_lossy(&log[(log_offset as usize).min(log.len())..]).into_owned();
        warnings = tail
            .lines()
            .filter(|l| l.contains("Ignoring invalid perfdata"))
            .map(str::to_string)
            .collect::<Vec<_>>();
        control_warned = warnings.iter().any(|l| l.contains(&format!("!{control}'")));
        if control_warned {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        control_warned,
        "Icinga 2 logged no perfdata warning for {control} within 10 s: the perfdata look cannot work ({log_path})"
    );
    for w in warnings
        .iter()
        .filter(|l| !l.contains(&format!("!{control}'")))
    {
        problems.push(format!("Icinga 2 could not parse perfdata: {w}"));
    }

    report("Icinga 2", &cases, &seen, &notes);
    if !no_timeout_case.is_empty() {
        eprintln!("Icinga 2: network commands without a port variable, so no time-out case: {no_timeout_case:?}");
    }
    eprintln!(
        "Icinga 2: {} commands from {:?}; configured in {configured:.1?}, engine results after {engine_done:.1?}, all done in {:.1?}",
        commands.len(),
        files.iter().map(|f| file_name(f)).collect::<Vec<_>>(),
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// -------------------------------------------------------------------------------------------
// Nagios 4
// -------------------------------------------------------------------------------------------

fn nagios_force(eng: &Engines, services: &[&str]) {
    let path = eng.get("NAGIOS_COMMAND_FILE");
    // Non-blocking: with no Nagios reading the FIFO the open fails instead of hanging.
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&path)
        .unwrap_or_else(|e| panic!("open {path} (is Nagios running?): {e}"));
    let host = eng.get("HOST");
    let t = epoch() as u64;
    for s in services {
        // one write per line: atomic on a FIFO (under PIPE_BUF)
        let line = format!("[{t}] SCHEDULE_FORCED_SVC_CHECK;{host};{s};{t}\n");
        fifo.write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
    }
}

/// Debian's stock command definitions: name -> (command line, file).
fn debian_stock_commands() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir("/etc/nagios-plugins/config")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for f in &files {
        for (name, line) in nagios_commands(&read(f)) {
            out.insert(name, (line, file_name(f)));
        }
    }
    out
}

/// A stock line of ours as Debian's: our binary (`$USER1$/check_x_rs` or
/// `/usr/lib/nagios/plugins/check_x_rs`) back to Debian's C plugin, blanks
/// collapsed.
fn as_debian_line(line: &str) -> String {
    line.split_whitespace()
        .map(|w| {
            let w = w.replace("$USER1$/", "/usr/lib/nagios/plugins/");
            match w.strip_suffix("_rs") {
                Some(c) if c.starts_with("/usr/lib/nagios/plugins/") => c.to_string(),
                _ => w,
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn nagios_runs_our_commands_and_debians_stock_lines_as_by_hand() {
    let Some(eng) = engines() else { return };
    if !testbed() {
        return;
    }
    let started = Instant::now();
    let v = Values::from_testbed();
    let plugin_dir = eng.plugin_dir();
    let user1 = plugin_dir.to_string_lossy().into_owned();
    let host = eng.get("HOST");
    let (_hang, _hang_udp, hang_port) = hanging_port();
    let debian = debian_stock_commands();
    if !rsplugins_tests::available(
        "Debian's stock command definitions (/etc/nagios-plugins/config/*.cfg, from tests/testbed/setup.sh)",
        !debian.is_empty(),
    ) {
        return;
    }

    let files = eng.nagios_def_files();
    assert!(
        !files.is_empty(),
        "no Nagios definitions in {}",
        eng.get("NAGIOS_DEFS")
    );
    // Checks only: the event handlers' commands (rsplugins-handlers.cfg) run
    // in tests/tests/healing_engines.rs, with the engines' state macros.
    let handlers = handler_binaries();
    let mut ours = Vec::new();
    for f in &files {
        for (name, line) in nagios_commands(&read(f)) {
            let first = line.split_whitespace().next().unwrap_or("");
            if handlers.iter().any(|h| first.ends_with(&format!("/{h}"))) {
                continue;
            }
            ours.push((name, line, file_name(f)));
        }
    }
    assert!(!ours.is_empty(), "no command in {files:?}");

    let template = eng.get("SERVICE_TEMPLATE");
    let mut problems = Vec::new();
    let mut notes = BTreeMap::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut no_timeout_case = Vec::new();
    let mut conf = String::from("# Written by tests/tests/engines.rs on every run.\n");
    let service = |conf: &mut String, svc: &str, check: &str| {
        let _ = writeln!(
            conf,
            "define service {{\n    use                 {template}\n    service_description {svc}\n    check_command       {check}\n}}"
        );
    };
    let expand = |line: &str, args: &[&str]| nagios_expand(line, &user1, "127.0.0.1", &host, args);
    let binary_of = |line: &str| {
        line.split_whitespace()
            .next()
            .unwrap_or("")
            .replace("$USER1$", &user1)
    };
    let is_ours =
        |binary: &str| binary.starts_with(&format!("{user1}/")) && binary.ends_with("_rs");
    // A stock command, shipped or generated here: its stock arguments, and all ARGs empty
    // (Debian passes '$ARG1$' quoted: an empty word, which C ignores), each also run with
    // Debian's C line.
    let stock_cases = |conf: &mut String,
                       cases: &mut Vec<Case>,
                       name: &str,
                       line: &str,
                       file: &str,
                       c_line: &str| {
        let args = stock_args(name);
        let mut variants = vec![("stock", format!("stock--{name}"), args)];
        if !args.is_empty() {
            variants.push(("stock", format!("stock-noargs--{name}"), &[]));
        }
        for (kind, svc, args) in variants {
            let check = std::iter::once(name)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join("!");
            service(conf, &svc, &check);
            cases.push(Case {
                service: svc,
                kind,
                command: name.to_string(),
                file: file.to_string(),
                expect: Expect::Same,
                line: Some(expand(line, args)),
                c_line: Some(expand(c_line, args)),
            });
        }
    };

    for (name, line, file) in &ours {
        let binary = binary_of(line);
        if let Some((d_line, d_file)) = debian.get(name) {
            // Shipped for Debian's stock services: Debian's line with only the binary renamed.
            if as_debian_line(line) != as_debian_line(d_line) {
                problems.push(format!(
                    "{name} ({file}) is not Debian's {d_file} line with only the binary renamed:\n  ours:   {line}\n  Debian: {d_line}"
                ));
            }
            if is_ours(&binary) {
                stock_cases(&mut conf, &mut cases, name, line, file, d_line);
            } else {
                notes.insert(
                    name.clone(),
                    format!("kept as Debian's ({binary}), not run"),
                );
            }
            continue;
        }
        if !is_ours(&binary) {
            problems.push(format!(
                "{name} ({file}) runs {binary}, not one of our binaries"
            ));
            continue;
        }
        let case = |kind, service: String, expect, args: &[&str]| Case {
            service,
            kind,
            command: name.clone(),
            file: file.clone(),
            expect,
            line: Some(expand(line, args)),
            c_line: None,
        };
        // A DNS command's every service names the testbed's server, unless its line does.
        let guard = match loopback_server_option(binary.rsplit('/').next().unwrap_or("")) {
            Some(opt) if !line.split_whitespace().any(|w| w == opt) => format!("{opt} 127.0.0.1 "),
            _ => String::new(),
        };
        let svc = format!("default--{name}");
        if guard.is_empty() {
            service(&mut conf, &svc, name);
            cases.push(case("default", svc, Expect::Same, &[]));
        } else {
            let arg = guard.trim_end().to_string();
            service(&mut conf, &svc, &format!("{name}!{arg}"));
            cases.push(case("default", svc, Expect::Same, &[&arg]));
        }
        let typical = nagios_typical(name, &v);
        match typical.clone() {
            Some((arg, expect)) => {
                let arg = format!("{guard}{arg}");
                let svc = format!("typical--{name}");
                service(&mut conf, &svc, &format!("{name}!{arg}"));
                cases.push(case("typical", svc, expect, &[&arg]));
            }
            None => problems.push(format!(
                "command {name} ({file}) has no typical arguments: add it to nagios_typical() in tests/tests/engines.rs"
            )),
        }
        let bin = Path::new(&binary);
        if line.contains("$HOSTADDRESS$") || !guard.is_empty() {
            let port_opt = port_option(bin.file_name().and_then(|f| f.to_str()).unwrap_or(""));
            if !help_has(bin, port_opt) {
                no_timeout_case.push(name.clone());
                continue;
            }
            let tcp = binary.ends_with("/check_tcp_rs");
            // The typical arguments pointed at the hanging port (required ones stay).
            let kept = without_options(
                typical.map(|(a, _)| a).as_deref().unwrap_or(""),
                &[port_opt, "-t", "-e"],
            );
            let mut arg = format!(
                "{guard}{kept}{port_opt} {hang_port} -t {PLUGIN_TIMEOUT}{}",
                if tcp { ":warning" } else { "" }
            );
            if help_has(bin, "-e") {
                arg.push_str(&format!(" -e {NEVER}"));
            }
            let svc = format!("timeout--{name}");
            service(&mut conf, &svc, &format!("{name}!{arg}"));
            cases.push(case(
                "timeout",
                svc,
                Expect::TimedOut(if tcp { 1 } else { 2 }),
                &[&arg],
            ));
        }
    }

    // Debian's stock lines we do not ship but have the binary for: renamed here, so every
    // stock line a user may switch is run.
    let shipped: Vec<&str> = ours.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut not_ours = Vec::new();
    conf.push_str(
        "# Debian's stock command definitions not shipped by us, binary renamed to ours\n",
    );
    for (name, (line, file)) in &debian {
        if shipped.contains(&name.as_str()) {
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or("");
        let c_name = first
            .strip_prefix("/usr/lib/nagios/plugins/")
            .unwrap_or(first);
        if !plugin_dir.join(format!("{c_name}_rs")).exists() {
            not_ours.push(name.clone());
            continue;
        }
        if line.matches('$').count() % 2 == 1 {
            // Debian's http.cfg has `'$HOSTNAME'` in check_https_auth_hostname_4: a typo
            // no engine can expand as meant.
            eprintln!("Nagios 4: {name} ({file}) has an unterminated macro: not run");
            continue;
        }
        let renamed = format!("$USER1$/{c_name}_rs{}", &line[first.len()..]);
        let _ = writeln!(
            conf,
            "define command {{\n    command_name    {name}\n    command_line    {renamed}\n}}"
        );
        stock_cases(
            &mut conf,
            &mut cases,
            name,
            &renamed,
            &format!("{file} (renamed here)"),
            line,
        );
    }

    let objects = Path::new(&eng.get("NAGIOS_OBJECTS_DIR")).join(format!("{SUITE}.cfg"));
    std::fs::write(&objects, &conf).unwrap_or_else(|e| panic!("write {}: {e}", objects.display()));
    eng.reload("nagios");
    let configured = started.elapsed();

    let t0 = epoch().floor();
    let names: Vec<&str> = cases.iter().map(|c| c.service.as_str()).collect();
    nagios_force(&eng, &names);
    let status_path = eng.get("NAGIOS_STATUS");
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let deadline = Instant::now() + RESULT_WAIT;
    loop {
        let text = std::fs::read_to_string(&status_path).unwrap_or_default();
        seen.clear();
        for b in status_blocks(&text, "servicestatus") {
            let fresh = b.get("has_been_checked").is_some_and(|x| x == "1")
                && b.get("last_check")
                    .and_then(|x| x.parse::<f64>().ok())
                    .is_some_and(|x| x >= t0);
            if !fresh {
                continue;
            }
            let perf = b.get("performance_data").cloned().unwrap_or_default();
            seen.insert(
                b.get("service_description").cloned().unwrap_or_default(),
                Seen {
                    state: b
                        .get("current_state")
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(-1),
                    summary: b.get("plugin_output").cloned().unwrap_or_default(),
                    // Nagios keeps perfdata as one string: split it as Icinga does (on
                    // spaces outside quotes), so both engines are judged alike.
                    perfdata: split_perf_items(&perf),
                    argv: None,
                    seconds: b
                        .get("check_execution_time")
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0.0),
                },
            );
        }
        let missing: Vec<&&str> = names.iter().filter(|s| !seen.contains_key(**s)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no result from Nagios within {RESULT_WAIT:?} for {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let engine_done = started.elapsed();

    // Nagios runs a line with shell quoting through /bin/sh -c and splits the others on
    // blanks: sh -c gives the same words for both.
    const C_RUN: usize = 10_000;
    let sh = |line: &str| vec!["/bin/sh".to_string(), "-c".to_string(), line.to_string()];
    let mut jobs = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        jobs.push((i, sh(c.line.as_deref().unwrap_or_default())));
        if let Some(c_line) = &c.c_line {
            jobs.push((i + C_RUN, sh(c_line)));
        }
    }
    jobs.sort_by_key(|(i, _)| *i >= C_RUN || cases[*i].kind != "timeout");
    let hand = run_by_hand(&eng, jobs);
    for (i, c) in cases.iter().enumerate() {
        compare(c, &seen[&c.service], &hand[&i], true, &mut problems);
        let Some(cr) = hand.get(&(i + C_RUN)) else {
            continue;
        };
        let c_state = cr.code.map(i64::from).unwrap_or(-1);
        let ours = seen[&c.service].state;
        let mut note = format!("C: {}", state_name(c_state));
        let both_judged = (0..=2).contains(&c_state) && (0..=2).contains(&ours);
        if c_state != ours && !(follows_the_machine(c) && both_judged) {
            match differs_from_c_by_design(&c.service) {
                Some(why) => note.push_str(&format!(" ({why})")),
                None => problems.push(format!(
                    "{}: ours {} but C {} with Debian's line:\n  ours: {}\n  C:    {}",
                    c.service,
                    state_name(ours),
                    state_name(c_state),
                    seen[&c.service].summary,
                    cr.stdout.lines().next().unwrap_or("")
                )),
            }
        }
        notes.insert(c.service.clone(), note);
    }

    report("Nagios 4", &cases, &seen, &notes);
    if !no_timeout_case.is_empty() {
        eprintln!(
            "Nagios 4: network commands without -p, so no time-out case: {no_timeout_case:?}"
        );
    }
    eprintln!(
        "Nagios 4: shipped stock commands kept as Debian's: {:?}; Debian's stock commands without a binary of ours: {not_ours:?}",
        notes.iter().filter(|(_, n)| n.starts_with("kept")).map(|(k, _)| k).collect::<Vec<_>>()
    );
    eprintln!(
        "Nagios 4: {} commands from {:?}; configured in {configured:.1?}, engine results after {engine_done:.1?}, all done in {:.1?}",
        ours.len(),
        files.iter().map(|f| file_name(f)).collect::<Vec<_>>(),
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// `args` (words separated by blanks, each option followed by its value)
/// without the options `drop` and their values; a trailing blank when not empty.
fn without_options(args: &str, drop: &[&str]) -> String {
    let mut out = String::new();
    let mut words = args.split_whitespace();
    while let Some(w) = words.next() {
        if drop.contains(&w) {
            words.next();
        } else {
            out.push_str(w);
            out.push(' ');
        }
    }
    out
}

/// Performance data items of one string: split on spaces outside `'...'`.
fn split_perf_items(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                cur.push(ch);
            }
            ' ' if !quoted => {
                if !cur.is_empty() {
                    items.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(ch),
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    items
}

#[test]
fn a_state_word_is_made_neutral_in_both_output_forms() {
    assert_eq!(
        without_state_word("LOAD WARNING - load average: #, #, #"),
        "LOAD STATE - load average: #, #, #"
    );
    assert_eq!(
        without_state_word("PROCS OK: # process"),
        "PROCS STATE: # process"
    );
    assert_eq!(without_state_word("no state here"), "no state here");
}
