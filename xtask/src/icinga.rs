//! Icinga 2 commands an ITL user adopts by changing `check_command` only:
//! `smtp-rs` imports the ITL's `smtp` (its arguments, variable names and
//! defaults), swaps the binary, overrides just the arguments our plugin
//! reads differently, and adds our extra options as `smtp_*` variables.
//!
//! The ITL arguments are transcribed below from Icinga 2.13's
//! `command-plugins.conf` (a test compares them with the installed ITL).
//! Every ITL argument is checked against the plugin's clap definition when
//! the file is generated: one our plugin lacks or reads with another arity
//! must have a [`Handling`] here, or generation fails.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};

/// How the ITL passes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `value = "$var$"`: the option word and a value.
    Value,
    /// `set_if = "$var$"`: the option word alone.
    Flag,
    /// `skip_key = true`: the value alone, as a positional word.
    Positional,
    /// A function computing the value (`{{ ... }}`).
    Function,
}

/// One argument of an ITL `CheckCommand`.
#[derive(Clone, Copy, Debug)]
pub struct ItlArg {
    /// The dictionary key (`-E_send`).
    pub key: &'static str,
    /// The word on the command line (`key = "-E"`, else the key).
    pub word: &'static str,
    /// How it is passed.
    pub kind: Kind,
    /// The `value`/`set_if` text; for a function, the macros it reads,
    /// sorted and separated by spaces.
    pub macros: &'static str,
}

/// What the generated command does with an ITL argument.
#[derive(Clone, Copy, Debug)]
pub enum Handling {
    /// Passed as the ITL passes it; the note says what differs, if anything.
    AsIs(&'static str),
    /// Replaced by this argument dictionary (Icinga 2 syntax, no braces),
    /// for the reason given.
    Override {
        /// The dictionary's entries, one per line.
        body: &'static str,
        /// Why, for the table and the generated comment.
        why: &'static str,
    },
    /// Our plugin has no such option, or reads the word otherwise: the
    /// argument is renamed `--not-supported-<variable>`, so that a service
    /// setting the variable ends UNKNOWN naming it instead of being
    /// misread or silently ignored.
    Unsupported(&'static str),
}

/// An ITL command we replace, with what our command does differently.
#[derive(Clone, Copy, Debug)]
pub struct ItlCommand {
    /// The ITL's name (`smtp`); ours is `<name>-rs`.
    pub name: &'static str,
    /// The binary to run (`check_ssmtp_rs`), one of [`binaries`].
    pub binary: &'static str,
    /// The ITL command whose variable names our extra options borrow where
    /// it has the same option (`smtp` for `ssmtp`: `ssmtp_authuser`).
    pub names_from: &'static str,
    /// The ITL's arguments, in the ITL's order.
    pub args: &'static [ItlArg],
    /// Decisions for the arguments that are not plainly passed as is.
    pub handling: &'static [(&'static str, Handling)],
}

const fn a(key: &'static str, word: &'static str, kind: Kind, macros: &'static str) -> ItlArg {
    ItlArg {
        key,
        word,
        kind,
        macros,
    }
}

use Kind::{Flag, Function, Positional, Value};

const LOAD: &[ItlArg] = &[
    a(
        "-w",
        "-w",
        Value,
        "$load_wload1$,$load_wload5$,$load_wload15$",
    ),
    a(
        "-c",
        "-c",
        Value,
        "$load_cload1$,$load_cload5$,$load_cload15$",
    ),
    a("-r", "-r", Flag, "$load_percpu$"),
];

const PROCS: &[ItlArg] = &[
    a("-w", "-w", Value, "$procs_warning$"),
    a("-c", "-c", Value, "$procs_critical$"),
    a("-m", "-m", Value, "$procs_metric$"),
    a("-t", "-t", Value, "$procs_timeout$"),
    a("-T", "-T", Flag, "$procs_traditional$"),
    a("-s", "-s", Value, "$procs_state$"),
    a("-p", "-p", Value, "$procs_ppid$"),
    a("-z", "-z", Value, "$procs_vsz$"),
    a("-r", "-r", Value, "$procs_rss$"),
    a("-P", "-P", Value, "$procs_pcpu$"),
    a("-u", "-u", Value, "$procs_user$"),
    a("-a", "-a", Value, "$procs_argument$"),
    a(
        "--ereg-argument-array",
        "--ereg-argument-array",
        Value,
        "$procs_argument_regex$",
    ),
    a("-C", "-C", Value, "$procs_command$"),
    a("-k", "-k", Flag, "$procs_nokthreads$"),
];

const DISK: &[ItlArg] = &[
    a("-w", "-w", Value, "$disk_wfree$"),
    a("-c", "-c", Value, "$disk_cfree$"),
    a("-W", "-W", Value, "$disk_inode_wfree$"),
    a("-K", "-K", Value, "$disk_inode_cfree$"),
    a("-p", "-p", Value, "$disk_partitions$"),
    a("-p_old", "-p", Value, "$disk_partition$"),
    a("-x", "-x", Value, "$disk_partitions_excluded$"),
    a("-x_old", "-x", Value, "$disk_partition_excluded$"),
    a("-C", "-C", Flag, "$disk_clear$"),
    a("-E", "-E", Flag, "$disk_exact_match$"),
    a("-e", "-e", Flag, "$disk_errors_only$"),
    a("-f", "-f", Flag, "$disk_ignore_reserved$"),
    a("-g", "-g", Value, "$disk_group$"),
    a("-k", "-k", Flag, "$disk_kilobytes$"),
    a("-l", "-l", Flag, "$disk_local$"),
    a("-L", "-L", Flag, "$disk_stat_remote_fs$"),
    a("-M", "-M", Flag, "$disk_mountpoint$"),
    a("-m", "-m", Flag, "$disk_megabytes$"),
    a("-A", "-A", Flag, "$disk_all$"),
    a("-R", "-R", Value, "$disk_eregi_path$"),
    a("-r", "-r", Value, "$disk_ereg_path$"),
    a("-I", "-I", Value, "$disk_ignore_eregi_path$"),
    a("-i", "-i", Value, "$disk_ignore_ereg_path$"),
    a("-t", "-t", Value, "$disk_timeout$"),
    a("-u", "-u", Value, "$disk_units$"),
    a("-X", "-X", Value, "$disk_exclude_type$"),
    a("-N", "-N", Value, "$disk_include_type$"),
];

