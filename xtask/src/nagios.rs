//! Debian's stock Nagios command definitions with our binaries: the same
//! command names and command lines as monitoring-plugins-basic 2.3.3
//! installs in /etc/nagios-plugins/config, only `check_x` becoming
//! `check_x_rs`, so a user includes our file instead of Debian's.
//!
//! The definitions are transcribed below (a test compares them with the
//! installed templates, and parses every command line with our plugins).

use std::fmt::Write as _;

/// One stock `define command`.
#[derive(Clone, Copy, Debug)]
pub struct StockCommand {
    /// The file under /etc/nagios-plugins/config.
    pub file: &'static str,
    /// `command_name`.
    pub name: &'static str,
    /// `command_line`, as Debian ships it.
    pub line: &'static str,
}

const fn c(file: &'static str, name: &'static str, line: &'static str) -> StockCommand {
    StockCommand { file, name, line }
}

/// Where Debian's plugins, and our package's, are installed.
pub const PLUGIN_DIR: &str = "/usr/lib/nagios/plugins/";

/// The stock definitions of the files whose plugins we replace, in file
/// order. Debian has no swap.cfg and keeps check_smtp in mail.cfg.
pub const DEBIAN_STOCK: &[StockCommand] = &[
    c(
        "load.cfg",
        "check_load",
        "/usr/lib/nagios/plugins/check_load --warning='$ARG1$,$ARG2$,$ARG3$' --critical='$ARG4$,$ARG5$,$ARG6$'",
    ),
    c(
        "procs.cfg",
        "check_procs",
        "/usr/lib/nagios/plugins/check_procs -w '$ARG1$' -c '$ARG2$'",
    ),
    c(
        "procs.cfg",
        "check_procs_zombie",
        "/usr/lib/nagios/plugins/check_procs -w '$ARG1$' -c '$ARG2$' -s Z",
    ),
    c(
        "procs.cfg",
        "check_procs_httpd",
        "/usr/lib/nagios/plugins/check_procs -w 5:'$ARG1$' -c 1:'$ARG2$' -C httpd",
    ),
    c(
        "disk.cfg",
        "check_disk",
        "/usr/lib/nagios/plugins/check_disk -w '$ARG1$' -c '$ARG2$' -e -p '$ARG3$'",
    ),
    c(
        "disk.cfg",
        "check_all_disks",
        "/usr/lib/nagios/plugins/check_disk -w '$ARG1$' -c '$ARG2$' -e",
    ),
    c(
        "disk.cfg",
        "ssh_disk",
        "/usr/lib/nagios/plugins/check_by_ssh -H '$HOSTADDRESS$' -C \"/usr/lib/nagios/plugins/check_disk -w '$ARG1$' -c '$ARG2$' -e -p '$ARG3$'\"",
    ),
    c(
        "disk.cfg",
        "ssh_disk_4",
        "/usr/lib/nagios/plugins/check_by_ssh -H '$HOSTADDRESS$' -C \"/usr/lib/nagios/plugins/check_disk -w '$ARG1$' -c '$ARG2$' -e -p '$ARG3$'\" -4",
    ),
    c(
        "ssh.cfg",
        "check_ssh",
        "/usr/lib/nagios/plugins/check_ssh '$HOSTADDRESS$'",
    ),
    c(
        "ssh.cfg",
        "check_ssh_port",
        "/usr/lib/nagios/plugins/check_ssh -p '$ARG1$' '$HOSTADDRESS$'",
    ),
    c(
        "ssh.cfg",
        "check_ssh_4",
        "/usr/lib/nagios/plugins/check_ssh -4 '$HOSTADDRESS$'",
    ),
    c(
        "ssh.cfg",
        "check_ssh_port_4",
        "/usr/lib/nagios/plugins/check_ssh -4 -p '$ARG1$' '$HOSTADDRESS$'",
    ),
    c(
        "tcp_udp.cfg",
        "check_tcp",
        "/usr/lib/nagios/plugins/check_tcp -H '$HOSTADDRESS$' -p '$ARG1$' '$ARG2$'",
    ),
    c(
        "tcp_udp.cfg",
        "check_udp",
        "/usr/lib/nagios/plugins/check_udp -H '$HOSTADDRESS$' -p '$ARG1$' '$ARG2$'",
    ),
    c(
        "tcp_udp.cfg",
        "check_tcp_4",
        "/usr/lib/nagios/plugins/check_tcp -H '$HOSTADDRESS$' -p '$ARG1$' -4 '$ARG2$'",
    ),
    c(
        "tcp_udp.cfg",
        "check_udp_4",
        "/usr/lib/nagios/plugins/check_udp -H '$HOSTADDRESS$' -p '$ARG1$' -4 '$ARG2$'",
    ),
    c(
        "mail.cfg",
        "check_pop",
        "/usr/lib/nagios/plugins/check_pop -H '$HOSTADDRESS$' '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_smtp",
        "/usr/lib/nagios/plugins/check_smtp -H '$HOSTADDRESS$' '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_ssmtp",
        "/usr/lib/nagios/plugins/check_ssmtp -H '$HOSTADDRESS$' '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_imap",
        "/usr/lib/nagios/plugins/check_imap -H '$HOSTADDRESS$' '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_spop",
        "/usr/lib/nagios/plugins/check_pop -p 995 -H '$HOSTADDRESS$' -S '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_simap",
        "/usr/lib/nagios/plugins/check_imap -p 993 -H '$HOSTADDRESS$' -S '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_pop_4",
        "/usr/lib/nagios/plugins/check_pop -H '$HOSTADDRESS$' -4 '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_smtp_4",
        "/usr/lib/nagios/plugins/check_smtp -H '$HOSTADDRESS$' -4 '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_ssmtp_4",
        "/usr/lib/nagios/plugins/check_ssmtp -H '$HOSTADDRESS$' -4 '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_imap_4",
        "/usr/lib/nagios/plugins/check_imap -H '$HOSTADDRESS$' -4 '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_spop_4",
        "/usr/lib/nagios/plugins/check_pop -p 995 -H '$HOSTADDRESS$' -S -4 '$ARG1$'",
    ),
    c(
        "mail.cfg",
        "check_simap_4",
        "/usr/lib/nagios/plugins/check_imap -p 993 -H '$HOSTADDRESS$' -S -4 '$ARG1$'",
    ),
    c(
        "ftp.cfg",
        "check_ftp",
        "/usr/lib/nagios/plugins/check_ftp -H '$HOSTADDRESS$' '$ARG1$'",
    ),
    c(
        "ftp.cfg",
        "check_ftp_4",
        "/usr/lib/nagios/plugins/check_ftp -H '$HOSTADDRESS$' -4 '$ARG1$'",
    ),
];

