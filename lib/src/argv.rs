//! What a command line says before clap parses it.
//!
//! The runner needs a few values before the full parse can run: the time
//! budget (armed before any file is opened, since `--extra-opts=@FILE` or a
//! `file:` secret may block), the output format (so usage errors come out in
//! it) and the raw values of secret options (so no error message can print
//! them). This scanner reads argv the way getopt_long does: a short option's
//! value is the rest of its word or the next word, a long option's value
//! follows `=` or is the next word, and an unambiguous prefix names a long.

use std::any::TypeId;

use clap::{Arg, Command};

use crate::secret::Secret;

/// Whether `arg` is an option (not a positional) that always takes one value.
pub fn takes_one_value(arg: &Arg) -> bool {
    if arg.is_positional() || !arg.get_action().takes_values() || arg.is_require_equals_set() {
        return false;
    }
    arg.get_num_args()
        .is_none_or(|n| n.min_values() == 1 && n.max_values() == 1)
}

/// Whether `arg`'s values are secrets.
pub fn is_secret(arg: &Arg) -> bool {
    arg.get_value_parser().type_id() == TypeId::of::<Secret>()
}

/// The long option named by `name`: an exact match, else the only long that
/// starts with it (getopt_long's abbreviations). Primary names are tried
/// before aliases, which clap hands out as fresh vectors (start-up cost).
fn find_long<'c>(command: &'c Command, name: &str) -> Option<&'c Arg> {
    if let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(name)) {
        return Some(arg);
    }
    if let Some(arg) = command
        .get_arguments()
        .find(|a| a.get_all_aliases().unwrap_or_default().contains(&name))
    {
        return Some(arg);
    }
    if name.is_empty() {
        return None;
    }
    let mut candidates = command.get_arguments().filter(|a| {
        a.get_long().is_some_and(|l| l.starts_with(name))
            || a.get_all_aliases()
                .unwrap_or_default()
                .iter()
                .any(|l| l.starts_with(name))
    });
    match (candidates.next(), candidates.next()) {
        (Some(arg), None) => Some(arg),
        _ => None,
    }
}

fn find_short(command: &Command, c: char) -> Option<&Arg> {
    command
        .get_arguments()
        .find(|a| a.get_short() == Some(c))
        .or_else(|| {
            command
                .get_arguments()
                .find(|a| a.get_all_short_aliases().unwrap_or_default().contains(&c))
        })
}

/// How `argv` (program name first) reads: the (option, value) pairs in
/// order, and which words are consumed whole as an option's value.
struct Scan<'c> {
    values: Vec<(&'c Arg, String)>,
    value_word: Vec<bool>,
    /// Index of `--`, after which nothing is an option.
    end: usize,
}