const SWAP: &[ItlArg] = &[
    a("-w", "-w", Function, "$swap_integer$ $swap_wfree$"),
    a("-c", "-c", Function, "$swap_cfree$ $swap_integer$"),
    a("-a", "-a", Flag, "$swap_allswaps$"),
    a("-n", "-n", Value, "$swap_noswap$"),
];

const SSH: &[ItlArg] = &[
    a("-p", "-p", Value, "$ssh_port$"),
    a("-t", "-t", Value, "$ssh_timeout$"),
    a("host", "host", Positional, "$ssh_address$"),
    a("-4", "-4", Flag, "$ssh_ipv4$"),
    a("-6", "-6", Flag, "$ssh_ipv6$"),
];

const DNS: &[ItlArg] = &[
    a("-H", "-H", Value, "$dns_lookup$"),
    a("-s", "-s", Value, "$dns_server$"),
    a("-q", "-q", Value, "$dns_query_type$"),
    a("-a", "-a", Value, "$dns_expected_answers$"),
    a("-L", "-L", Flag, "$dns_all_expected$"),
    a("-A", "-A", Flag, "$dns_authoritative$"),
    a("-n", "-n", Flag, "$dns_accept_cname$"),
    a("-w", "-w", Value, "$dns_wtime$"),
    a("-c", "-c", Value, "$dns_ctime$"),
    a("-t", "-t", Value, "$dns_timeout$"),
];

const DIG: &[ItlArg] = &[
    a("-H", "-H", Value, "$dig_server$"),
    a("-p", "-p", Value, "$dig_port$"),
    a("-l", "-l", Value, "$dig_lookup$"),
    a("-T", "-T", Value, "$dig_record_type$"),
    a("-a", "-a", Value, "$dig_expected_address$"),
    a("-A", "-A", Value, "$dig_arguments$"),
    a("-w", "-w", Value, "$dig_warning$"),
    a("-c", "-c", Value, "$dig_critical$"),
    a("-t", "-t", Value, "$dig_timeout$"),
    a("-4", "-4", Flag, "$dig_ipv4$"),
    a("-6", "-6", Flag, "$dig_ipv6$"),
];

const HTTP: &[ItlArg] = &[
    a("-H", "-H", Value, "$http_vhost$"),
    a("-I", "-I", Value, "$http_address$"),
    a("-u", "-u", Value, "$http_uri$"),
    a("-p", "-p", Value, "$http_port$"),
    a("-S", "-S", Flag, "$http_ssl$"),
    a("-S1", "-S1", Flag, "$http_ssl_force_tlsv1$"),
    a("-S1.1", "-S1.1", Flag, "$http_ssl_force_tlsv1_1$"),
    a("-S1.2", "-S1.2", Flag, "$http_ssl_force_tlsv1_2$"),
    a("-S2", "-S2", Flag, "$http_ssl_force_sslv2$"),
    a("-S3", "-S3", Flag, "$http_ssl_force_sslv3$"),
    a("-S1+", "-S1+", Flag, "$http_ssl_force_tlsv1_or_higher$"),
    a(
        "-S1.1+",
        "-S1.1+",
        Flag,
        "$http_ssl_force_tlsv1_1_or_higher$",
    ),
    a(
        "-S1.2+",
        "-S1.2+",
        Flag,
        "$http_ssl_force_tlsv1_2_or_higher$",
    ),
    a("-S2+", "-S2+", Flag, "$http_ssl_force_sslv2_or_higher$"),
    a("-S3+", "-S3+", Flag, "$http_ssl_force_sslv3_or_higher$"),
    a("--sni", "--sni", Flag, "$http_sni$"),
    a("-C", "-C", Value, "$http_certificate$"),
    a("-J", "-J", Value, "$http_clientcert$"),
    a("-K", "-K", Value, "$http_privatekey$"),
    a("-a", "-a", Value, "$http_auth_pair$"),
    a("--no-body", "--no-body", Flag, "$http_ignore_body$"),
    a("-w", "-w", Value, "$http_warn_time$"),
    a("-c", "-c", Value, "$http_critical_time$"),
    a("-e", "-e", Value, "$http_expect$"),
    a("-d", "-d", Value, "$http_headerstring$"),
    a("-s", "-s", Value, "$http_string$"),
    a("-P", "-P", Value, "$http_post$"),
    a("-j", "-j", Value, "$http_method$"),
    a("-M", "-M", Value, "$http_maxage$"),
    a("-T", "-T", Value, "$http_contenttype$"),
    a("-l", "-l", Flag, "$http_linespan$"),
    a("-r", "-r", Value, "$http_expect_body_regex$"),
    a("-R", "-R", Value, "$http_expect_body_eregi$"),
    a(
        "--invert-regex",
        "--invert-regex",
        Flag,
        "$http_invertregex$",
    ),
    a("-b", "-b", Value, "$http_proxy_auth_pair$"),
    a("-A", "-A", Value, "$http_useragent$"),
    a("-k", "-k", Value, "$http_header$"),
    a("-E", "-E", Flag, "$http_extendedperfdata$"),
    a("-f", "-f", Value, "$http_onredirect$"),
    a("-m", "-m", Value, "$http_pagesize$"),
    a("-t", "-t", Value, "$http_timeout$"),
    a("-4", "-4", Flag, "$http_ipv4$"),
    a("-6", "-6", Flag, "$http_ipv6$"),
    a("-L", "-L", Flag, "$http_link$"),
    a("-v", "-v", Flag, "$http_verbose$"),
];

/// An ITL `-S<version>` key our -S refuses (versions rustls does not speak).
const HTTP_OLD_TLS: Handling = Handling::AsIs(
    "refused by the plugin (UNKNOWN, names the version): only TLS 1.2 and 1.3 are spoken",
);

