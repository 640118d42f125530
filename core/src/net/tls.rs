//! TLS for the handset: trust the relay by a pinned certificate fingerprint (the relay
//! prints it on first start) or by CA roots, TLS 1.3 only, ring provider, with session
//! resumption and 0-RTT.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};

/// ALPN protocol id of gridsync sync over QUIC.
pub const ALPN: &[u8] = b"gridsync/1";

/// `sha256:<64 hex>` of a certificate's DER bytes.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    format!(
        "sha256:{}",
        hex::encode(ring::digest::digest(&ring::digest::SHA256, cert.as_ref()))
    )
}

/// Normalises a fingerprint the user typed (`sha256:` prefix optional, `:` separators and
/// case ignored).
pub fn parse_fingerprint(s: &str) -> Result<String> {
    let t = s.trim().to_ascii_lowercase();
    let hexpart: String = t
        .strip_prefix("sha256:")
        .unwrap_or(&t)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if hexpart.len() != 64 || !hexpart.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::invalid(
            "fingerprint",
            "expected sha256: followed by 64 hex digits, as the relay printed it",
        ));
    }
    Ok(format!("sha256:{hexpart}"))
}

/// How the handset decides to trust the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Exactly this certificate (`sha256:<hex>`), the self-signed default.
    Pinned(String),
    /// Certificates signed by these CA roots (PEM bytes), for CA-signed relays.
    CaPem(Vec<u8>),
}

#[derive(Debug)]
struct PinnedVerifier {
    fingerprint: String,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if fingerprint(end_entity) == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the relay's certificate is {}, not the pinned {}",
                fingerprint(end_entity),
                self.fingerprint
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not used".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A quinn client configuration trusting the relay as `trust` says.
pub fn client_config(trust: &Trust) -> Result<quinn::ClientConfig> {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Network(format!("TLS setup: {e}")))?;
    let mut tls = match trust {
        Trust::Pinned(fp) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier {
                fingerprint: parse_fingerprint(fp)?,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Trust::CaPem(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert =
                    cert.map_err(|e| Error::invalid("ca", format!("not a PEM certificate: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| Error::invalid("ca", e.to_string()))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = true;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| Error::Network(format!("QUIC TLS setup: {e}")))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    // A link that went silent is noticed within 20 s (keep-alives every 5 s keep a
    // healthy idle link up), so a handset in the mountains reconnects instead of waiting.
    transport.keep_alive_interval(Some(std::time::Duration::from_secs(5)));
    if let Ok(idle) = std::time::Duration::from_secs(20).try_into() {
        transport.max_idle_timeout(Some(idle));
    }
    config.transport_config(Arc::new(transport));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalised() {
        let hexs = "AB".repeat(32);
        assert_eq!(
            parse_fingerprint(&hexs).unwrap(),
            format!("sha256:{}", "ab".repeat(32))
        );
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(
            parse_fingerprint(&format!("SHA256:{colons}")).unwrap(),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert!(parse_fingerprint("sha256:1234").is_err());
    }
}