/// C plugin -> our binary of the same name (what the stock lines run).
pub const RENAMES: &[(&str, &str)] = &[
    ("check_load", "check_load_rs"),
    ("check_procs", "check_procs_rs"),
    ("check_disk", "check_disk_rs"),
    ("check_ssh", "check_ssh_rs"),
    ("check_tcp", "check_tcp_rs"),
    ("check_smtp", "check_smtp_rs"),
    ("check_ssmtp", "check_ssmtp_rs"),
    ("check_pop", "check_pop_rs"),
    ("check_imap", "check_imap_rs"),
    ("check_ftp", "check_ftp_rs"),
];

/// The stock command line with its plugin renamed to ours, or `None` when
/// it runs a plugin we do not replace (check_udp) or runs one elsewhere
/// (check_by_ssh's remote check_disk, on a host we know nothing of).
pub fn renamed(line: &str) -> Option<String> {
    let (program, rest) = line.split_once(' ').unwrap_or((line, ""));
    let plugin = program.strip_prefix(PLUGIN_DIR)?;
    let (_, ours) = RENAMES.iter().find(|(c, _)| *c == plugin)?;
    Some(format!("{PLUGIN_DIR}{ours} {rest}"))
}

/// contrib/nagios/rsplugins-debian-commands.cfg.
pub fn debian_commands_file(header: &str) -> String {
    let mut out = format!("# {header}\n");
    out.push_str(
        "# Debian's stock command definitions (monitoring-plugins-basic 2.3.3,\n\
         # /etc/nagios-plugins/config/{load,procs,disk,ssh,tcp_udp,mail,ftp}.cfg) with\n\
         # only the plugin renamed to ours: the same command names and arguments, so\n\
         # services need no change. Include this file INSTEAD of those seven (Nagios\n\
         # refuses a command defined twice); definitions running a plugin we do not\n\
         # replace are kept as Debian has them, so nothing goes missing.\n",
    );
    let mut file = "";
    for stock in DEBIAN_STOCK {
        if stock.file != file {
            file = stock.file;
            let _ = write!(out, "\n# from /etc/nagios-plugins/config/{file}\n");
        }
        let line = match renamed(stock.line) {
            Some(ours) => ours,
            None => {
                let why = if stock.line.contains("check_by_ssh") {
                    "runs check_disk on the remote host through check_by_ssh: unchanged"
                } else {
                    "no rsplugins counterpart: unchanged"
                };
                let _ = writeln!(out, "# {}: {why}", stock.name);
                stock.line.to_string()
            }
        };
        let _ = write!(
            out,
            "define command {{\n    command_name    {}\n    command_line    {line}\n}}\n",
            stock.name
        );
    }
    out
}

/// The `(command_name, command_line)` pairs of a Nagios object file, as
/// Debian writes them (one directive per line).
pub fn parse_commands(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("command_name") {
            name = Some(n.trim().to_string());
        } else if let Some(l) = line.strip_prefix("command_line") {
            if let Some(n) = name.take() {
                out.push((n, l.trim().to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plugin_word_changes() {
        assert_eq!(
            renamed("/usr/lib/nagios/plugins/check_pop -p 995 -H '$HOSTADDRESS$' -S '$ARG1$'")
                .as_deref(),
            Some("/usr/lib/nagios/plugins/check_pop_rs -p 995 -H '$HOSTADDRESS$' -S '$ARG1$'")
        );
        assert_eq!(
            renamed("/usr/lib/nagios/plugins/check_udp -H '$HOSTADDRESS$' -p '$ARG1$' '$ARG2$'"),
            None
        );
        // check_procs is not check_proc...: whole names only.
        assert_eq!(renamed("/usr/lib/nagios/plugins/check_procsx -w 1"), None);
    }

    #[test]
    fn every_renamed_binary_has_a_plugin() {
        for (_, ours) in RENAMES {
            assert!(
                crate::icinga::binary(ours).is_some(),
                "{ours} is not one of our binaries"
            );
        }
    }

    #[test]
    fn the_generated_file_defines_every_stock_command_once() {
        let file = debian_commands_file("header");
        let parsed = parse_commands(&file);
        let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
        let stock: Vec<&str> = DEBIAN_STOCK.iter().map(|s| s.name).collect();
        assert_eq!(names, stock);
        for ((_, line), s) in parsed.iter().zip(DEBIAN_STOCK) {
            let expected = renamed(s.line).unwrap_or_else(|| s.line.to_string());
            assert_eq!(line, &expected);
        }
    }
}