/// An ITL `-S<version>+` key: that version or newer, which is TLS 1.2 or 1.3 here.
const HTTP_OR_NEWER: Handling = Handling::AsIs("TLS 1.2 or 1.3, whichever the server prefers");

/// The ITL's check_tcp-style argument list (tcp and ftp).
macro_rules! tcp_style {
    ($p:literal) => {
        &[
            a("-H", "-H", Value, concat!("$", $p, "_address$")),
            a("-p", "-p", Value, concat!("$", $p, "_port$")),
            a("-e", "-e", Value, concat!("$", $p, "_expect$")),
            a("-A", "-A", Flag, concat!("$", $p, "_all$")),
            a("-E_send", "-E", Flag, concat!("$", $p, "_escape_send$")),
            a("-s", "-s", Value, concat!("$", $p, "_send$")),
            a("-E_quit", "-E", Flag, concat!("$", $p, "_escape_quit$")),
            a("-q", "-q", Value, concat!("$", $p, "_quit$")),
            a("-r", "-r", Value, concat!("$", $p, "_refuse$")),
            a("-M", "-M", Value, concat!("$", $p, "_mismatch$")),
            a("-j", "-j", Flag, concat!("$", $p, "_jail$")),
            a("-m", "-m", Value, concat!("$", $p, "_maxbytes$")),
            a("-d", "-d", Value, concat!("$", $p, "_delay$")),
            a("-D", "-D", Value, concat!("$", $p, "_certificate$")),
            a("-S", "-S", Flag, concat!("$", $p, "_ssl$")),
            a("-w", "-w", Value, concat!("$", $p, "_wtime$")),
            a("-c", "-c", Value, concat!("$", $p, "_ctime$")),
            a("-t", "-t", Value, concat!("$", $p, "_timeout$")),
            a("-4", "-4", Flag, concat!("$", $p, "_ipv4$")),
            a("-6", "-6", Flag, concat!("$", $p, "_ipv6$")),
        ]
    };
}

/// The ITL's list for the check_tcp aliases (ssmtp, pop, spop, imap, simap).
macro_rules! mail_style {
    ($p:literal) => {
        &[
            a("-H", "-H", Value, concat!("$", $p, "_address$")),
            a("-p", "-p", Value, concat!("$", $p, "_port$")),
            a("-E", "-E", Value, concat!("$", $p, "_escape$")),
            a("-s", "-s", Value, concat!("$", $p, "_send$")),
            a("-e", "-e", Value, concat!("$", $p, "_expect$")),
            a("-A", "-A", Flag, concat!("$", $p, "_all$")),
            a("-q", "-q", Value, concat!("$", $p, "_quit$")),
            a("-r", "-r", Value, concat!("$", $p, "_refuse$")),
            a("-M", "-M", Value, concat!("$", $p, "_mismatch$")),
            a("-j", "-j", Flag, concat!("$", $p, "_jail$")),
            a("-m", "-m", Value, concat!("$", $p, "_maxbytes$")),
            a("-d", "-d", Value, concat!("$", $p, "_delay$")),
            a("-D", "-D", Value, concat!("$", $p, "_certificate_age$")),
            a("-S", "-S", Flag, concat!("$", $p, "_ssl$")),
            a("-w", "-w", Value, concat!("$", $p, "_warning$")),
            a("-c", "-c", Value, concat!("$", $p, "_critical$")),
            a("-t", "-t", Value, concat!("$", $p, "_timeout$")),
            a("-4", "-4", Flag, concat!("$", $p, "_ipv4$")),
            a("-6", "-6", Flag, concat!("$", $p, "_ipv6$")),
        ]
    };
}

const SMTP: &[ItlArg] = &[
    a("-H", "-H", Value, "$smtp_address$"),
    a("-p", "-p", Value, "$smtp_port$"),
    a("-f", "-f", Value, "$smtp_mail_from$"),
    a("-e", "-e", Value, "$smtp_expect$"),
    a("-C", "-C", Value, "$smtp_command$"),
    a("-R", "-R", Value, "$smtp_response$"),
    a("-F", "-F", Value, "$smtp_helo_fqdn$"),
    a("-D", "-D", Value, "$smtp_certificate_age$"),
    a("-S", "-S", Flag, "$smtp_starttls$"),
    a("-A", "-A", Value, "$smtp_authtype$"),
    a("-U", "-U", Value, "$smtp_authuser$"),
    a("-P", "-P", Value, "$smtp_authpass$"),
    a("-q", "-q", Value, "$smtp_ignore_quit$"),
    a("-w", "-w", Value, "$smtp_warning$"),
    a("-c", "-c", Value, "$smtp_critical$"),
    a("-t", "-t", Value, "$smtp_timeout$"),
    a("-4", "-4", Flag, "$smtp_ipv4$"),
    a("-6", "-6", Flag, "$smtp_ipv6$"),
];

const ESCAPE_BOTH: Handling = Handling::AsIs(
    "ours reads -E as one switch for both the send and the quit string \
     (C: for the strings after it); -E given twice is accepted",
);

/// C's `-E` is a flag; the ITL passes `-E <value>` (`-E true`), whose
/// value would be read as a stray word.
macro_rules! escape_flag {
    ($p:literal) => {
        (
            "-E",
            Handling::Override {
                body: concat!(
                    "set_if = \"$",
                    $p,
                    "_escape$\"\n",
                    "description = \"Interpret escapes (backslash n, r, t) in the send and quit strings\""
                ),
                why: "the ITL passes -E with the variable's value (`-E true`), but -E takes none \
                      (in C too): passed as a flag when the variable is true",
            },
        )
    };
}

/// One of our binaries: the plugin whose clap definition it parses, and
/// the options its name implies (as its `main_as` call splices them in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binary {
    /// The file name (`check_ssmtp_rs`).
    pub name: String,
    /// The plugin crate, whose `command()` it parses (`check_smtp_rs`).
    pub plugin: String,
    /// Options implied by the name, before the command line's (`--ssl`).
    pub implied: &'static [&'static str],
}

