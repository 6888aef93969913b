//! Shell completions for every installed binary, plugins, their C-name
//! aliases and the handlers alike, generated with clap_complete from the same clap
//! definitions the binaries parse their options with (an alias takes its
//! plugin's options under its own name).
//!
//! `cargo run -p xtask -- completions DIR` writes `DIR/bash/<bin>`,
//! `DIR/zsh/_<bin>` and `DIR/fish/<bin>.fish`: the file names each shell's
//! completion loader looks up by command name, so the package installs the
//! three directories as they are.

use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

use crate::package::Binary;

/// The shells completions are written for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The subdirectory of the output for `shell` (its name: `bash`, `zsh`, `fish`).
pub fn shell_dir(shell: Shell) -> String {
    shell.to_string()
}

/// The file name under which `shell` loads the completion of command `bin`:
/// bash-completion by the command's name, zsh `_<name>` from its fpath,
/// fish `<name>.fish`.
pub fn file_name(shell: Shell, bin: &str) -> String {
    match shell {
        Shell::Zsh => format!("_{bin}"),
        Shell::Fish => format!("{bin}.fish"),
        _ => bin.to_string(),
    }
}

/// The completion script of the binary `bin`, which parses `cmd`'s options.
pub fn script(shell: Shell, cmd: &Command, bin: &str) -> Vec<u8> {
    let mut cmd = cmd.clone();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin, &mut out);
    out
}

/// The clap definition `binary` parses with, among `commands` (all of
/// them: [`crate::all_commands`], plugins and handlers): the one of its own
/// name (a handler, a second binary with options of its own such as
/// check_dig_rs), else its plugin's (a C-name alias such as check_simap_rs).
pub fn command_of<'a>(binary: &Binary, commands: &'a [Command]) -> Result<&'a Command, String> {
    commands
        .iter()
        .find(|c| c.get_name() == binary.name)
        .or_else(|| commands.iter().find(|c| c.get_name() == binary.plugin))
        .ok_or_else(|| {
            format!(
                "no clap definition named {} or {} for the binary {} (is the crate missing from xtask's dependencies?)",
                binary.name, binary.plugin, binary.name
            )
        })
}

/// Where Debian's packages put `shell`'s completions (relative to `/`),
/// the directories each shell's completion loader searches.
pub fn debian_dir(shell: Shell) -> &'static str {
    match shell {
        Shell::Zsh => "usr/share/zsh/vendor-completions",
        Shell::Fish => "usr/share/fish/vendor_completions.d",
        _ => "usr/share/bash-completion/completions",
    }
}

/// Writes `shell`'s completion of every binary into `dir`; returns the
/// files written.
pub fn write_shell(
    shell: Shell,
    dir: &Path,
    binaries: &[Binary],
    commands: &[Command],
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for binary in binaries {
        let cmd = command_of(binary, commands)?;
        let path = dir.join(file_name(shell, &binary.name));
        std::fs::write(&path, script(shell, cmd, &binary.name))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes the completions of every binary for every shell under
/// `dir/<shell>/`; returns the files written.
pub fn write_all(
    dir: &Path,
    binaries: &[Binary],
    commands: &[Command],
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for shell in SHELLS {
        written.extend(write_shell(
            shell,
            &dir.join(shell_dir(shell)),
            binaries,
            commands,
        )?);
    }
    Ok(written)
}

/// `cargo run -p xtask -- completions DIR`.
pub fn task(args: &[String]) -> std::process::ExitCode {
    let [dir] = args else {
        eprintln!("usage: cargo run -p xtask -- completions DIR");
        return std::process::ExitCode::from(2);
    };
    let written = crate::package::Workspace::load()
        .and_then(|ws| write_all(dir.as_ref(), &ws.binaries, &crate::all_commands()));
    match written {
        Ok(files) => {
            println!("wrote {} completion files under {dir}", files.len());
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

    fn imap() -> Command {
        crate::commands()
            .into_iter()
            .find(|c| c.get_name() == "check_imap_rs")
            .expect("check_imap_rs is a plugin")
    }

    #[test]
    fn an_alias_completes_its_plugins_options_under_its_own_name() {
        let bash =
            String::from_utf8(script(Shell::Bash, &imap(), "check_simap_rs")).expect("utf-8");
        // bash-completion registers the function for the command's name;
        // bash falls back to it when the command is typed with its path.
        assert!(
            bash.lines()
                .any(|l| l.trim().starts_with("complete -F _check_simap_rs ")
                    && l.trim_end().ends_with(" check_simap_rs")),
            "{bash}"
        );
        assert!(bash.contains("--hostname"), "{bash}");
        assert!(bash.contains("--ssl"), "{bash}");
        assert!(!bash.contains("check_imap_rs"), "{bash}");
    }

    #[test]
    fn zsh_and_fish_scripts_name_the_binary() {
        let zsh = String::from_utf8(script(Shell::Zsh, &imap(), "check_simap_rs")).expect("utf-8");
        assert!(zsh.starts_with("#compdef check_simap_rs\n"), "{zsh}");
        let fish =
            String::from_utf8(script(Shell::Fish, &imap(), "check_simap_rs")).expect("utf-8");
        assert!(fish.contains("complete -c check_simap_rs "), "{fish}");
        assert!(fish.contains("-l hostname"), "{fish}");
    }

    #[test]
    fn file_names_are_what_each_shell_loads() {
        assert_eq!(file_name(Shell::Bash, "check_load_rs"), "check_load_rs");
        assert_eq!(file_name(Shell::Zsh, "check_load_rs"), "_check_load_rs");
        assert_eq!(
            file_name(Shell::Fish, "check_load_rs"),
            "check_load_rs.fish"
        );
        assert_eq!(shell_dir(Shell::Fish), "fish");
    }

    #[test]
    fn a_binary_with_a_definition_of_its_own_takes_it() {
        let own = Binary {
            name: "check_load_rs".into(),
            plugin: "check_imap_rs".into(),
            handler: false,
        };
        let commands = crate::all_commands();
        assert_eq!(
            command_of(&own, &commands).map(|c| c.get_name()),
            Ok("check_load_rs")
        );
        let alias = Binary {
            name: "check_simap_rs".into(),
            plugin: "check_imap_rs".into(),
            handler: false,
        };
        assert_eq!(
            command_of(&alias, &commands).map(|c| c.get_name()),
            Ok("check_imap_rs")
        );
    }

    #[test]
    fn a_binary_without_a_definition_is_an_error() {
        let stray = Binary {
            name: "check_nothing_rs".into(),
            plugin: "check_nothing_rs".into(),
            handler: false,
        };
        assert!(command_of(&stray, &crate::commands()).is_err());
    }

    #[test]
    fn a_handler_completes_its_own_options() {
        let restart = Binary {
            name: "restart_service_rs".into(),
            plugin: "rsplugins-handlers".into(),
            handler: true,
        };
        let commands = crate::all_commands();
        let cmd = command_of(&restart, &commands).expect("a definition");
        assert_eq!(cmd.get_name(), "restart_service_rs");
        let bash =
            String::from_utf8(script(Shell::Bash, cmd, "restart_service_rs")).expect("utf-8");
        assert!(bash.contains("--max-restarts"), "{bash}");
        // Plugins alone do not know it.
        assert!(command_of(&restart, &crate::commands()).is_err());
    }
}
