//! Generated artefacts of the suite, all from the plugins' and the handlers'
//! clap definitions: man pages (`man/`) and monitoring-engine command
//! definitions (`contrib/`): CheckCommands for the plugins, EventCommands
//! for the event handlers.
//! `cargo run -p xtask -- generate` rewrites them; a test fails when the
//! committed copies drift from what this produces.

use std::path::{Path, PathBuf};

use clap::Command;

pub mod completions;
pub mod icinga;
pub mod link;
pub mod nagios;
pub mod package;

/// Every plugin's clap definition, in name order: one per crate under
/// `plugins/` (derived by build.rs).
pub fn commands() -> Vec<Command> {
    let mut all: Vec<Command> = include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
    all.sort_by(|a, b| a.get_name().cmp(b.get_name()));
    all
}

/// Every handler's clap definition, in name order: the event handlers and
/// the cron watchdog of the crate under `handlers/`. They are not plugins:
/// man pages and completions, but no CheckCommand.
pub fn handler_commands() -> Vec<Command> {
    let mut all = handlers::commands();
    all.sort_by(|a, b| a.get_name().cmp(b.get_name()));
    all
}

/// Every installed binary's own clap definition: the plugins' and the
/// handlers' (what completions and man pages are made from).
pub fn all_commands() -> Vec<Command> {
    let mut all = commands();
    all.extend(handler_commands());
    all.sort_by(|a, b| a.get_name().cmp(b.get_name()));
    all
}

/// Handlers run from cron, not by an engine: no EventCommand.
const FROM_CRON: &[&str] = &["watchdog_rs"];

/// The handlers an engine runs as a service's event handler, in name order.
pub fn event_handler_commands() -> Vec<Command> {
    handler_commands()
        .into_iter()
        .filter(|c| !FROM_CRON.contains(&c.get_name()))
        .collect()
}

/// The engine's event as the handlers read it (`EventArgs`): option,
/// Icinga 2 macro, Nagios macro. A command has them all or none (reap_procs_rs's
/// `--state` is check_proc_rs's process-state filter, a variable like any other).
const EVENT_MACROS: [(&str, &str, &str); 4] = [
    ("state", "$service.state$", "$SERVICESTATE$"),
    ("state-type", "$service.state_type$", "$SERVICESTATETYPE$"),
    ("attempt", "$service.check_attempt$", "$SERVICEATTEMPT$"),
    // A service description may hold spaces: one word, quoted.
    ("service", "$service.name$", "'$SERVICEDESC$'"),
];

/// Whether `cmd` reads the engine's event (all of [`EVENT_MACROS`]).
fn reads_event(cmd: &Command) -> bool {
    EVENT_MACROS.iter().all(|(long, _, _)| {
        cmd.get_arguments()
            .any(|a| a.get_long() == Some(*long) && !a.is_hide_set())
    })
}

/// A handler's engine command name: `restart_service_rs` -> `restart-service-rs`.
pub fn event_command_name(handler: &str) -> String {
    handler.replace('_', "-")
}

/// The prefix of a handler's variables: its first word (`restart` for
/// restart_service_rs: `$restart_unit$`).
fn handler_prefix(handler: &str) -> &str {
    handler.split('_').next().unwrap_or(handler)
}

/// Options of the handlers that no engine passes: for a human
/// (`--print-sudoers`) or for sudo (`--kill-leftovers`, which the handler
/// runs as root itself).
const NOT_HANDLER_ARGUMENTS: &[&str] = &["print-sudoers", "kill-leftovers"];

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

/// The prefix of a plugin's variables: `load` for check_load_rs.
fn plugin_prefix(plugin: &str) -> &str {
    plugin.trim_start_matches("check_").trim_end_matches("_rs")
}

fn icinga_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The `arguments = { ... }` block of a generated Icinga 2 command: one
/// entry per visible long option (not help, version, extra-opts, nor those
/// in `skip`), keyed by its short option if it has one. An option in
/// `fixed` (long, macro) passes that macro; any other one the variable
/// `<prefix>_<long with - as _>`: a value, an array with one option per
/// element for a repeatable one, or `set_if` for a flag.
fn icinga2_arguments(cmd: &Command, prefix: &str, skip: &[&str], fixed: &[(&str, &str)]) -> String {
    let mut out = String::from("  arguments = {\n");
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if arg.is_hide_set() || matches!(long, "help" | "version" | "extra-opts") {
            continue;
        }
        if skip.contains(&long) {
            continue;
        }
        let help = arg
            .get_help()
            .map(|h| icinga_escape(&h.to_string().replace('\n', " ")))
            .unwrap_or_default();
        let key = match arg.get_short() {
            Some(s) => format!("-{s}"),
            None => format!("--{long}"),
        };
        if let Some((_, value)) = fixed.iter().find(|(l, _)| *l == long) {
            out.push_str(&format!(
                "    \"{key}\" = {{\n      value = \"{value}\"\n      description = \"{help}\"\n    }}\n"
            ));
            continue;
        }
        let var = format!("{prefix}_{}", long.replace('-', "_"));
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
        if takes_value {
            out.push_str(&format!(
                "    \"{key}\" = {{\n      value = \"${var}$\"\n{repeat}      description = \"{help}\"\n    }}\n"
            ));
        } else {
            out.push_str(&format!(
                "    \"{key}\" = {{\n      set_if = \"${var}$\"\n      description = \"{help}\"\n    }}\n"
            ));
        }
    }
    out.push_str("  }\n");
    out
}