/// The C-name aliases in the plugins' `src/bin/`: (binary, plugin, implied
/// options). A test compares them with the files.
pub const ALIASES: &[(&str, &str, &[&str])] = &[
    ("check_simap_rs", "check_imap_rs", &["--ssl"]),
    ("check_pop_rs", "check_pop3_rs", &[]),
    ("check_spop_rs", "check_pop3_rs", &["--ssl"]),
    ("check_procs_rs", "check_proc_rs", &[]),
    ("check_ssmtp_rs", "check_smtp_rs", &["--ssl"]),
];

/// The binary named `name`: an alias, or a plugin's own binary.
pub fn binary(name: &str) -> Option<Binary> {
    if let Some((n, plugin, implied)) = ALIASES.iter().find(|(n, _, _)| *n == name) {
        return Some(Binary {
            name: n.to_string(),
            plugin: plugin.to_string(),
            implied,
        });
    }
    crate::commands()
        .iter()
        .any(|c| c.get_name() == name)
        .then(|| Binary {
            name: name.to_string(),
            plugin: name.to_string(),
            implied: &[],
        })
}

/// Every binary: each plugin's own and the aliases, in name order.
pub fn binaries() -> Vec<Binary> {
    let mut all: Vec<Binary> = crate::commands()
        .iter()
        .filter_map(|c| binary(c.get_name()))
        .chain(ALIASES.iter().filter_map(|(n, _, _)| binary(n)))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

impl ItlCommand {
    /// Our binary.
    pub fn bin(&self) -> Result<Binary, String> {
        binary(self.binary).ok_or_else(|| format!("{} is not one of our binaries", self.binary))
    }
}

/// Every ITL command we replace, in the order of the generated file.
pub const ITL_COMMANDS: &[ItlCommand] = &[
    ItlCommand {
        name: "load",
        binary: "check_load_rs",
        names_from: "load",
        args: LOAD,
        handling: &[],
    },
    ItlCommand {
        name: "procs",
        binary: "check_procs_rs",
        names_from: "procs",
        args: PROCS,
        handling: &[(
            "-T",
            Handling::AsIs(
                "accepted and without effect: ours never counts itself, its parent or its children",
            ),
        )],
    },
    ItlCommand {
        name: "disk",
        binary: "check_disk_rs",
        names_from: "disk",
        args: DISK,
        handling: &[
            (
                "-C",
                Handling::AsIs(
                    "refused by the plugin (UNKNOWN, says -C is not supported): \
                     thresholds between paths already apply per path",
                ),
            ),
            (
                "-g",
                Handling::AsIs("refused by the plugin (UNKNOWN, says -g is not supported)"),
            ),
            (
                "-M",
                Handling::AsIs(
                    "the device instead of the mount point, as C does \
                     (the ITL's description has it the other way round)",
                ),
            ),
            (
                "-X",
                Handling::AsIs(
                    "a regular expression matched against the whole type name; \
                     the ITL's default list of plain names works as is",
                ),
            ),
        ],
    },
    ItlCommand {
        name: "swap",
        binary: "check_swap_rs",
        names_from: "swap",
        args: SWAP,
        handling: &[],
    },
    ItlCommand {
        name: "ssh",
        binary: "check_ssh_rs",
        names_from: "ssh",
        args: SSH,
        handling: &[],
    },
    ItlCommand {
        name: "tcp",
        binary: "check_tcp_rs",
        names_from: "tcp",
        args: tcp_style!("tcp"),
        handling: &[("-E_send", ESCAPE_BOTH), ("-E_quit", ESCAPE_BOTH)],
    },
    ItlCommand {
        name: "smtp",
        binary: "check_smtp_rs",
        names_from: "smtp",
        args: SMTP,
        handling: &[
            (
                "-q",
                Handling::Override {
                    body: "set_if = \"$smtp_ignore_quit$\"\n\
                           description = \"Do not fail when QUIT is not answered with 221\"",
                    why: "the ITL passes -q with the variable's value (`-q true`), but -q takes \
                          none (in C too): passed as a flag when the variable is true",
                },
            ),
            (
                "-U",
                Handling::AsIs(
                    "ours sends a password only over TLS (smtp_starttls) unless \
                     smtp_allow_plaintext = true",
                ),
            ),
        ],
    },
    ItlCommand {
        name: "ssmtp",
        binary: "check_ssmtp_rs",
        names_from: "smtp",
        args: mail_style!("ssmtp"),
        handling: &[
            (
                "-E",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no send or quit strings to escape"
                )),
            ),
            (
                "-s",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no send string (its -s is --ssl); ",
                    "use ssmtp_command and ssmtp_response"
                )),
            ),
            (
                "-A",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it takes one expect string (its -A is the AUTH type)"
                )),
            ),
            (
                "-q",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it always ends with QUIT (its -q means ignore a failed QUIT)"
                )),
            ),
            (
                "-r",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no -r; a refused connection is CRITICAL"
                )),
            ),
            (
                "-M",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no -M; a greeting without the -e string is CRITICAL"
                )),
            ),
            (
                "-j",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no -j"
                )),
            ),
            (
                "-m",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no -m"
                )),
            ),
            (
                "-d",
                Handling::Unsupported(concat!(
                    "check_ssmtp_rs is check_smtp_rs with --ssl (an SMTP dialogue), ",
                    "not check_tcp: it has no -d"
                )),
            ),
            (
                "-S",
                Handling::Override {
                    body: "key = \"--ssl\"\n\
                           set_if = \"$ssmtp_ssl$\"\n\
                           description = \"Use TLS from the start (implied by check_ssmtp_rs)\"",
                    why: "check_smtp_rs's -S is STARTTLS; the ITL's -S (TLS from the start) is \
                          --ssl, which check_ssmtp_rs implies anyway",
                },
            ),
            (
                "-e",
                Handling::AsIs(
                    "matched against the first line of the greeting; one string \
                     (given several, the last counts)",
                ),
            ),
        ],
    },
    ItlCommand {
        name: "pop",
        binary: "check_pop_rs",
        names_from: "pop",
        args: mail_style!("pop"),
        handling: &[escape_flag!("pop")],
    },
    ItlCommand {
        name: "spop",
        binary: "check_spop_rs",
        names_from: "pop",
        args: mail_style!("spop"),
        handling: &[
            escape_flag!("spop"),
            (
                "-S",
                Handling::AsIs("check_spop_rs implies it; given again it changes nothing"),
            ),
        ],
    },
    ItlCommand {
        name: "imap",
        binary: "check_imap_rs",
        names_from: "imap",
        args: mail_style!("imap"),
        handling: &[escape_flag!("imap")],
    },
    ItlCommand {
        name: "simap",
        binary: "check_simap_rs",
        names_from: "imap",
        args: mail_style!("simap"),
        handling: &[
            escape_flag!("simap"),
            (
                "-S",
                Handling::AsIs("check_simap_rs implies it; given again it changes nothing"),
            ),
        ],
    },
    ItlCommand {
        name: "ftp",
        binary: "check_ftp_rs",
        names_from: "ftp",
        args: tcp_style!("ftp"),
        handling: &[
            ("-E_send", ESCAPE_BOTH),
            ("-E_quit", ESCAPE_BOTH),
            (
                "-S",
                Handling::AsIs(
                    "implicit FTPS, on port 990 unless ftp_port is set (C stays on 21); \
                     ftp_starttls asks for AUTH TLS",
                ),
            ),
        ],
    },
    ItlCommand {
        name: "dns",
        binary: "check_dns_rs",
        names_from: "dns",
        args: DNS,
        handling: &[
            (
                "-a",
                Handling::AsIs(
                    "each value an address, a CIDR block or a name ending in a dot, compared \
                     as a set (an array passes one -a per value, as C 2.3 wants)",
                ),
            ),
            (
                "-n",
                Handling::AsIs(
                    "-n is --expect-nxdomain in ours and in C 2.3 (the ITL's description of \
                     dns_accept_cname is an older plugin's); CNAME chains are always followed",
                ),
            ),
        ],
    },
    ItlCommand {
        name: "dig",
        binary: "check_dig_rs",
        names_from: "dig",
        args: DIG,
        handling: &[
            (
                "-a",
                Handling::AsIs(
                    "an exact record value (C: a substring of any answer line, so \
                     192.0.2.2 matched 192.0.2.25)",
                ),
            ),
            (
                "-A",
                Handling::AsIs(
                    "+tcp, +norecurse, +dnssec and their opposites are honoured; any other \
                     dig argument is refused (UNKNOWN, naming it)",
                ),
            ),
        ],
    },
    ItlCommand {
        name: "http",
        binary: "check_http_rs",
        names_from: "http",
        args: HTTP,
        handling: &[
            (
                "-S",
                Handling::AsIs("TLS 1.2 or 1.3 (-S takes an optional version, given alone here)"),
            ),
            ("-S1", HTTP_OLD_TLS),
            ("-S1.1", HTTP_OLD_TLS),
            ("-S2", HTTP_OLD_TLS),
            ("-S3", HTTP_OLD_TLS),
            ("-S1.2", Handling::AsIs("TLS 1.2 only")),
            ("-S1+", HTTP_OR_NEWER),
            ("-S1.1+", HTTP_OR_NEWER),
            ("-S1.2+", HTTP_OR_NEWER),
            ("-S2+", HTTP_OR_NEWER),
            ("-S3+", HTTP_OR_NEWER),
            (
                "--sni",
                Handling::AsIs("accepted; the host name is always sent (SNI)"),
            ),
            (
                "-b",
                Handling::AsIs("refused by the plugin (UNKNOWN): check_http_rs uses no proxy"),
            ),
            (
                "-L",
                Handling::AsIs("refused by the plugin (UNKNOWN): the output is plain text"),
            ),
            (
                "-a",
                Handling::AsIs(
                    "a secret (env:NAME, file:PATH); over HTTPS the certificate is then \
                     verified unless http_insecure = true",
                ),
            ),
        ],
    },
];

