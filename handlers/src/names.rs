//! Names that reach a service manager, a state file or a log: checked
//! against a strict character set before anything runs.

/// A service manager unit or init script name: letters, digits and
/// `_ . @ : -`, not starting with `-` or `.`, at most 128 characters
/// (`vsftpd`, `postfix@-`, `php8.2-fpm`).
pub fn unit(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 128
        && !text.starts_with(['-', '.'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.@:-".contains(c));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a valid unit name (letters, digits and _ . @ : - only)"
        ))
    }
}

/// An engine's service name as shown in logs: like [`unit`], plus spaces
/// and `/` (Nagios service descriptions such as `HTTP Server`).
pub fn service(text: &str) -> Result<String, String> {
    let ok = !text.trim().is_empty()
        && text.len() <= 128
        && !text.starts_with(['-', '.'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.@:-/ ".contains(c));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a valid service name (letters, digits, spaces and _ . @ : / - only)"
        ))
    }
}

/// The state-file key for a service name (spaces and `/` become `_`).
pub fn key(text: &str) -> String {
    text.chars()
        .map(|c| if c == ' ' || c == '/' { '_' } else { c })
        .collect()
}

/// An absolute path (commands run from an engine have no useful cwd).
pub fn absolute(text: &str) -> Result<std::path::PathBuf, String> {
    if text.starts_with('/') && !text.contains('\0') {
        Ok(std::path::PathBuf::from(text))
    } else {
        Err(format!("'{text}' is not an absolute path"))
    }
}

/// A command given as one option value, split into words (no shell).
pub fn command(text: &str) -> Result<Vec<String>, String> {
    match rsplugins::exec::words(text) {
        Some(words) if !words.is_empty() => Ok(words),
        Some(_) => Err("an empty command".to_string()),
        None => Err(format!("unbalanced quotes in command '{text}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_strict() {
        for good in ["vsftpd", "postfix@-", "php8.2-fpm", "getty@tty1.service"] {
            assert_eq!(unit(good).as_deref(), Ok(good));
        }
        for bad in [
            "", "-x", ".hidden", "a b", "x;reboot", "$(id)", "a/b", "x\n", "ü", "`id`",
        ] {
            assert!(unit(bad).is_err(), "{bad:?}");
        }
        assert!(unit(&"a".repeat(129)).is_err());
    }

    #[test]
    fn services_allow_spaces_but_nothing_a_shell_reads() {
        assert!(service("HTTP Server").is_ok());
        assert!(service("mail/smtp").is_ok());
        for bad in ["", " ", "a;b", "a|b", "a$b", "a'b", "-r"] {
            assert!(service(bad).is_err(), "{bad:?}");
        }
        assert_eq!(key("HTTP Server/x"), "HTTP_Server_x");
    }

    #[test]
    fn commands_are_words() {
        assert_eq!(
            command("/usr/sbin/service vsftpd start").unwrap(),
            ["/usr/sbin/service", "vsftpd", "start"]
        );
        assert!(command("").is_err());
        assert!(command("'x").is_err());
        assert!(absolute("run/x.pid").is_err());
    }
}
