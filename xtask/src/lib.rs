//! Generated artefacts of the suite, all from the plugins' clap definitions:
//! man pages (`man/`) and monitoring-engine command definitions (`contrib/`).
//! `cargo run -p xtask -- generate` rewrites them; a test fails when the
//! committed copies drift from what this produces.

use std::path::{Path, PathBuf};

use clap::Command;

pub mod completions;
pub mod icinga;
pub mod nagios;
pub mod package;

/// Every plugin's clap definition, in name order: one per crate under
/// `plugins/` (derived by build.rs).
pub fn commands() -> Vec<Command> {
    let mut all: Vec<Command> = include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
    all.sort_by(|a, b| a.get_name().cmp(b.get_name()));
    all
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// One generated file: path relative to the workspace root, and content.
pub struct Artefact {
    /// Relative path.
    pub path: PathBuf,
    /// Full content.
    pub content: Vec<u8>,
}

/// The man page of one plugin, in roff.
pub fn man_page(cmd: &Command) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .section("1")
        .manual("rsplugins")
        .source(format!("rsplugins {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)?;
    Ok(out)
}

/// Where a plugin's `-H` does not name the host to connect to: check_dns_rs
/// looks the name up (C check_dns: `-H` the name, `-s` the server), so its
/// default is the host's name and Nagios passes the host's address as `-s`.
fn host_is_a_name(cmd: &Command) -> bool {
    cmd.get_name() == "check_dns_rs"
}

fn is_network(cmd: &Command) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == "hostname")
}

fn var_name(plugin: &str, long: &str) -> String {
    let short = plugin.trim_start_matches("check_").trim_end_matches("_rs");
    format!("{}_{}", short, long.replace('-', "_"))
}

fn icinga_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// An Icinga 2 `CheckCommand` with one argument entry per visible option.
pub fn icinga2_command(cmd: &Command) -> String {
    let name = cmd.get_name();
    // The ITL's ipv4-or-ipv6 template defines $check_address$ (the host's
    // address, or address6 when only that is set); without it -H is empty.
    let import = if is_network(cmd) {
        "  import \"ipv4-or-ipv6\"\n"
    } else {
        ""
    };
    let mut out = format!(
        "object CheckCommand \"{name}\" {{\n{import}  command = [ PluginDir + \"/{name}\" ]\n  arguments = {{\n"
    );
    let mut vars = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if arg.is_hide_set() || matches!(long, "help" | "version" | "extra-opts") {
            continue;
        }
        let var = var_name(name, long);
        let help = arg
            .get_help()
            .map(|h| icinga_escape(&h.to_string().replace('\n', " ")))
            .unwrap_or_default();
        // An option whose value may be left out (check_http_rs -S[VERSION]) is a flag
        // here: a boolean variable would reach the plugin as the word `true`.
        let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
        let takes_value = arg.get_action().takes_values() && !optional;
        // Repeatable options take an array variable, one option per element.
        let repeat = if matches!(arg.get_action(), clap::ArgAction::Append) {
            "      repeat_key = true\n"
        } else {
            ""
        };
        let key = match arg.get_short() {
            Some(s) => format!("-{s}"),
            None => format!("--{long}"),
        };
        if takes_value {
            out.push_str(&format!(
                "    \"{key}\" = {{\n      value = \"${var}$\"\n{repeat}      description = \"{help}\"\n    }}\n"
            ));
        } else {
            out.push_str(&format!(
                "    \"{key}\" = {{\n      set_if = \"${var}$\"\n      description = \"{help}\"\n    }}\n"
            ));
        }
        if long == "hostname" {
            let default = if host_is_a_name(cmd) {
                "$host.name$"
            } else {
                "$check_address$"
            };
            vars.push(format!("  vars.{var} = \"{default}\"\n"));
        }
    }
    out.push_str("  }\n");
    for v in vars {
        out.push_str(&v);
    }
    out.push_str("}\n");
    out
}

/// A Nagios `define command` that passes the arguments through `$ARG1$`.
pub fn nagios_command(cmd: &Command) -> String {
    let name = cmd.get_name();
    let host = if is_network(cmd) {
        if host_is_a_name(cmd) {
            " -s $HOSTADDRESS$"
        } else {
            " -H $HOSTADDRESS$"
        }
    } else {
        ""
    };
    format!(
        "define command {{\n    command_name    {name}\n    command_line    $USER1$/{name}{host} $ARG1$\n}}\n"
    )
}

/// Everything the generator writes.
pub fn artefacts() -> std::io::Result<Vec<Artefact>> {
    let header =
        "Generated by `cargo run -p xtask -- generate` from the plugins' options; do not edit.";
    let mut out = Vec::new();
    let mut icinga = format!("// {header}\n// Include it after the ITL (it uses PluginDir).\n");
    let mut nagios = format!("# {header}\n# Pass the plugin options in $ARG1$, e.g. check_command check_load_rs!-w 5,4,3 -c 10,8,6\n");
    for cmd in commands() {
        out.push(Artefact {
            path: PathBuf::from("man").join(format!("{}.1", cmd.get_name())),
            content: man_page(&cmd)?,
        });
        icinga.push('\n');
        icinga.push_str(&icinga2_command(&cmd));
        nagios.push('\n');
        nagios.push_str(&nagios_command(&cmd));
    }
    out.push(Artefact {
        path: PathBuf::from("contrib/icinga2/rsplugins-commands.conf"),
        content: icinga.into_bytes(),
    });
    out.push(Artefact {
        path: PathBuf::from("contrib/nagios/rsplugins-commands.cfg"),
        content: nagios.into_bytes(),
    });
    let all = commands();
    let itl = icinga::itl_commands_file(header, &all).map_err(std::io::Error::other)?;
    out.push(Artefact {
        path: PathBuf::from("contrib/icinga2/rsplugins-itl-commands.conf"),
        content: itl.into_bytes(),
    });
    let table = icinga::compatibility_table(header, &all).map_err(std::io::Error::other)?;
    out.push(Artefact {
        path: PathBuf::from("contrib/icinga2/itl-compatibility.md"),
        content: table.into_bytes(),
    });
    out.push(Artefact {
        path: PathBuf::from("contrib/nagios/rsplugins-debian-commands.cfg"),
        content: nagios::debian_commands_file(header).into_bytes(),
    });
    Ok(out)
}