fn scan<'c>(command: &'c Command, argv: &[String]) -> Scan<'c> {
    let mut found = Vec::new();
    let mut value_word = vec![false; argv.len()];
    let mut end = argv.len();
    let mut i = 1;
    // The next word as an option's value, marked as consumed.
    let next_word = |i: &mut usize, marks: &mut Vec<bool>| {
        *i += 1;
        let word = argv.get(*i).cloned();
        if word.is_some() {
            marks[*i] = true;
        }
        word
    };
    while i < argv.len() {
        let word = &argv[i];
        if word == "--" {
            end = i;
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if let Some(arg) = find_long(command, name) {
                if arg.get_action().takes_values() {
                    let value = if arg.is_require_equals_set() {
                        inline
                    } else {
                        inline.or_else(|| next_word(&mut i, &mut value_word))
                    };
                    if let Some(value) = value {
                        found.push((arg, value));
                    }
                }
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, c) in shorts.char_indices() {
                let Some(arg) = find_short(command, c) else {
                    break;
                };
                if takes_one_value(arg) {
                    let rest = &shorts[at + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        next_word(&mut i, &mut value_word)
                    } else {
                        Some(rest.strip_prefix('=').unwrap_or(rest).to_string())
                    };
                    if let Some(value) = value {
                        found.push((arg, value));
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    Scan {
        values: found,
        value_word,
        end,
    }
}

/// Every (option, value) pair of `argv` (program name first) for options
/// that take a value, in order. Unknown options are passed over.
pub fn option_values<'c>(command: &'c Command, argv: &[String]) -> Vec<(&'c Arg, String)> {
    scan(command, argv).values
}

/// The old spellings C's check_tcp family still maps (`-to 10` is `-t 10`).
const OLD_SPELLINGS: [(&str, &str); 3] = [("-to", "-t"), ("-wt", "-w"), ("-ct", "-c")];

/// `argv` as the C plugins read it: the old `-to`, `-wt` and `-ct`
/// spellings become `-t`, `-w` and `-c`, and empty words that are no
/// option's value are dropped (Debian's stock command definitions pass
/// `'$ARG1$'`, an empty word when ARG1 is not set, which C ignores). An
/// option's value is never touched: `-P -to` keeps its password.
pub fn normalize(command: &Command, argv: Vec<String>) -> Vec<String> {
    let argv = timeout_result_folded(
        command,
        optional_values_attached(command, host_from_position(command, argv)),
    );
    let needed = |argv: &[String]| {
        argv.iter()
            .skip(1)
            .any(|w| w.is_empty() || OLD_SPELLINGS.iter().any(|(old, _)| w == old))
    };
    if !needed(&argv) {
        return argv;
    }
    let roles = scan(command, &argv);
    let mut argv: Vec<String> = argv
        .into_iter()
        .enumerate()
        .map(|(i, word)| {
            let option_word = i > 0 && i < roles.end && !roles.value_word[i];
            match OLD_SPELLINGS.iter().find(|(old, _)| *old == word) {
                Some((_, new)) if option_word => new.to_string(),
                _ => word,
            }
        })
        .collect();
    // Read again: `-to` now takes the next word as its value.
    let roles = scan(command, &argv);
    let mut i = 0;
    argv.retain(|word| {
        let keep = i == 0 || i >= roles.end || roles.value_word[i] || !word.is_empty();
        i += 1;
        keep
    });
    argv
}

/// check_curl's `--timeout-result STATE` is the state part of our `-t
/// SECONDS:STATE`: folded into the last `-t` (or the default seconds), so the
/// runner arms the time-out with it before anything else runs. Only for a
/// plugin that declares the option.
fn timeout_result_folded(command: &Command, mut argv: Vec<String>) -> Vec<String> {
    // The word first: the command is searched only when it is there (every plugin's start-up).
    if !argv.iter().any(|w| w.starts_with("--timeout-result"))
        || find_long(command, "timeout-result").is_none()
    {
        return argv;
    }
    let end = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
    let Some(at) = (1..end)
        .find(|&i| argv[i] == "--timeout-result" || argv[i].starts_with("--timeout-result="))
    else {
        return argv;
    };
    let state = match argv[at].split_once('=') {
        Some((_, v)) => {
            let v = v.to_string();
            argv.remove(at);
            v
        }
        None if at + 1 < argv.len() => {
            let v = argv.remove(at + 1);
            argv.remove(at);
            v
        }
        None => return argv,
    };
    let seconds = option_values(command, &argv)
        .into_iter()
        .filter(|(a, _)| a.get_id() == "timeout")
        .map(|(_, v)| v)
        .next_back()
        .or_else(|| {
            command
                .get_arguments()
                .find(|a| a.get_id() == "timeout")
                .and_then(|a| a.get_default_values().first())
                .map(|v| v.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let seconds = seconds.split(':').next().unwrap_or_default().to_string();
    argv.push(format!("--timeout={seconds}:{state}"));
    argv
}

/// getopt's optional value (`S::`): only in the same word, `-S1.2`. Clap
/// takes such an option's value only after `=` (`require_equals`, so that
/// `--ssl -H host` keeps `-H` an option), so `-S1.2` becomes `--ssl=1.2`.
fn optional_values_attached(command: &Command, mut argv: Vec<String>) -> Vec<String> {
    let end = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
    for word in argv.iter_mut().take(end).skip(1) {
        let Some(rest) = word.strip_prefix('-').filter(|r| !r.starts_with('-')) else {
            continue;
        };
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { continue };
        let value = chars.as_str();
        // Only a word with something after its letter can hold an attached value.
        if value.is_empty() {
            continue;
        }
        let optional = |a: &Arg| {
            a.is_require_equals_set() && a.get_num_args().is_some_and(|n| n.min_values() == 0)
        };
        if let Some(long) = find_short(command, c)
            .filter(|a| optional(a))
            .and_then(Arg::get_long)
        {
            *word = format!("--{long}={}", value.strip_prefix('=').unwrap_or(value));
        }
    }
    argv
}

/// C's check_tcp family takes the host as a word after the options
/// (`check_smtp 127.0.0.1`, `check_pop -p 110 HOST`): for a plugin with
/// `-H/--hostname` and no positional arguments of its own, one such word
/// without `-H` becomes `-H WORD`. Anything else is left for clap to judge.
fn host_from_position(command: &Command, mut argv: Vec<String>) -> Vec<String> {
    let has_host = command.get_arguments().any(|a| a.get_id() == "hostname");
    if !has_host || command.get_positionals().next().is_some() {
        return argv;
    }
    let roles = scan(command, &argv);
    if roles.values.iter().any(|(a, _)| a.get_id() == "hostname") {
        return argv;
    }
    let positional: Vec<usize> = (1..roles.end)
        .filter(|&i| !roles.value_word[i] && !argv[i].is_empty() && !argv[i].starts_with('-'))
        .collect();
    if let [i] = positional[..] {
        argv.insert(i, "-H".to_string());
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last value given for the option with id `id`.
    pub fn last_value(command: &Command, argv: &[String], id: &str) -> Option<String> {
        option_values(command, argv)
            .into_iter()
            .filter(|(arg, _)| arg.get_id() == id)
            .map(|(_, value)| value)
            .next_back()
    }
    use clap::ArgAction;

    fn demo() -> Command {
        Command::new("demo")
            .arg(Arg::new("timeout").short('t').long("timeout"))
            .arg(Arg::new("verbose").short('v').action(ArgAction::Count))
            .arg(Arg::new("hostname").short('H').long("hostname"))
            .arg(Arg::new("host-extra").long("hostextra"))
            .arg(
                Arg::new("password")
                    .short('P')
                    .long("password")
                    .value_parser(clap::value_parser!(Secret)),
            )
            .arg(
                Arg::new("extra")
                    .long("extra-opts")
                    .num_args(0..=1)
                    .require_equals(true),
            )
    }

    fn argv(words: &[&str]) -> Vec<String> {
        std::iter::once("demo")
            .chain(words.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn an_optional_value_attached_to_its_short_option_becomes_long_with_equals() {
        let cmd = demo().arg(
            Arg::new("ssl")
                .short('S')
                .long("ssl")
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value(""),
        );
        assert_eq!(
            normalize(
                &cmd,
                argv(&["-S1.2", "-S", "-S=1.3", "-H", "h", "--", "-S9"])
            ),
            argv(&["--ssl=1.2", "-S", "--ssl=1.3", "-H", "h", "--", "-S9"])
        );
        // `--ssl -H h`: -H stays an option (clap, with require_equals).
        assert_eq!(
            normalize(&cmd, argv(&["--ssl", "-H", "h"])),
            argv(&["--ssl", "-H", "h"])
        );
    }

    #[test]
    fn timeout_result_becomes_the_state_of_t() {
        let cmd = demo()
            .mut_arg("timeout", |a| a.default_value("10"))
            .arg(Arg::new("timeout-result").long("timeout-result"));
        assert_eq!(
            normalize(&cmd, argv(&["--timeout-result", "unknown", "-H", "h"])),
            argv(&["-H", "h", "--timeout=10:unknown"])
        );
        assert_eq!(
            normalize(
                &cmd,
                argv(&["-t", "5:critical", "--timeout-result=warning"])
            ),
            argv(&["-t", "5:critical", "--timeout=5:warning"])
        );
        // Not declared: left alone for clap to judge.
        assert_eq!(
            normalize(&demo(), argv(&["--timeout-result=ok"])),
            argv(&["--timeout-result=ok"])
        );
    }

    #[test]
    fn getopt_forms() {
        let c = demo();
        for words in [
            &["-t", "5"][..],
            &["-t5"],
            &["-vt", "5"],
            &["-vt5"],
            &["--timeout", "5"],
            &["--timeout=5"],
            &["--time", "5"],
            &["--t=5"],
            &["-t", "3", "-t", "5"],
        ] {
            assert_eq!(
                last_value(&c, &argv(words), "timeout").as_deref(),
                Some("5"),
                "{words:?}"
            );
        }
        // A value that looks like an option is the value, as getopt takes it.
        assert_eq!(
            last_value(&c, &argv(&["-P", "--s3cr3t", "-t", "2"]), "password").as_deref(),
            Some("--s3cr3t")
        );
        assert_eq!(
            last_value(&c, &argv(&["-P", "-x", "-t", "2"]), "timeout").as_deref(),
            Some("2")
        );
        // Ambiguous prefix (--host: hostname or hostextra) names nothing.
        assert_eq!(last_value(&c, &argv(&["--host", "x"]), "hostname"), None);
        // Nothing after "--", and require_equals options never take the next word.
        assert_eq!(last_value(&c, &argv(&["--", "-t", "5"]), "timeout"), None);
        assert_eq!(
            last_value(&c, &argv(&["--extra-opts", "-t", "5"]), "timeout").as_deref(),
            Some("5")
        );
    }

    #[test]
    fn old_spellings_and_empty_words_as_c_reads_them() {
        let c = demo();
        let norm = |words: &[&str]| normalize(&c, argv(words))[1..].to_vec();
        assert_eq!(norm(&["-to", "5", "-H", "x"]), ["-t", "5", "-H", "x"]);
        assert_eq!(
            norm(&["-H", "x", "", "-t", "5", ""]),
            ["-H", "x", "-t", "5"]
        );
        // Values are never touched: an empty value stays, `-to` as a password stays.
        assert_eq!(norm(&["-H", "", "-P", "-to"]), ["-H", "", "-P", "-to"]);
        assert_eq!(
            norm(&["--hostname", "", "-t", "3"]),
            ["--hostname", "", "-t", "3"]
        );
        // After `--` nothing is an option.
        assert_eq!(norm(&["--", "-to", ""]), ["--", "-to", ""]);
        let plain = argv(&["-t", "5"]);
        assert_eq!(normalize(&c, plain.clone()), plain);
    }

    #[test]
    fn a_host_after_the_options_as_c_s_check_tcp_family_takes_it() {
        let c = demo();
        let norm = |words: &[&str]| normalize(&c, argv(words))[1..].to_vec();
        assert_eq!(norm(&["127.0.0.1"]), ["-H", "127.0.0.1"]);
        assert_eq!(norm(&["-t", "5", "mail", ""]), ["-t", "5", "-H", "mail"]);
        // -H given, or two words, or a value: left for clap to judge.
        assert_eq!(norm(&["-H", "a", "b"]), ["-H", "a", "b"]);
        assert_eq!(norm(&["a", "b"]), ["a", "b"]);
        assert_eq!(norm(&["-t", "5"]), ["-t", "5"]);
        // A plugin with positionals of its own reads them itself.
        let own = demo().arg(Arg::new("positional").num_args(0..=2));
        assert_eq!(normalize(&own, argv(&["x"]))[1..], ["x"]);
    }

    #[test]
    fn kinds_of_arguments() {
        let c = demo();
        let by_id = |id: &str| c.get_arguments().find(|a| a.get_id() == id).unwrap();
        assert!(is_secret(by_id("password")));
        assert!(!is_secret(by_id("timeout")));
        assert!(takes_one_value(by_id("timeout")));
        assert!(!takes_one_value(by_id("verbose")));
        assert!(!takes_one_value(by_id("extra")));
    }
}
