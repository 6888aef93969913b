//! A throw-away PKI for TLS tests: a test CA and leaves signed by it (valid,
//! expiring soon, expired, for the wrong host), plus a self-signed leaf.

use std::io::Write;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use time::{Duration, OffsetDateTime};

/// A certificate and its key, ready for a rustls server.
#[derive(Clone)]
pub struct Leaf {
    /// Chain: the leaf, then the CA when signed by it.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 key.
    pub key: Vec<u8>,
    /// Offer only TLS 1.2 (to prove the client still speaks it).
    pub tls12_only: bool,
}

impl Leaf {
    /// The same leaf on a server that speaks only TLS 1.2.
    pub fn tls12_only(mut self) -> Leaf {
        self.tls12_only = true;
        self
    }

    /// A rustls server configuration presenting this leaf.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider);
        let builder = if self.tls12_only {
            builder.with_protocol_versions(&[&rustls::version::TLS12])
        } else {
            builder.with_safe_default_protocol_versions()
        };
        let config = builder
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .expect("server certificate");
        Arc::new(config)
    }
}

/// The test CA and what it signed.
pub struct TestPki {
    ca_params: CertificateParams,
    ca_key: KeyPair,
    /// The CA certificate in PEM (for `--ca-file`).
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
}

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}

impl TestPki {
    /// A new CA.
    pub fn new() -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "rsplugins test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).expect("CA cert");
        TestPki {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            ca_params,
            ca_key,
        }
    }

    fn leaf_params(names: &[&str], valid_days: i64) -> CertificateParams {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = OffsetDateTime::now_utc();
        if valid_days >= 0 {
            params.not_before = now - Duration::days(1);
            params.not_after = now + Duration::days(valid_days) + Duration::hours(1);
        } else {
            params.not_before = now - Duration::days(30);
            params.not_after = now + Duration::days(valid_days);
        }
        params
    }

    /// A leaf for `names` (DNS names or IP addresses) valid `days` more days
    /// (negative: expired that many days ago), signed by the CA.
    pub fn leaf(&self, names: &[&str], days: i64) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = Self::leaf_params(names, days)
            .signed_by(&key, &issuer)
            .expect("leaf cert");
        Leaf {
            chain: vec![cert.der().clone(), self.ca_der.clone()],
            key: key.serialize_der(),
            tls12_only: false,
        }
    }

    /// The usual valid leaf: localhost and 127.0.0.1, a year.
    pub fn localhost(&self) -> Leaf {
        self.leaf(&["localhost", "127.0.0.1"], 365)
    }

    /// A self-signed leaf (no CA).
    pub fn self_signed(names: &[&str], days: i64) -> Leaf {
        let key = KeyPair::generate().expect("key");
        let cert = Self::leaf_params(names, days)
            .self_signed(&key)
            .expect("self-signed cert");
        Leaf {
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
            tls12_only: false,
        }
    }

    /// A self-signed certificate as `openssl req -x509` makes it: CA:TRUE
    /// (which webpki refuses as a server's), CN `cn`, subjectAltNames `sans`
    /// (none, as openssl's default, when empty), valid `days` more days.
    pub fn self_signed_ca(cn: &str, sans: &[&str], days: i64) -> SelfSignedCa {
        let key = KeyPair::generate().expect("key");
        let mut params = Self::leaf_params(sans, days);
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.extended_key_usages = Vec::new();
        let cert = params.self_signed(&key).expect("self-signed CA cert");
        SelfSignedCa {
            pem: cert.pem(),
            leaf: Leaf {
                chain: vec![cert.der().clone()],
                key: key.serialize_der(),
                tls12_only: false,
            },
        }
    }

    /// The CA written to a temporary PEM file.
    pub fn ca_file(&self) -> tempfile_path::TempPem {
        tempfile_path::TempPem::new(&self.ca_pem)
    }
}

/// A self-signed CA:TRUE server certificate (see [`TestPki::self_signed_ca`]).
pub struct SelfSignedCa {
    /// The certificate and key for a server.
    pub leaf: Leaf,
    /// The certificate in PEM (for `--ca-file`).
    pub pem: String,
}

impl SelfSignedCa {
    /// The certificate written to a temporary PEM file.
    pub fn file(&self) -> tempfile_path::TempPem {
        tempfile_path::TempPem::new(&self.pem)
    }
}

impl Leaf {
    /// SHA-256 of the server's certificate as `AB:CD:...` (what `openssl
    /// x509 -noout -fingerprint -sha256` prints).
    pub fn fingerprint(&self) -> String {
        let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
            .tls13()
            .expect("a TLS 1.3 suite");
        let digest = suite.common.hash_provider.hash(self.chain[0].as_ref());
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// A PEM file removed on drop.
pub mod tempfile_path {
    use super::*;

    /// A temporary PEM file.
    pub struct TempPem {
        path: std::path::PathBuf,
    }

    impl TempPem {
        /// Writes `pem` to a fresh file.
        pub fn new(pem: &str) -> TempPem {
            static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path =
                std::env::temp_dir().join(format!("rsplugins-ca-{}-{n}.pem", std::process::id()));
            let mut f = std::fs::File::create(&path).expect("create CA file");
            f.write_all(pem.as_bytes()).expect("write CA file");
            TempPem { path }
        }

        /// Its path as a string.
        pub fn path(&self) -> String {
            self.path.display().to_string()
        }
    }

    impl Drop for TempPem {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