/// The ITL command named `name`, if we replace it.
pub fn itl_command(name: &str) -> Option<&'static ItlCommand> {
    ITL_COMMANDS.iter().find(|c| c.name == name)
}

/// Options never offered as variables: the engine needs the text output,
/// and `--extra-opts` takes its value only as `--extra-opts=...`.
const NOT_VARIABLES: &[&str] = &["help", "version", "extra-opts", "output-format"];

/// The clap argument an option word (`-p`, `--ereg-argument-array`) names.
fn arg_for_word<'c>(cmd: &'c Command, word: &str) -> Option<&'c Arg> {
    if let Some(long) = word.strip_prefix("--") {
        return cmd.get_arguments().find(|a| {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|l| l.contains(&long))
        });
    }
    let mut chars = word.strip_prefix('-')?.chars();
    let (Some(short), None) = (chars.next(), chars.next()) else {
        return None;
    };
    cmd.get_arguments().find(|a| {
        a.get_short() == Some(short)
            || a.get_all_short_aliases()
                .is_some_and(|s| s.contains(&short))
    })
}

/// The clap argument an ITL argument reaches (the positional host is `-H`).
fn arg_for(cmd: &Command, arg: &ItlArg) -> Option<Arg> {
    if arg.kind == Kind::Positional {
        return cmd
            .get_arguments()
            .find(|a| a.get_id() == "hostname")
            .cloned();
    }
    arg_for_word(cmd, arg.word).cloned()
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// What happens to one ITL argument, decided: explicit, or passed as is
/// because our option has the same word and arity.
fn decide(itl: &ItlCommand, cmd: &Command, arg: &ItlArg) -> Result<Handling, String> {
    if let Some((_, h)) = itl.handling.iter().find(|(k, _)| *k == arg.key) {
        return Ok(*h);
    }
    let ours = arg_for(cmd, arg).ok_or_else(|| {
        format!(
            "ITL command {}: argument {} ({}) is not an option of {}; decide in xtask/src/icinga.rs",
            itl.name, arg.key, arg.macros, itl.binary
        )
    })?;
    let wants_value = arg.kind != Kind::Flag;
    if wants_value != takes_value(&ours) {
        return Err(format!(
            "ITL command {}: argument {} is passed {} but {}'s {} {}; decide in xtask/src/icinga.rs",
            itl.name,
            arg.key,
            if wants_value { "with a value" } else { "alone" },
            itl.binary,
            arg.word,
            if wants_value {
                "takes none"
            } else {
                "takes a value"
            },
        ));
    }
    if ours.is_hide_set() {
        return Err(format!(
            "ITL command {}: argument {} reaches {}'s hidden option {}; say what it does in xtask/src/icinga.rs",
            itl.name, arg.key, itl.binary, arg.word
        ));
    }
    Ok(Handling::AsIs(""))
}

/// The clap ids our command's ITL arguments reach after the decisions.
fn reached_ids(itl: &ItlCommand, cmd: &Command) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for arg in itl.args {
        let reached = match decide(itl, cmd, arg)? {
            Handling::AsIs(_) => arg_for(cmd, arg),
            Handling::Override { body, .. } => {
                let word = body
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("key = \""))
                    .and_then(|rest| rest.strip_suffix('"'))
                    .unwrap_or(arg.word);
                arg_for_word(cmd, word).cloned()
            }
            Handling::Unsupported(_) => None,
        };
        if let Some(ours) = reached {
            ids.push(ours.get_id().to_string());
        }
    }
    Ok(ids)
}

