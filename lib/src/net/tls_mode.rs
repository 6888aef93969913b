//! How a protocol check starts TLS, decided once from `-S`, `--starttls`,
//! `-D` and the port, so every plugin treats `-D` as C does: asking for the
//! certificate's days implies TLS.

/// How the connection uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS.
    Plain,
    /// TLS from the first byte (SMTPS, POP3S, IMAPS, FTPS, `check_tcp -S`).
    Implicit,
    /// The protocol's upgrade command (STARTTLS, STLS, AUTH TLS).
    StartTls,
}

/// What the options ask for, for [`TlsMode::choose`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsRequest {
    /// `-S`/`--ssl`: implicit TLS.
    pub implicit: bool,
    /// `--starttls` (or the protocol's name for it).
    pub starttls: bool,
    /// `-D` was given.
    pub certificate: bool,
    /// `-p`, when given.
    pub port: Option<u16>,
}

impl TlsRequest {
    /// `-S`, `--starttls`, whether `-D` was given, and `-p`.
    pub fn new(implicit: bool, starttls: bool, certificate: bool, port: Option<u16>) -> Self {
        TlsRequest {
            implicit,
            starttls,
            certificate,
            port,
        }
    }
}

impl TlsMode {
    /// The mode for `request` on a protocol whose implicit-TLS port is
    /// `implicit_port` and which can upgrade (`has_starttls`): `-D` alone
    /// means implicit TLS on the implicit port (or when the protocol cannot
    /// upgrade, as check_tcp), else the upgrade command.
    pub fn choose(request: TlsRequest, implicit_port: Option<u16>, has_starttls: bool) -> TlsMode {
        if request.implicit {
            TlsMode::Implicit
        } else if request.starttls {
            TlsMode::StartTls
        } else if request.certificate {
            if !has_starttls || (request.port.is_some() && request.port == implicit_port) {
                TlsMode::Implicit
            } else {
                TlsMode::StartTls
            }
        } else {
            TlsMode::Plain
        }
    }

    /// Whether the connection will be encrypted.
    pub fn is_tls(self) -> bool {
        self != TlsMode::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(implicit: bool, starttls: bool, certificate: bool, port: Option<u16>) -> TlsRequest {
        TlsRequest {
            implicit,
            starttls,
            certificate,
            port,
        }
    }

    #[test]
    fn certificate_days_imply_tls() {
        let imaps = Some(993);
        assert_eq!(
            TlsMode::choose(req(false, false, false, None), imaps, true),
            TlsMode::Plain
        );
        assert_eq!(
            TlsMode::choose(req(true, false, false, None), imaps, true),
            TlsMode::Implicit
        );
        assert_eq!(
            TlsMode::choose(req(false, true, false, None), imaps, true),
            TlsMode::StartTls
        );
        assert_eq!(
            TlsMode::choose(req(false, false, true, Some(993)), imaps, true),
            TlsMode::Implicit
        );
        assert_eq!(
            TlsMode::choose(req(false, false, true, Some(143)), imaps, true),
            TlsMode::StartTls
        );
        assert_eq!(
            TlsMode::choose(req(false, false, true, None), imaps, true),
            TlsMode::StartTls
        );
        // check_tcp has no upgrade: -D means TLS from the start, as C.
        assert_eq!(
            TlsMode::choose(req(false, false, true, Some(2465)), None, false),
            TlsMode::Implicit
        );
        assert!(!TlsMode::Plain.is_tls());
    }
}