/// An Icinga 2 `CheckCommand` with one argument entry per visible option.
pub fn icinga2_command(cmd: &Command) -> String {
    let name = cmd.get_name();
    let prefix = plugin_prefix(name);
    // The ITL's ipv4-or-ipv6 template defines $check_address$ (the host's
    // address, or address6 when only that is set); without it -H is empty.
    let import = if is_network(cmd) {
        "  import \"ipv4-or-ipv6\"\n"
    } else {
        ""
    };
    let mut out = format!(
        "object CheckCommand \"{name}\" {{\n{import}  command = [ PluginDir + \"/{name}\" ]\n"
    );
    out.push_str(&icinga2_arguments(cmd, prefix, &[], &[]));
    let hostname = cmd
        .get_arguments()
        .any(|a| a.get_long() == Some("hostname") && !a.is_hide_set());
    if hostname {
        let default = if host_is_a_name(cmd) {
            "$host.name$"
        } else {
            "$check_address$"
        };
        out.push_str(&format!("  vars.{prefix}_hostname = \"{default}\"\n"));
    }
    out.push_str("}\n");
    out
}

/// An Icinga 2 `EventCommand` for an event handler: the engine's event as
/// macros, the handler's other options as `<prefix>_*` variables
/// (`restart_unit` for restart_service_rs's `--unit`).
pub fn icinga2_event_command(cmd: &Command) -> String {
    let name = cmd.get_name();
    let fixed: Vec<(&str, &str)> = if reads_event(cmd) {
        EVENT_MACROS.iter().map(|(l, i, _)| (*l, *i)).collect()
    } else {
        Vec::new()
    };
    format!(
        "object EventCommand \"{}\" {{\n  command = [ PluginDir + \"/{name}\" ]\n{}}}\n",
        event_command_name(name),
        icinga2_arguments(cmd, handler_prefix(name), NOT_HANDLER_ARGUMENTS, &fixed)
    )
}