/// The suffix of an ITL variable (`smtp_authuser` -> `authuser`) when
/// `macros` names exactly one.
fn var_suffix(macros: &str, prefix: &str) -> Option<String> {
    let inner = macros.strip_prefix('$')?.strip_suffix('$')?;
    if inner.contains('$') {
        return None;
    }
    inner
        .strip_prefix(prefix)
        .and_then(|s| s.strip_prefix('_'))
        .map(str::to_string)
}

/// One of our options that no ITL argument reaches: an extra variable.
struct Extra {
    key: String,
    var: String,
    value: bool,
    repeat: bool,
    help: String,
}

fn extras(itl: &ItlCommand, cmd: &Command) -> Result<Vec<Extra>, String> {
    let reached = reached_ids(itl, cmd)?;
    let mut built = cmd.clone();
    built.build();
    let implied: Vec<&Arg> = itl
        .bin()?
        .implied
        .iter()
        .filter_map(|w| arg_for_word(&built, w))
        .collect();
    let sibling = itl_command(itl.names_from).ok_or_else(|| {
        format!(
            "ITL command {}: names_from {} is not listed",
            itl.name, itl.names_from
        )
    })?;
    let mut out = Vec::new();
    for ours in built.get_arguments() {
        let Some(long) = ours.get_long() else {
            continue;
        };
        if ours.is_positional()
            || ours.is_hide_set()
            || NOT_VARIABLES.contains(&long)
            || reached.iter().any(|id| id == ours.get_id().as_str())
            || implied.iter().any(|i| i.get_id() == ours.get_id())
        {
            continue;
        }
        // What the binary's name implies rules out what conflicts with it
        // (check_spop_rs --starttls).
        let conflicts = built.get_arg_conflicts_with(ours);
        if implied
            .iter()
            .any(|i| conflicts.iter().any(|c| c.get_id() == i.get_id()))
        {
            continue;
        }
        let borrowed = sibling.args.iter().find_map(|s| {
            let same = arg_for(&built, s).is_some_and(|a| a.get_id() == ours.get_id());
            if same {
                var_suffix(s.macros, sibling.name)
            } else {
                None
            }
        });
        let suffix = borrowed.unwrap_or_else(|| long.replace('-', "_"));
        let help = ours
            .get_help()
            .map(|h| h.to_string().replace('\n', " "))
            .unwrap_or_default();
        out.push(Extra {
            key: format!("--{long}"),
            var: format!("{}_{suffix}", itl.name),
            value: takes_value(ours),
            repeat: matches!(ours.get_action(), ArgAction::Append),
            help,
        });
    }
    // No extra may shadow an ITL argument or variable of the same command.
    for e in &out {
        if itl.args.iter().any(|a| a.key == e.key) {
            return Err(format!(
                "ITL command {}: extra option {} collides with an ITL argument key",
                itl.name, e.key
            ));
        }
        let dollar = format!("${}$", e.var);
        if itl.args.iter().any(|a| a.macros.contains(&dollar)) {
            return Err(format!(
                "ITL command {}: extra variable {} is already an ITL variable",
                itl.name, e.var
            ));
        }
    }
    Ok(out)
}

/// The extra variables of our `<name>-rs` command (our options the ITL's
/// command lacks), e.g. `pop_starttls`.
pub fn extra_variables(itl: &ItlCommand, cmd: &Command) -> Result<Vec<String>, String> {
    Ok(extras(itl, cmd)?.into_iter().map(|e| e.var).collect())
}

