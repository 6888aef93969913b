//! The service manager that stops and starts a unit: systemd's systemctl
//! when systemd runs the host, else `service` (init scripts); or the
//! administrator's own commands.

use std::path::Path;

/// Which manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// `systemctl VERB UNIT`.
    Systemd,
    /// `service UNIT VERB` (sysvinit scripts, also OpenRC's `service`).
    Service,
}

/// `--manager`: a manager, or `auto` (detected when needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice(pub Option<Manager>);

impl Choice {
    /// The manager chosen, or the one detected.
    pub fn resolve(self) -> Manager {
        self.0.unwrap_or_else(Manager::detect)
    }
}

impl std::str::FromStr for Choice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Choice(None)),
            "systemd" => Ok(Choice(Some(Manager::Systemd))),
            "service" | "sysv" => Ok(Choice(Some(Manager::Service))),
            _ => Err(format!(
                "'{text}' is not a service manager (auto, systemd, service)"
            )),
        }
    }
}

/// What to ask the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Stop the unit.
    Stop,
    /// Start the unit.
    Start,
    /// Restart the unit.
    Restart,
    /// Exit 0 when it runs.
    Status,
}

impl Verb {
    fn word(self) -> &'static str {
        match self {
            Verb::Stop => "stop",
            Verb::Start => "start",
            Verb::Restart => "restart",
            Verb::Status => "status",
        }
    }
}

/// Where the managers' commands are looked for (a sudoers rule needs the
/// absolute path; an engine's PATH is short).
const SEARCH: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// The absolute path of `program` in the system directories, or the name.
pub fn locate(program: &str) -> String {
    SEARCH
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| program.to_string())
}

impl Manager {
    /// systemd when it runs this host (`/run/systemd/system` exists, as
    /// sd_booted() decides), else `service`.
    pub fn detect() -> Manager {
        Manager::detect_at(Path::new("/run/systemd/system"))
    }

    /// [`Manager::detect`] with another marker directory (tests).
    pub fn detect_at(marker: &Path) -> Manager {
        if marker.is_dir() {
            Manager::Systemd
        } else {
            Manager::Service
        }
    }

    /// The word `--manager` takes for it.
    pub fn word(self) -> &'static str {
        match self {
            Manager::Systemd => "systemd",
            Manager::Service => "service",
        }
    }

    /// The argv that asks this manager to `verb` the `unit`.
    pub fn argv(self, unit: &str, verb: Verb) -> Vec<String> {
        match self {
            Manager::Systemd => {
                let mut argv = vec![locate("systemctl")];
                if verb == Verb::Status {
                    argv.extend(["is-active".to_string(), "--quiet".to_string()]);
                } else {
                    argv.push(verb.word().to_string());
                }
                argv.push(unit.to_string());
                argv
            }
            Manager::Service => vec![locate("service"), unit.to_string(), verb.word().to_string()],
        }
    }

    /// The unit's cgroup, where systemd keeps all of its processes.
    pub fn cgroup(self, unit: &str) -> Option<std::path::PathBuf> {
        if self != Manager::Systemd {
            return None;
        }
        let name = if unit.contains('.') {
            unit.to_string()
        } else {
            format!("{unit}.service")
        };
        [
            "/sys/fs/cgroup/system.slice",
            "/sys/fs/cgroup/systemd/system.slice",
        ]
        .iter()
        .map(|d| Path::new(d).join(&name))
        .find(|p| p.is_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_the_systemd_marker() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manager::detect_at(dir.path()), Manager::Systemd);
        assert_eq!(
            Manager::detect_at(&dir.path().join("none")),
            Manager::Service
        );
    }

    #[test]
    fn argv_per_manager() {
        let sd = Manager::Systemd.argv("vsftpd", Verb::Stop);
        assert!(sd[0].ends_with("systemctl"));
        assert_eq!(&sd[1..], ["stop", "vsftpd"]);
        assert_eq!(
            &Manager::Systemd.argv("vsftpd", Verb::Status)[1..],
            ["is-active", "--quiet", "vsftpd"]
        );
        let sv = Manager::Service.argv("vsftpd", Verb::Start);
        assert!(sv[0].ends_with("service"));
        assert_eq!(&sv[1..], ["vsftpd", "start"]);
        assert_eq!("auto".parse::<Choice>(), Ok(Choice(None)));
        assert_eq!(
            "service".parse::<Choice>(),
            Ok(Choice(Some(Manager::Service)))
        );
        assert!("upstart".parse::<Choice>().is_err());
    }
}
