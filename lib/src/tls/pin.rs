//! `--pin SHA256`: trusting exactly one certificate by its fingerprint.

use std::fmt;
use std::str::FromStr;

/// The SHA-256 fingerprint of a DER certificate, as `openssl x509
/// -fingerprint -sha256` prints it (`AB:CD:...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of `der`; `None` only if the SHA-256 of the crypto
    /// provider were missing, which the ring provider never is.
    pub fn of(der: &[u8]) -> Option<Fingerprint> {
        // ring's SHA-256 through rustls' ring provider: no crate of our own.
        let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256.tls13()?;
        let digest = suite.common.hash_provider.hash(der);
        digest.as_ref().try_into().ok().map(Fingerprint)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// 64 hex digits, any case, colons anywhere between them (as openssl
    /// prints them, or none at all).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("'{s}' is not a SHA-256 fingerprint (64 hex digits, colons allowed, e.g. from `openssl x509 -noout -fingerprint -sha256`)")
        };
        let digits: Vec<u8> = s.trim().bytes().filter(|b| *b != b':').collect();
        // Checked here: from_str_radix alone would take a '+' sign.
        if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let abc = Fingerprint::of(b"abc").unwrap();
        assert_eq!(
            abc.to_string(),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn parses_with_or_without_colons_in_any_case() {
        let colons = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";
        let plain = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let expected = Fingerprint::of(b"abc").unwrap();
        assert_eq!(colons.parse(), Ok(expected));
        assert_eq!(plain.parse(), Ok(expected));
        assert_eq!(colons.to_lowercase().parse(), Ok(expected));
        assert_eq!(format!(" {plain} ").parse(), Ok(expected));
    }

    #[test]
    fn refuses_what_is_not_a_fingerprint() {
        for bad in [
            "",
            "ba7816bf",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adff",
            "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "+a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001é",
        ] {
            let err = bad.parse::<Fingerprint>().unwrap_err();
            assert!(err.contains("is not a SHA-256 fingerprint"), "{bad}: {err}");
        }
    }
}