/// The ITL variables of one command's arguments (`$smtp_port$` -> `smtp_port`).
pub fn itl_variables(itl: &ItlCommand) -> Vec<String> {
    let mut vars: Vec<String> = itl
        .args
        .iter()
        .flat_map(|a| {
            a.macros
                .split('$')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    vars.sort();
    vars.dedup();
    vars
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Wraps `text` into `//` comment lines of at most about 96 columns.
fn comment(out: &mut String, indent: &str, text: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + 3 + line.len() + 1 + word.len() > 96 {
            let _ = writeln!(out, "{indent}// {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}// {line}");
    }
}

/// The `<name>-rs` CheckCommand for one ITL command.
pub fn icinga2_itl_command(itl: &ItlCommand, cmd: &Command) -> Result<String, String> {
    let mut out = String::new();
    let name = itl.name;
    let _ = writeln!(out, "object CheckCommand \"{name}-rs\" {{");
    let _ = writeln!(out, "  import \"{name}\"");
    let _ = writeln!(out, "  command = [ PluginDir + \"/{}\" ]", itl.binary);
    for arg in itl.args {
        match decide(itl, cmd, arg)? {
            Handling::AsIs(_) => {}
            Handling::Override { body, why } => {
                out.push('\n');
                comment(&mut out, "  ", &format!("{}: {why}.", arg.key));
                let _ = writeln!(out, "  arguments[\"{}\"] = {{", arg.key);
                for line in body.lines() {
                    let _ = writeln!(out, "    {}", line.trim());
                }
                out.push_str("  }\n");
            }
            Handling::Unsupported(why) => {
                let var = arg
                    .macros
                    .trim_matches('$')
                    .split('$')
                    .next()
                    .unwrap_or(arg.key);
                out.push('\n');
                comment(
                    &mut out,
                    "  ",
                    &format!(
                        "{} ({var}): not supported: {why}. Set, the plugin ends UNKNOWN naming it.",
                        arg.key
                    ),
                );
                let _ = writeln!(out, "  arguments[\"{}\"] = {{", arg.key);
                let _ = writeln!(out, "    key = \"--not-supported-{var}\"");
                let attr = if arg.kind == Kind::Flag {
                    "set_if"
                } else {
                    "value"
                };
                let _ = writeln!(out, "    {attr} = \"{}\"", arg.macros);
                let _ = writeln!(out, "    description = \"Not supported by {}\"", itl.binary);
                out.push_str("  }\n");
            }
        }
    }
    let extras = extras(itl, cmd)?;
    if !extras.is_empty() {
        out.push('\n');
        comment(
            &mut out,
            "  ",
            &format!("Options the ITL's {name} does not have, as {name}_* variables."),
        );
        out.push_str("  arguments += {\n");
        for e in extras {
            let _ = writeln!(out, "    \"{}\" = {{", e.key);
            if e.value {
                let _ = writeln!(out, "      value = \"${}$\"", e.var);
                if e.repeat {
                    out.push_str("      repeat_key = true\n");
                }
            } else {
                let _ = writeln!(out, "      set_if = \"${}$\"", e.var);
            }
            let _ = writeln!(out, "      description = \"{}\"", escape(&e.help));
            out.push_str("    }\n");
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    Ok(out)
}

/// The clap definition of plugin `name` among `commands`.
fn command_named<'c>(commands: &'c [Command], name: &str) -> Result<&'c Command, String> {
    commands
        .iter()
        .find(|c| c.get_name() == name)
        .ok_or_else(|| format!("no plugin {name}"))
}

/// contrib/icinga2/rsplugins-itl-commands.conf.
pub fn itl_commands_file(header: &str, commands: &[Command]) -> Result<String, String> {
    let mut out = format!("// {header}\n");
    comment(
        &mut out,
        "",
        "ITL-compatible commands: \"<name>-rs\" imports the ITL's \"<name>\" (its arguments, \
         variable names and defaults) and runs our binary instead, so a service switches by \
         changing check_command from \"smtp\" to \"smtp-rs\" and nothing else. Include it after \
         the ITL (include <plugins>). What each ITL argument becomes is listed in \
         itl-compatibility.md next to this file.",
    );
    for itl in ITL_COMMANDS {
        out.push('\n');
        out.push_str(&icinga2_itl_command(
            itl,
            command_named(commands, &itl.bin()?.plugin)?,
        )?);
    }
    Ok(out)
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Value => "value",
        Kind::Flag => "set_if",
        Kind::Positional => "positional",
        Kind::Function => "function",
    }
}

/// contrib/icinga2/itl-compatibility.md: every ITL argument and its fate.
pub fn compatibility_table(header: &str, commands: &[Command]) -> Result<String, String> {
    let mut out =
        format!("<!-- {header} -->\n\n# The ITL's arguments in our `<name>-rs` commands\n\n");
    out.push_str(
        "Each `<name>-rs` command in `rsplugins-itl-commands.conf` imports the ITL's `<name>` \
         (Icinga 2.13) and runs our binary. Every ITL argument, and what becomes of it:\n\n",
    );
    out.push_str("| command | ITL argument | passed as | variable(s) | outcome |\n");
    out.push_str("|---|---|---|---|---|\n");
    for itl in ITL_COMMANDS {
        let cmd = command_named(commands, &itl.bin()?.plugin)?;
        for arg in itl.args {
            let outcome = match decide(itl, cmd, arg)? {
                Handling::AsIs("") => "passed as is".to_string(),
                Handling::AsIs(note) => format!("passed as is: {note}"),
                Handling::Override { why, .. } => format!("overridden: {why}"),
                Handling::Unsupported(why) => format!(
                    "not supported: {why}; passed as `--not-supported-<variable>`, so the plugin \
                     ends UNKNOWN naming the variable"
                ),
            };
            let word = if arg.kind == Kind::Positional {
                format!("`{}` (the host as a word)", arg.key)
            } else if arg.key != arg.word {
                format!("`{}` (key `{}`)", arg.word, arg.key)
            } else {
                format!("`{}`", arg.word)
            };
            let _ = writeln!(
                out,
                "| {}-rs ({}) | {} | {} | `{}` | {} |",
                itl.name,
                itl.binary,
                word,
                kind_text(arg.kind),
                arg.macros.replace('|', "\\|"),
                outcome.replace('|', "\\|"),
            );
        }
    }
    out.push_str("\nOptions of ours the ITL does not have, as extra variables:\n\n");
    out.push_str("| command | variable | option |\n|---|---|---|\n");
    for itl in ITL_COMMANDS {
        let cmd = command_named(commands, &itl.bin()?.plugin)?;
        for e in extras(itl, cmd)? {
            let _ = writeln!(out, "| {}-rs | `{}` | `{}` |", itl.name, e.var, e.key);
        }
    }
    Ok(out)
}

/// The ITL's `CheckCommand` argument lists, read from a
/// `command-plugins.conf` text: for each command name in `names`, its
/// arguments as [`ItlArg`]-like tuples (key, word, kind, macros).
pub fn parse_itl(text: &str, name: &str) -> Option<Vec<(String, String, Kind, String)>> {
    let head = format!("object CheckCommand \"{name}\" {{");
    let start = text.find(&head)? + head.len();
    let body = block(&text[start..])?;
    let args_at = body.find("arguments = {")? + "arguments = {".len();
    let args = block(&body[args_at..])?;
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(q) = rest.find('"') {
        let after = &rest[q + 1..];
        let end = after.find('"')?;
        let key = after[..end].to_string();
        let after = after[end + 1..]
            .trim_start()
            .strip_prefix('=')?
            .trim_start();
        let inner = after.strip_prefix('{')?;
        let entry = block(inner)?;
        rest = &inner[entry.len() + 1..];
        if let Some(function) = entry.strip_prefix('{') {
            let mut vars: Vec<String> = macros_in(function);
            vars.sort();
            vars.dedup();
            out.push((key.clone(), key, Kind::Function, vars.join(" ")));
            continue;
        }
        let attr = |name: &str| -> Option<String> {
            entry.lines().find_map(|l| {
                let l = l.trim();
                let v = l.strip_prefix(name)?.trim_start().strip_prefix('=')?.trim();
                Some(v.trim_matches('"').to_string())
            })
        };
        let word = attr("key").unwrap_or_else(|| key.clone());
        let (kind, macros) = if attr("skip_key").as_deref() == Some("true") {
            (Kind::Positional, attr("value")?)
        } else if let Some(v) = attr("value") {
            (Kind::Value, v)
        } else {
            (Kind::Flag, attr("set_if")?)
        };
        out.push((key, word, kind, macros));
    }
    Some(out)
}

/// The `$name$` macros in `text`, with their dollars.
fn macros_in(text: &str) -> Vec<String> {
    text.split('$')
        .enumerate()
        .filter(|(i, s)| i % 2 == 1 && !s.is_empty() && !s.contains(char::is_whitespace))
        .map(|(_, s)| format!("${s}$"))
        .collect()
}

/// The text up to the `}` that closes a block just opened (strings and
/// nested blocks skipped).
fn block(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' if depth == 0 => return Some(&text[..i]),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
object CheckCommand "demo" {
	import "ipv4-or-ipv6"
	arguments = {
		"-H" = {
			value = "$demo_address$"
			description = "a } in a string"
		}
		"-E_send" = {
			key = "-E"
			set_if = "$demo_escape$"
		}
		"-M" = {
			value = "$demo_mismatch$"
			}
		"-j" = {
			set_if = "$demo_jail$"
		}
		"host" = {
			value = "$demo_address$"
			skip_key = true
		}
		"-w" = {{
			if (macro("$demo_integer$")) { return macro("$demo_w$") }
			return macro("$demo_w$%")
		}}
	}
	vars.demo_address = "$check_address$"
}
"#;

    /// ALIASES is what the plugins' `src/bin/*.rs` files are: each calls
    /// its plugin's `main()` or `main_as(SERVICE, &[implied...])`.
    #[test]
    fn the_aliases_are_the_plugins_bin_files() {
        let plugins = crate::workspace_root().join("plugins");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&plugins).expect("plugins/") {
            let dir = entry.expect("entry").path();
            let plugin = dir
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_string();
            let Ok(bins) = std::fs::read_dir(dir.join("src/bin")) else {
                continue;
            };
            for bin in bins {
                let path = bin.expect("entry").path();
                let name = path
                    .file_stem()
                    .and_then(|n| n.to_str())
                    .expect("name")
                    .to_string();
                // A binary with options of its own (check_dig_rs) is a
                // plugin, not an alias.
                if crate::commands().iter().any(|c| c.get_name() == name) {
                    continue;
                }
                let code = std::fs::read_to_string(&path).expect("read");
                let implied: Vec<String> = match code.split_once("::main_as(") {
                    Some((_, call)) => {
                        let list = call
                            .split_once("&[")
                            .and_then(|(_, rest)| rest.split_once(']'))
                            .map(|(list, _)| list)
                            .expect("main_as(SERVICE, &[...])");
                        list.split(',')
                            .map(|w| w.trim().trim_matches('"').to_string())
                            .filter(|w| !w.is_empty())
                            .collect()
                    }
                    None => {
                        assert!(code.contains("::main()"), "{}", path.display());
                        Vec::new()
                    }
                };
                assert!(
                    code.contains(&format!("{plugin}::main")),
                    "{} does not run {plugin}",
                    path.display()
                );
                found.push((name, plugin.clone(), implied));
            }
        }
        found.sort();
        let mut listed: Vec<(String, String, Vec<String>)> = ALIASES
            .iter()
            .map(|(n, p, i)| {
                (
                    n.to_string(),
                    p.to_string(),
                    i.iter().map(|w| w.to_string()).collect(),
                )
            })
            .collect();
        listed.sort();
        assert_eq!(listed, found);
    }

    #[test]
    fn the_itl_parser_reads_every_form() {
        let args = parse_itl(SAMPLE, "demo").expect("parsed");
        let got: Vec<(&str, &str, Kind, &str)> = args
            .iter()
            .map(|(k, w, kind, m)| (k.as_str(), w.as_str(), *kind, m.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("-H", "-H", Value, "$demo_address$"),
                ("-E_send", "-E", Flag, "$demo_escape$"),
                ("-M", "-M", Value, "$demo_mismatch$"),
                ("-j", "-j", Flag, "$demo_jail$"),
                ("host", "host", Positional, "$demo_address$"),
                ("-w", "-w", Function, "$demo_integer$ $demo_w$"),
            ]
        );
        assert!(parse_itl(SAMPLE, "other").is_none());
    }

    const DEMO_ARGS: &[ItlArg] = &[
        a("-q", "-q", Value, "$demo_quit$"),
        a("-x", "-x", Flag, "$demo_x$"),
    ];

    #[test]
    fn an_undecided_mismatch_stops_generation() {
        let cmd = Command::new("check_demo_rs")
            .arg(Arg::new("quit").short('q').action(ArgAction::SetTrue))
            .arg(Arg::new("hostname").short('H').long("hostname"));
        let itl = ItlCommand {
            name: "demo",
            binary: "check_demo_rs",
            names_from: "demo",
            args: DEMO_ARGS,
            handling: &[],
        };
        let quit = decide(&itl, &cmd, &itl.args[0]).expect_err("arity differs");
        assert!(quit.contains("takes none"), "{quit}");
        let x = decide(&itl, &cmd, &itl.args[1]).expect_err("no -x");
        assert!(x.contains("not an option"), "{x}");
    }
}