/// A Nagios `define command` for an event handler: the engine's event as
/// macros, the handler's own options in `$ARG1$`.
pub fn nagios_event_command(cmd: &Command) -> String {
    let name = cmd.get_name();
    let event: String = if reads_event(cmd) {
        EVENT_MACROS
            .iter()
            .map(|(long, _, nagios)| format!(" --{long} {nagios}"))
            .collect()
    } else {
        String::new()
    };
    format!(
        "define command {{\n    command_name    {}\n    command_line    $USER1$/{name}{event} $ARG1$\n}}\n",
        event_command_name(name)
    )
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
    for cmd in all_commands() {
        out.push(Artefact {
            path: PathBuf::from("man").join(format!("{}.1", cmd.get_name())),
            content: man_page(&cmd)?,
        });
    }
    for cmd in commands() {
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
    let (icinga, nagios) = event_command_files();
    out.push(Artefact {
        path: PathBuf::from("contrib/icinga2/rsplugins-eventcommands.conf"),
        content: icinga.into_bytes(),
    });
    out.push(Artefact {
        path: PathBuf::from("contrib/nagios/rsplugins-handlers.cfg"),
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

/// contrib/icinga2/rsplugins-eventcommands.conf and
/// contrib/nagios/rsplugins-handlers.cfg: one command per event handler.
fn event_command_files() -> (String, String) {
    let header =
        "Generated by `cargo run -p xtask -- generate` from the handlers' options; do not edit.";
    let mut icinga = format!(
        "// {header}\n\
         // Include it after the ITL (it uses PluginDir). Event handlers, not checks: a service\n\
         // names one as its event_command and sets the handler's options as variables, e.g.\n\
         //   event_command = \"restart-service-rs\"\n\
         //   vars.restart_unit = \"vsftpd\"\n\
         //   vars.restart_check = \"/usr/lib/nagios/plugins/check_ftp_rs -H 127.0.0.1\"\n\
         // restart-service-rs and shed-load-rs are given the service's state, state type,\n\
         // attempt and name on every run, and act on a confirmed problem only (their\n\
         // --on-state and --on-attempt). reap-procs-rs reads no event: it reaps whenever it\n\
         // runs. watchdog_rs runs from cron, not from the engine: it has no command here.\n"
    );
    let mut nagios = format!(
        "# {header}\n\
         # Event handlers, not checks: a service names one as its event_handler, with the\n\
         # handler's own options in $ARG1$, e.g.\n\
         #   event_handler  restart-service-rs!--unit vsftpd --sudo\n\
         # restart-service-rs and shed-load-rs are given the service's state, state type,\n\
         # attempt and description on every run, and act on a confirmed problem only (their\n\
         # --on-state and --on-attempt). reap-procs-rs reads no event: it reaps whenever it\n\
         # runs. watchdog_rs runs from cron, not from the engine: it has no command here.\n"
    );
    for cmd in event_handler_commands() {
        icinga.push('\n');
        icinga.push_str(&icinga2_event_command(&cmd));
        nagios.push('\n');
        nagios.push_str(&nagios_event_command(&cmd));
    }
    (icinga, nagios)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn handler(name: &str) -> Command {
        handler_commands()
            .into_iter()
            .find(|c| c.get_name() == name)
            .unwrap_or_else(|| panic!("no handler {name}"))
    }

    /// The entry of `key` in a rendered arguments block.
    fn entry<'t>(text: &'t str, key: &str) -> &'t str {
        let head = format!("    \"{key}\" = {{\n");
        let start = text
            .find(&head)
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"));
        let rest = &text[start..];
        let end = rest.find("\n    }\n").expect("end of entry") + "\n    }\n".len();
        &rest[..end]
    }

    #[test]
    fn event_commands_pass_the_event_as_macros_and_options_as_variables() {
        let text = icinga2_event_command(&handler("restart_service_rs"));
        assert!(
            text.starts_with(
                "object EventCommand \"restart-service-rs\" {\n  command = [ PluginDir + \"/restart_service_rs\" ]\n  arguments = {\n"
            ),
            "{text}"
        );
        // The event: a fixed macro.
        assert_eq!(
            entry(&text, "--state-type"),
            "    \"--state-type\" = {\n      value = \"$service.state_type$\"\n      description = \"SOFT or HARD: Nagios $SERVICESTATETYPE$, Icinga 2 $service.state_type$\"\n    }\n"
        );
        for (long, macro_) in [
            ("--state", "$service.state$"),
            ("--attempt", "$service.check_attempt$"),
            ("--service", "$service.name$"),
        ] {
            assert!(
                entry(&text, long).contains(&format!("value = \"{macro_}\"")),
                "{text}"
            );
        }
        // A value.
        assert_eq!(
            entry(&text, "--unit"),
            "    \"--unit\" = {\n      value = \"$restart_unit$\"\n      description = \"The service manager's unit (systemd unit or init script name)\"\n    }\n"
        );
        // A repeatable option: an array, one option per element.
        assert_eq!(
            entry(&text, "--also"),
            "    \"--also\" = {\n      value = \"$restart_also$\"\n      repeat_key = true\n      description = \"Restart this dependent unit after the service started (repeat, in order)\"\n    }\n"
        );
        // A flag.
        assert_eq!(
            entry(&text, "--sudo"),
            "    \"--sudo\" = {\n      set_if = \"$restart_sudo$\"\n      description = \"Run the privileged steps (stop, start, ending leftovers) through `sudo -n`\"\n    }\n"
        );
        // The time-out, as in the CheckCommands.
        assert!(entry(&text, "-t").contains("value = \"$restart_timeout$\""));
        // For humans and sudo, not the engine.
        for skipped in [
            "--print-sudoers",
            "--kill-leftovers",
            "--extra-opts",
            "--help",
            "-h",
            "-V",
        ] {
            assert!(!text.contains(&format!("\"{skipped}\"")), "{text}");
        }
        assert!(!text.contains("vars."), "{text}");

        let shed = icinga2_event_command(&handler("shed_load_rs"));
        assert!(shed.contains("object EventCommand \"shed-load-rs\" {\n"));
        assert!(entry(&shed, "--stop-unit")
            .contains("value = \"$shed_stop_unit$\"\n      repeat_key = true\n"));
        assert!(entry(&shed, "--state").contains("value = \"$service.state$\""));
    }

    #[test]
    fn a_handler_without_the_event_options_gets_variables_only() {
        let text = icinga2_event_command(&handler("reap_procs_rs"));
        assert!(text.starts_with("object EventCommand \"reap-procs-rs\" {\n"));
        assert!(!text.contains("$service."), "{text}");
        // Its -s/--state is check_proc_rs's process-state filter.
        assert!(entry(&text, "-s").contains("value = \"$reap_state$\""));
        assert!(entry(&text, "--older-than").contains("value = \"$reap_older_than$\""));
        assert!(entry(&text, "--orphaned").contains("set_if = \"$reap_orphaned$\""));
        // Hidden options stay hidden.
        assert!(!text.contains("proc-root"), "{text}");
    }

    #[test]
    fn an_optional_value_is_a_flag_and_skipped_options_are_left_out() {
        let cmd = Command::new("demo_thing_rs")
            .arg(
                Arg::new("ssl")
                    .short('S')
                    .long("ssl")
                    .num_args(0..=1)
                    .require_equals(true)
                    .help("Optional value"),
            )
            .arg(
                Arg::new("secret")
                    .long("secret")
                    .hide(true)
                    .action(ArgAction::Set),
            )
            .arg(
                Arg::new("print-sudoers")
                    .long("print-sudoers")
                    .action(ArgAction::SetTrue),
            );
        let text = icinga2_event_command(&cmd);
        assert_eq!(
            entry(&text, "-S"),
            "    \"-S\" = {\n      set_if = \"$demo_ssl$\"\n      description = \"Optional value\"\n    }\n"
        );
        assert!(
            !text.contains("secret") && !text.contains("print-sudoers"),
            "{text}"
        );
    }

    #[test]
    fn nagios_handlers_take_the_event_macros_and_arg1() {
        assert_eq!(
            nagios_event_command(&handler("restart_service_rs")),
            "define command {\n    command_name    restart-service-rs\n    command_line    $USER1$/restart_service_rs --state $SERVICESTATE$ --state-type $SERVICESTATETYPE$ --attempt $SERVICEATTEMPT$ --service '$SERVICEDESC$' $ARG1$\n}\n"
        );
        assert_eq!(
            nagios_event_command(&handler("reap_procs_rs")),
            "define command {\n    command_name    reap-procs-rs\n    command_line    $USER1$/reap_procs_rs $ARG1$\n}\n"
        );
    }

    #[test]
    fn handlers_get_event_commands_and_man_pages_but_no_check_command() {
        let handlers: Vec<String> = handler_commands()
            .iter()
            .map(|c| c.get_name().to_string())
            .collect();
        assert_eq!(
            handlers,
            [
                "reap_procs_rs",
                "restart_service_rs",
                "shed_load_rs",
                "watchdog_rs"
            ]
        );
        assert!(commands()
            .iter()
            .all(|c| !handlers.iter().any(|h| h == c.get_name())));
        let artefacts = artefacts().expect("render");
        let file = |path: &str| -> String {
            let a = artefacts
                .iter()
                .find(|a| a.path == Path::new(path))
                .unwrap_or_else(|| panic!("no {path}"));
            String::from_utf8(a.content.clone()).expect("utf-8")
        };
        for h in &handlers {
            assert!(
                artefacts
                    .iter()
                    .any(|a| a.path == Path::new("man").join(format!("{h}.1"))),
                "no man page for {h}"
            );
            for plugins_file in [
                "contrib/icinga2/rsplugins-commands.conf",
                "contrib/icinga2/rsplugins-itl-commands.conf",
                "contrib/nagios/rsplugins-commands.cfg",
            ] {
                assert!(
                    !file(plugins_file).contains(h.as_str()),
                    "{h} in {plugins_file}"
                );
            }
        }
        let icinga = file("contrib/icinga2/rsplugins-eventcommands.conf");
        let nagios = file("contrib/nagios/rsplugins-handlers.cfg");
        assert!(!icinga.contains("CheckCommand"), "{icinga}");
        let objects: Vec<&str> = icinga
            .lines()
            .filter(|l| l.starts_with("object "))
            .collect();
        assert_eq!(
            objects,
            [
                "object EventCommand \"reap-procs-rs\" {",
                "object EventCommand \"restart-service-rs\" {",
                "object EventCommand \"shed-load-rs\" {",
            ]
        );
        // watchdog_rs runs from cron only.
        assert!(!icinga.contains("\"/watchdog_rs\""));
        assert!(!nagios.contains("$USER1$/watchdog_rs"));
        let names: Vec<String> = nagios::parse_commands(&nagios)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            ["reap-procs-rs", "restart-service-rs", "shed-load-rs"]
        );
        // Only our own names: loaded where the engines load definitions.
        assert_eq!(package::icinga2_not_loadable(&icinga), None);
        assert_eq!(package::nagios_not_loadable(&nagios), None);
    }
}
