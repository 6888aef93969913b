//! Helpers for the engine suite (tests/tests/engines.rs): the engines that
//! `tests/testbed/engines.sh start` runs (Icinga 2 and Nagios 4), our command
//! definitions as those engines read them, the engines' views of a result
//! (Nagios's status.dat), performance data, and running a plugin by hand the
//! way an engine runs it.
//!
//! JSON (Icinga's REST API) is read in the test itself: this crate has no JSON
//! dependency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The env file `engines.sh start` writes when both engines are up.
pub const ENV_FILE: &str = "/etc/rsplugins-engines.env";

/// An Icinga 2 REST API: requests through curl, TLS verified against `ca`,
/// the password on curl's standard input (never in argv).
#[derive(Debug, Clone)]
pub struct IcingaApi {
    /// `https://host:port`.
    pub base: String,
    /// The CA certificate that signed the API's certificate.
    pub ca: String,
    /// The ApiUser.
    pub user: String,
    /// A file holding its password.
    pub password_file: String,
    /// curl's `--resolve HOST:PORT:ADDRESS`, when the certificate's name is
    /// not resolvable.
    pub resolve: Option<String>,
}

impl IcingaApi {
    /// Sends `method path` with an optional JSON `body`: the response body
    /// and curl's error output (the caller parses the JSON).
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> (String, String) {
        use std::io::Write as _;
        let password = std::fs::read_to_string(&self.password_file)
            .unwrap_or_else(|e| panic!("Icinga API password file {}: {e}", self.password_file));
        let url = format!("{}{path}", self.base);
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "30", "--cacert", &self.ca, "-K", "-"]);
        if let Some(resolve) = &self.resolve {
            cmd.args(["--resolve", resolve]);
        }
        cmd.args(["-H", "Accept: application/json", "-X", method, &url]);
        if let Some(b) = body {
            cmd.args(["-d", b]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("curl (the testbed scripts install it)");
        let config = format!("user = \"{}:{}\"\n", self.user, password.trim());
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(config.as_bytes())
            .expect("write curl config");
        let out = child.wait_with_output().expect("curl");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The running engines, as /etc/rsplugins-engines.env describes them.
#[derive(Debug, Clone)]
pub struct Engines {
    vars: BTreeMap<String, String>,
}

/// The engines when they are up (and we are root, as they need). On a laptop
/// without them: `None` after a note. Under CI=true a missing engine is a
/// failure, never a skip.
pub fn engines() -> Option<Engines> {
    let text = std::fs::read_to_string(ENV_FILE).ok();
    let root = nix_is_root();
    let what = if text.is_none() {
        format!("{ENV_FILE} (the engines: run `tests/testbed/engines.sh start` as root)")
    } else {
        "root (the engine suite writes the engines' configuration)".to_string()
    };
    if !crate::available(&what, text.is_some() && root) {
        return None;
    }
    let vars = parse_env(text.as_deref().unwrap_or_default());
    Some(Engines { vars })
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    nix_is_root()
}

fn nix_is_root() -> bool {
    // /proc/self/status "Uid: real effective ..." (no libc call needed)
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// KEY=VALUE lines, `#` comments.
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

impl Engines {
    /// The Icinga 2 engine's REST API.
    pub fn icinga2_api(&self) -> IcingaApi {
        IcingaApi {
            base: self.get("ICINGA2_API"),
            ca: self.get("ICINGA2_CA"),
            user: self.get("ICINGA2_API_USER"),
            password_file: self.get("ICINGA2_API_PASSWORD_FILE"),
            resolve: None,
        }
    }

    /// A value of the env file (`ICINGA2_LOG` for `RSPLUGINS_ENGINES_ICINGA2_LOG`).
    pub fn get(&self, key: &str) -> String {
        let full = format!("RSPLUGINS_ENGINES_{key}");
        self.vars.get(&full).cloned().unwrap_or_else(|| {
            panic!("{ENV_FILE} has no {full}: re-run tests/testbed/engines.sh start")
        })
    }

    /// The directory the engines run our binaries from (`PluginDir`, `$USER1$`).
    pub fn plugin_dir(&self) -> PathBuf {
        PathBuf::from(self.get("PLUGIN_DIR"))
    }

    /// Our Icinga 2 definition files the engine includes, as they are now.
    pub fn icinga2_def_files(&self) -> Vec<PathBuf> {
        self.get("ICINGA2_DEFS")
            .split(':')
            .flat_map(expand)
            .collect()
    }

    /// Our Nagios definition files the engine includes, as they are now.
    pub fn nagios_def_files(&self) -> Vec<PathBuf> {
        self.get("NAGIOS_DEFS")
            .split(':')
            .flat_map(expand)
            .collect()
    }

    /// Validates and reloads `engine` ("icinga2" or "nagios") with `engines.sh
    /// reload`, which returns once the new configuration runs.
    pub fn reload(&self, engine: &str) {
        let script = self.get("SCRIPT");
        let out = Command::new("bash")
            .args([script.as_str(), "reload", engine])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
        assert!(
            out.status.success(),
            "`{script} reload {engine}` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `argv` as the engines run a check: as their user (when we are
    /// root), from `/`, with their environment. Returns the exit code and
    /// stdout, or the reason it could not run.
    pub fn run_as_engine(&self, argv: &[String], limit: Duration) -> HandRun {
        let user = self.get("USER");
        let mut cmd = if nix_is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", &user, "--regid", &user, "--clear-groups", "--"]);
            c.args(argv);
            c
        } else {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        };
        cmd.env_clear()
            .env("PATH", self.get("PATH"))
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = std::time::Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("cannot wait for {argv:?}: {e}"));
        let elapsed = start.elapsed();
        assert!(elapsed < limit, "{argv:?} by hand took {elapsed:?}");
        HandRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }
}

/// A plugin run by hand.
#[derive(Debug, Clone)]
pub struct HandRun {
    /// Exit code (None: killed by a signal).
    pub code: Option<i32>,
    /// Standard output as the engine would read it.
    pub stdout: String,
    /// Standard error (engines mostly drop it; kept for messages).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// The files a definitions path names: the file itself, the `*.cfg`/`*.conf`
/// files of a directory, or those matching a `DIR/PREFIX*SUFFIX` pattern
/// (the same rule as engines.sh's `expand`). Sorted.
pub fn expand(path: &str) -> Vec<PathBuf> {
    let p = Path::new(path);
    let mut out = Vec::new();
    let list = |dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if keep(&name) && e.path().is_file() {
                    out.push(e.path());
                }
            }
        }
    };
    if p.is_dir() {
        list(
            p,
            &|n: &str| n.ends_with(".cfg") || n.ends_with(".conf"),
            &mut out,
        );
    } else if let (Some(dir), Some(name)) = (p.parent(), p.file_name()) {
        let name = name.to_string_lossy().into_owned();
        if let Some((pre, suf)) = name.split_once('*') {
            let (pre, suf) = (pre.to_string(), suf.to_string());
            list(
                dir,
                &|n: &str| {
                    n.len() >= pre.len() + suf.len() && n.starts_with(&pre) && n.ends_with(&suf)
                },
                &mut out,
            );
        } else if p.is_file() {
            out.push(p.to_path_buf());
        }
    }
    out.sort();
    out
}

// -------------------------------------------------------------------------------------------
// Icinga 2 definitions
// -------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

/// Tokens of the Icinga 2 DSL, enough to read object definitions: comments
/// dropped, strings unescaped, `{{{...}}}` strings kept as strings, every
/// other character a word or punctuation. `+=` is one token.
fn tokenize(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() || ch == ';' || ch == ',' {
            i += 1;
        } else if ch == '#' || (ch == '/' && c.get(i + 1) == Some(&'/')) {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if ch == '{' && c.get(i + 1) == Some(&'{') && c.get(i + 2) == Some(&'{') {
            let start = i + 3;
            i = start;
            while i + 2 < c.len() && !(c[i] == '}' && c[i + 1] == '}' && c[i + 2] == '}') {
                i += 1;
            }
            out.push(Tok::Str(c[start..i.min(c.len())].iter().collect()));
            i += 3;
        } else if ch == '"' {
            let mut s = String::new();
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' && i + 1 < c.len() {
                    i += 1;
                    s.push(match c[i] {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                } else {
                    s.push(c[i]);
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if ch == '+' && c.get(i + 1) == Some(&'=') {
            out.push(Tok::Word("+=".into()));
            i += 2;
        } else if ch.is_alphanumeric() || ch == '_' || ch == '.' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

/// Index just after the brace block opening at `open` (`toks[open]` is `{`).
fn block_end(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('{') | Tok::Punct('[') | Tok::Punct('(') => depth += 1,
            Tok::Punct('}') | Tok::Punct(']') | Tok::Punct(')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// One entry of a CheckCommand's `arguments`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Argument {
    /// The option as passed (`key = "..."` when given, else the entry's name).
    pub key: String,
    /// `value = "..."` when it is a plain string (e.g. `$tcp_port$`).
    pub value: Option<String>,
    /// `set_if = "..."`.
    pub set_if: Option<String>,
    /// `required = true`.
    pub required: bool,
}

impl Argument {
    /// The custom variable the argument's value is, if it is exactly one
    /// (`"$tcp_port$"` -> `tcp_port`).
    pub fn var(&self) -> Option<&str> {
        let v = self.value.as_deref()?;
        let inner = v.strip_prefix('$')?.strip_suffix('$')?;
        (!inner.is_empty() && !inner.contains('$')).then_some(inner)
    }
}

/// A CheckCommand (object or template) as written in one file, imports not
/// yet resolved.
#[derive(Debug, Clone, Default)]
pub struct CheckCommandDef {
    /// Its name.
    pub name: String,
    /// `template CheckCommand` rather than `object CheckCommand`.
    pub template: bool,
    /// The file it is in.
    pub file: PathBuf,
    /// `import "..."`, in order.
    pub imports: Vec<String>,
    /// The last path component of the command's strings (`check_load_rs`).
    pub binary: Option<String>,
    /// `arguments = {...}` replaces, `arguments += {...}` adds: (replace, entries).
    pub arguments: Vec<(bool, BTreeMap<String, Argument>)>,
    /// `vars.NAME = "..."` (strings; other values as their first token).
    pub vars: BTreeMap<String, String>,
}

/// Every `object|template CheckCommand "name" { ... }` of an Icinga 2 file.
pub fn icinga2_check_commands(text: &str, file: &Path) -> Vec<CheckCommandDef> {
    let toks = tokenize(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let is_def = matches!(&toks[i], Tok::Word(w) if w == "object" || w == "template");
        if is_def {
            if let (Some(Tok::Word(ty)), Some(Tok::Str(name))) = (toks.get(i + 1), toks.get(i + 2))
            {
                // `object CheckCommand "x" ignore_on_error {` or plain `{`
                let mut open = i + 3;
                while open < toks.len() && toks[open] != Tok::Punct('{') {
                    open += 1;
                }
                let end = block_end(&toks, open);
                if ty == "CheckCommand" {
                    let mut def = parse_command_body(&toks[open + 1..end.saturating_sub(1)]);
                    def.name = name.clone();
                    def.template = matches!(&toks[i], Tok::Word(w) if w == "template");
                    def.file = file.to_path_buf();
                    out.push(def);
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn parse_command_body(toks: &[Tok]) -> CheckCommandDef {
    let mut def = CheckCommandDef::default();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) if w == "import" => {
                if let Some(Tok::Str(s)) = toks.get(i + 1) {
                    def.imports.push(s.clone());
                }
                i += 2;
            }
            Tok::Word(w) if w == "command" => {
                // command = [ PluginDir + "/check_x_rs", ... ] or command = PluginDir + "/x"
                let mut k = i + 1;
                let stop = if toks.get(k + 1) == Some(&Tok::Punct('[')) {
                    block_end(toks, k + 1)
                } else {
                    (k + 4).min(toks.len())
                };
                while k < stop {
                    if let Tok::Str(s) = &toks[k] {
                        if s.starts_with('/') && def.binary.is_none() {
                            def.binary = s.rsplit('/').next().map(str::to_string);
                        }
                    }
                    k += 1;
                }
                i = stop.max(i + 1);
            }
            Tok::Word(w) if w == "arguments" => {
                let replace = toks.get(i + 1) == Some(&Tok::Punct('='));
                let open = i + 2;
                if toks.get(open) == Some(&Tok::Punct('{')) {
                    let end = block_end(toks, open);
                    def.arguments
                        .push((replace, parse_arguments(&toks[open + 1..end - 1])));
                    i = end;
                } else {
                    i += 1;
                }
            }
            Tok::Word(w) if w.starts_with("vars.") && toks.get(i + 1) == Some(&Tok::Punct('=')) => {
                let value = match toks.get(i + 2) {
                    Some(Tok::Str(s)) => s.clone(),
                    Some(Tok::Word(s)) => s.clone(),
                    Some(Tok::Punct(p)) => p.to_string(),
                    None => String::new(),
                };
                def.vars.insert(w["vars.".len()..].to_string(), value);
                i += 3;
            }
            Tok::Punct('{') | Tok::Punct('[') | Tok::Punct('(') => i = block_end(toks, i),
            _ => i += 1,
        }
    }
    def
}

fn parse_arguments(toks: &[Tok]) -> BTreeMap<String, Argument> {
    let mut args = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        if let (Some(Tok::Str(name)), Some(Tok::Punct('='))) = (toks.get(i), toks.get(i + 1)) {
            let mut arg = Argument {
                key: name.clone(),
                ..Default::default()
            };
            match toks.get(i + 2) {
                Some(Tok::Str(v)) => {
                    arg.value = Some(v.clone());
                    i += 3;
                }
                Some(Tok::Punct('{')) => {
                    let end = block_end(toks, i + 2);
                    let body = &toks[i + 3..end - 1];
                    let mut k = 0;
                    while k < body.len() {
                        match (&body[k], body.get(k + 1), body.get(k + 2)) {
                            (Tok::Word(w), Some(Tok::Punct('=')), Some(v)) => {
                                match (w.as_str(), v) {
                                    ("value", Tok::Str(s)) => arg.value = Some(s.clone()),
                                    ("set_if", Tok::Str(s)) => arg.set_if = Some(s.clone()),
                                    ("key", Tok::Str(s)) => arg.key = s.clone(),
                                    ("required", Tok::Word(b)) => arg.required = b == "true",
                                    _ => {}
                                }
                                k += 3;
                            }
                            (Tok::Punct('{'), _, _) => k = block_end(body, k),
                            _ => k += 1,
                        }
                    }
                    i = end;
                }
                _ => i += 2,
            }
            args.insert(name.clone(), arg);
        } else {
            i += 1;
        }
    }
    args
}

/// A CheckCommand with its imports resolved (arguments and vars inherited).
#[derive(Debug, Clone)]
pub struct CheckCommand {
    /// Its name.
    pub name: String,
    /// The file it is defined in.
    pub file: PathBuf,
    /// The binary it runs (last path component), inherited when not its own.
    pub binary: Option<String>,
    /// Every argument, keyed by its entry name.
    pub arguments: BTreeMap<String, Argument>,
    /// Every custom variable default (inherited ones included).
    pub vars: BTreeMap<String, String>,
    /// The whole import chain (names), nearest first.
    pub ancestors: Vec<String>,
}

impl CheckCommand {
    /// The argument passed as `option` (`-p`), if any.
    pub fn option(&self, option: &str) -> Option<&Argument> {
        self.arguments.values().find(|a| a.key == option)
    }
    /// Whether it talks to a host: imports ipv4-or-ipv6 or has `-H`.
    pub fn is_network(&self) -> bool {
        self.ancestors.iter().any(|a| a == "ipv4-or-ipv6") || self.option("-H").is_some()
    }
}

/// Resolves the imports of every non-template command of `ours` against
/// `ours` and `library` (the ITL). A missing import panics: the engine would
/// refuse the configuration too.
pub fn resolve_commands(
    ours: &[CheckCommandDef],
    library: &[CheckCommandDef],
) -> Vec<CheckCommand> {
    let find = |name: &str| -> Option<&CheckCommandDef> {
        ours.iter()
            .rev()
            .find(|d| d.name == name)
            .or_else(|| library.iter().rev().find(|d| d.name == name))
    };
    fn apply<'a>(
        def: &'a CheckCommandDef,
        find: &dyn Fn(&str) -> Option<&'a CheckCommandDef>,
        out: &mut CheckCommand,
        depth: usize,
    ) {
        assert!(depth < 32, "import loop at CheckCommand {}", def.name);
        for imp in &def.imports {
            let parent = find(imp)
                .unwrap_or_else(|| panic!("CheckCommand {} imports unknown {imp}", def.name));
            out.ancestors.push(imp.clone());
            apply(parent, find, out, depth + 1);
        }
        if def.binary.is_some() {
            out.binary = def.binary.clone();
        }
        for (replace, args) in &def.arguments {
            if *replace {
                out.arguments.clear();
            }
            out.arguments
                .extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out.vars
            .extend(def.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    ours.iter()
        .filter(|d| !d.template)
        .map(|d| {
            let mut c = CheckCommand {
                name: d.name.clone(),
                file: d.file.clone(),
                binary: None,
                arguments: BTreeMap::new(),
                vars: BTreeMap::new(),
                ancestors: Vec::new(),
            };
            apply(d, &find, &mut c, 0);
            c
        })
        .collect()
}

/// The Icinga Template Library's command definitions as installed.
pub fn itl_commands() -> Vec<CheckCommandDef> {
    let mut defs = Vec::new();
    for f in expand("/usr/share/icinga2/include/command-*.conf") {
        if let Ok(text) = std::fs::read_to_string(&f) {
            defs.extend(icinga2_check_commands(&text, &f));
        }
    }
    defs
}

/// A value for an Icinga 2 custom variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// A string.
    Str(String),
    /// A boolean (`set_if` arguments).
    Bool(bool),
    /// An array of strings (repeated arguments).
    List(Vec<String>),
}

impl Var {
    /// Icinga 2 DSL text (`$` doubled so the value is never taken for a macro).
    pub fn to_icinga(&self) -> String {
        fn q(s: &str) -> String {
            let mut o = String::from("\"");
            for ch in s.chars() {
                match ch {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    '$' => o.push_str("$$"),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        match self {
            Var::Str(s) => q(s),
            Var::Bool(b) => b.to_string(),
            Var::List(l) => format!(
                "[ {} ]",
                l.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

// -------------------------------------------------------------------------------------------
// Nagios definitions and status.dat
// -------------------------------------------------------------------------------------------

/// Every `define command { command_name ...; command_line ... }` of a Nagios
/// object file: (name, command line).
pub fn nagios_commands(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    let (mut name, mut line) = (None::<String>, None::<String>);
    for raw in text.lines() {
        let l = raw.trim();
        if l.starts_with('#') || l.starts_with(';') || l.is_empty() {
            continue;
        }
        if !inside {
            let compact: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.starts_with("definecommand{") {
                inside = true;
                name = None;
                line = None;
            }
            continue;
        }
        if l.starts_with('}') {
            if let (Some(n), Some(c)) = (name.take(), line.take()) {
                out.push((n, c));
            }
            inside = false;
            continue;
        }
        let (k, v) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        match k {
            "command_name" => name = Some(v.trim().to_string()),
            "command_line" => line = Some(v.trim().to_string()),
            _ => {}
        }
    }
    out
}

/// Expands the macros Nagios fills in a command line for our services:
/// `$USER1$`, `$HOSTADDRESS$`, `$HOSTNAME$` and `$ARGn$` (missing ARGs empty).
/// Any other macro panics, so a new one is noticed rather than guessed.
pub fn nagios_expand(line: &str, user1: &str, address: &str, host: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('$')
            .unwrap_or_else(|| panic!("unterminated macro in {line:?}"));
        let name = &after[..end];
        let value = match name {
            "" => "$".to_string(),
            "USER1" => user1.to_string(),
            "HOSTADDRESS" => address.to_string(),
            "HOSTNAME" => host.to_string(),
            n if n.starts_with("ARG") => {
                let k: usize = n[3..]
                    .parse()
                    .unwrap_or_else(|_| panic!("macro {n} in {line:?}"));
                args.get(k - 1).copied().unwrap_or("").to_string()
            }
            other => panic!("macro ${other}$ in {line:?} is not expanded by the suite"),
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The blocks of a Nagios status.dat of one type (`servicestatus`), each as
/// its `key=value` lines.
pub fn status_blocks(text: &str, kind: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut cur: Option<BTreeMap<String, String>> = None;
    for line in text.lines() {
        let t = line.trim();
        if t == format!("{kind} {{") {
            cur = Some(BTreeMap::new());
        } else if t == "}" {
            if let Some(b) = cur.take() {
                out.push(b);
            }
        } else if let Some(b) = cur.as_mut() {
            if let Some((k, v)) = line.trim_start().split_once('=') {
                b.insert(k.to_string(), v.to_string());
            }
        }
    }
    out
}

// -------------------------------------------------------------------------------------------
// Plugin output and performance data
// -------------------------------------------------------------------------------------------

/// A plugin's output split as the engines split it: the first line's text,
/// the long output, and all performance data (first line's and the lines'
/// after the first `|` of the long output).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Output {
    /// First line without its performance data, trailing blanks trimmed.
    pub summary: String,
    /// The other lines before any `|`.
    pub long: String,
    /// All performance data, one space between items.
    pub perfdata: String,
}

/// Splits plugin output as Nagios and Icinga do.
pub fn split_output(stdout: &str) -> Output {
    let mut lines = stdout.lines();
    let first = lines.next().unwrap_or("");
    let (summary, mut perf) = match first.split_once('|') {
        Some((s, p)) => (s.trim_end().to_string(), vec![p.trim().to_string()]),
        None => (first.trim_end().to_string(), vec![]),
    };
    let mut long = Vec::new();
    let mut in_perf = false;
    for l in lines {
        if in_perf {
            perf.push(l.trim().to_string());
        } else if let Some((text, p)) = l.split_once('|') {
            long.push(text.to_string());
            perf.push(p.trim().to_string());
            in_perf = true;
        } else {
            long.push(l.to_string());
        }
    }
    Output {
        summary,
        long: long.join("\n").trim_end().to_string(),
        perfdata: perf
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// One performance data item.
#[derive(Debug, Clone, PartialEq)]
pub struct Perf {
    /// Label, unquoted.
    pub label: String,
    /// Value as printed.
    pub value: String,
    /// Unit of measurement.
    pub uom: String,
    /// Warning, critical, min, max as printed ("" when empty).
    pub warn: String,
    /// Critical threshold.
    pub crit: String,
    /// Minimum.
    pub min: String,
    /// Maximum.
    pub max: String,
}

impl Perf {
    /// Everything but the value (which changes from run to run).
    pub fn shape(&self) -> String {
        format!(
            "'{}'={}{};{};{};{};{}",
            self.label, "V", self.uom, self.warn, self.crit, self.min, self.max
        )
    }
}

/// Parses performance data strictly, to the plugin guidelines and README's
/// conventions: `'label'=value[UOM];warn;crit;min;max`, numbers never in
/// scientific notation, no trailing empty `;` fields, warn/crit plain numbers
/// or ranges, min/max plain numbers.
pub fn parse_perfdata(text: &str) -> Result<Vec<Perf>, String> {
    let mut out = Vec::new();
    let c: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < c.len() {
        if c[i] == ' ' {
            i += 1;
            continue;
        }
        let mut label = String::new();
        if c[i] == '\'' {
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err(format!("unterminated quoted label in {text:?}")),
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
                        label.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        label.push(ch);
                        i += 1;
                    }
                }
            }
            if c.get(i) != Some(&'=') {
                return Err(format!("no '=' after label {label:?} in {text:?}"));
            }
        } else {
            while i < c.len() && c[i] != '=' && c[i] != ' ' {
                label.push(c[i]);
                i += 1;
            }
            if c.get(i) != Some(&'=') {
                return Err(format!("no '=' after label {label:?} in {text:?}"));
            }
        }
        i += 1;
        let start = i;
        while i < c.len() && c[i] != ' ' {
            i += 1;
        }
        let item: String = c[start..i].iter().collect();
        if label.is_empty() {
            return Err(format!("empty label in {text:?}"));
        }
        if item.ends_with(';') {
            return Err(format!("trailing ';' in {label}={item}"));
        }
        let fields: Vec<&str> = item.split(';').collect();
        if fields.len() > 5 {
            return Err(format!("more than 5 fields in {label}={item}"));
        }
        let v = fields[0];
        let num_end = v
            .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == '-'))
            .unwrap_or(v.len());
        let (value, uom) = v.split_at(num_end);
        if !is_number(value) && v != "U" {
            return Err(format!("value {v:?} of {label} is not a plain number"));
        }
        if !uom.chars().all(|ch| ch.is_ascii_alphabetic() || ch == '%') {
            return Err(format!("unit {uom:?} of {label}"));
        }
        let get = |k: usize| fields.get(k).copied().unwrap_or("").to_string();
        for (k, what) in [(1, "warning"), (2, "critical")] {
            let t = get(k);
            if !t.is_empty() && !is_range(&t) {
                return Err(format!("{what} {t:?} of {label} is not a number or range"));
            }
        }
        for (k, what) in [(3, "min"), (4, "max")] {
            let t = get(k);
            if !t.is_empty() && !is_number(&t) {
                return Err(format!("{what} {t:?} of {label} is not a plain number"));
            }
        }
        out.push(Perf {
            label,
            value: value.to_string(),
            uom: uom.to_string(),
            warn: get(1),
            crit: get(2),
            min: get(3),
            max: get(4),
        });
    }
    Ok(out)
}

/// A decimal number: optional `-`, digits, optional `.digits`; no exponent.
pub fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && !frac.is_empty()
        && frac.chars().all(|c| c.is_ascii_digit())
}

/// A threshold range: `[@][start:][end]` with `~` for minus infinity.
pub fn is_range(s: &str) -> bool {
    let s = s.strip_prefix('@').unwrap_or(s);
    match s.split_once(':') {
        None => is_number(s),
        Some((a, b)) => {
            (a.is_empty() || a == "~" || is_number(a))
                && (b.is_empty() || is_number(b))
                && !(a.is_empty() && b.is_empty())
        }
    }
}

/// `text` with every run of digits (and the dots between them) replaced by
/// `#`, for comparing two runs' outputs whose numbers differ (times, load).
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() || (in_num && ch == '.') {
            if !in_num {
                out.push('#');
                in_num = true;
            }
        } else {
            in_num = false;
            out.push(ch);
        }
    }
    out
}

/// The state name of an exit code.
pub fn state_name(code: i64) -> &'static str {
    match code {
        0 => "OK",
        1 => "WARNING",
        2 => "CRITICAL",
        3 => "UNKNOWN",
        _ => "INVALID",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_check_commands_with_imports_and_keys() {
        let itl = icinga2_check_commands(
            r#"template CheckCommand "ipv4-or-ipv6" { vars.check_address = {{ return 1 }} }
            object CheckCommand "tcp" {
              import "ipv4-or-ipv6"
              command = [ PluginDir + "/check_tcp" ]
              arguments = {
                "-H" = { value = "$tcp_address$" /* { */ }
                "-p" = { value = "$tcp_port$"; required = true }
                "-E_send" = { key = "-E"; set_if = "$tcp_escape_send$" }
                "-w" = {{ return "x" }}
              }
              vars.tcp_address = "$check_address$"
            }"#,
            Path::new("itl"),
        );
        let ours = icinga2_check_commands(
            "# c\nobject CheckCommand \"tcp-rs\" { import \"tcp\"\n command = [ PluginDir + \"/check_tcp_rs\" ]\n arguments += { \"--sni\" = \"$tcp_sni$\" } }",
            Path::new("ours"),
        );
        let all = resolve_commands(&ours, &itl);
        assert_eq!(all.len(), 1);
        let c = &all[0];
        assert_eq!(c.name, "tcp-rs");
        assert_eq!(c.binary.as_deref(), Some("check_tcp_rs"));
        assert!(c.is_network());
        assert_eq!(c.option("-p").and_then(Argument::var), Some("tcp_port"));
        assert!(c.option("-p").is_some_and(|a| a.required));
        assert_eq!(
            c.option("-E").and_then(|a| a.set_if.as_deref()),
            Some("$tcp_escape_send$")
        );
        assert_eq!(c.option("--sni").and_then(Argument::var), Some("tcp_sni"));
        assert_eq!(c.option("-w").and_then(Argument::var), None);
        assert_eq!(
            c.vars.get("tcp_address").map(String::as_str),
            Some("$check_address$")
        );
    }

    #[test]
    fn reads_nagios_commands_and_expands_macros() {
        let cmds = nagios_commands(
            "# x\ndefine command{\n\tcommand_name\tcheck_tcp\n\tcommand_line\t/p/check_tcp -H '$HOSTADDRESS$' -p '$ARG1$' '$ARG2$'\n\t}\n",
        );
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].0, "check_tcp");
        assert_eq!(
            nagios_expand(&cmds[0].1, "/u", "127.0.0.1", "h", &["25"]),
            "/p/check_tcp -H '127.0.0.1' -p '25' ''"
        );
        assert_eq!(nagios_expand("$USER1$/x $$", "/u", "a", "h", &[]), "/u/x $");
    }

    #[test]
    fn parses_perfdata_strictly() {
        let p = parse_perfdata("'load 1'=0.36;5;10;0 time=0.004s;;;0 x=3;1:;@2:4;0;10").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].label, "load 1");
        assert_eq!(p[1].uom, "s");
        assert_eq!(p[2].shape(), "'x'=V;1:;@2:4;0;10");
        assert!(parse_perfdata("x=1e5").is_err());
        assert!(parse_perfdata("x=1;2;").is_err());
        assert!(parse_perfdata("x=1,5").is_err());
        assert!(parse_perfdata("x").is_err());
        assert!(parse_perfdata("x=1;;;;;").is_err());
    }

    #[test]
    fn splits_output_as_the_engines_do() {
        let o = split_output("OK - a | x=1\nline 2\nline 3 | y=2\nz=3\n");
        assert_eq!(o.summary, "OK - a");
        assert_eq!(o.long, "line 2\nline 3");
        assert_eq!(o.perfdata, "x=1 y=2 z=3");
        assert_eq!(mask_numbers("0.004 s, load 1.5"), "# s, load #");
    }

    #[test]
    fn reads_status_blocks() {
        let b = status_blocks(
            "info {\n\tcreated=1\n\t}\nservicestatus {\n\tservice_description=a\n\tperformance_data=x=1\n\t}\n",
            "servicestatus",
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0]["performance_data"], "x=1");
    }
}
