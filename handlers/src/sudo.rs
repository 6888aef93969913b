//! Privileged steps through sudo: the handler runs as the engine's user and
//! runs each privileged command as `sudo -n -- ARGV`, which a sudoers rule
//! allows for exactly that command line ([`sudoers_line`] writes it).

/// Where Debian's sudo is.
pub const SUDO: &str = "/usr/bin/sudo";

/// `argv` as run: through `sudo -n --` when `with_sudo` (never prompts: a
/// missing rule fails at once instead of hanging the engine).
pub fn wrap(argv: &[String], with_sudo: bool) -> Vec<String> {
    if !with_sudo {
        return argv.to_vec();
    }
    let mut out = vec![SUDO.to_string(), "-n".to_string(), "--".to_string()];
    out.extend(argv.iter().cloned());
    out
}

/// One sudoers word: sudoers treats `\ , : = ( ) ! *` and spaces specially
/// inside a command's arguments; each is escaped.
fn escape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if "\\,:=()!* \t\"#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The sudoers rule that lets `user` run exactly `argv` as root. A command
/// without arguments gets `""`, which sudoers reads as "no arguments at
/// all" (a bare path would allow any).
pub fn sudoers_line(user: &str, argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| escape(w)).collect();
    let args = if words.len() == 1 { " \"\"" } else { "" };
    format!("{user} ALL=(root) NOPASSWD: {}{args}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn wrapped_commands_never_prompt() {
        assert_eq!(
            wrap(&v(&["/usr/sbin/service", "vsftpd", "stop"]), true),
            v(&[
                "/usr/bin/sudo",
                "-n",
                "--",
                "/usr/sbin/service",
                "vsftpd",
                "stop"
            ])
        );
        assert_eq!(wrap(&v(&["/bin/true"]), false), v(&["/bin/true"]));
    }

    #[test]
    fn sudoers_lines_are_exact() {
        assert_eq!(
            sudoers_line("nagios", &v(&["/usr/sbin/service", "vsftpd", "stop"])),
            "nagios ALL=(root) NOPASSWD: /usr/sbin/service vsftpd stop"
        );
        assert_eq!(
            sudoers_line("nagios", &v(&["/usr/sbin/vsftpd", "/etc/a,b=c:d"])),
            "nagios ALL=(root) NOPASSWD: /usr/sbin/vsftpd /etc/a\\,b\\=c\\:d"
        );
        assert_eq!(
            sudoers_line("nagios", &v(&["/usr/sbin/apachectl"])),
            "nagios ALL=(root) NOPASSWD: /usr/sbin/apachectl \"\""
        );
    }
}
