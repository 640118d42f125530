//! The relay's TLS identity: a self-signed certificate made on first start and kept in
//! the data directory (handsets pin its SHA-256 fingerprint), or a CA-signed certificate
//! and key given by configuration. TLS 1.3 only, ring provider, 0-RTT enabled.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Context, Result, ensure};
use gridsync_core::net::tls::{ALPN, fingerprint};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, pem::PemObject};

/// A certificate chain and its key.
pub struct Identity {
    /// End-entity certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// `sha256:<hex>` of the end-entity certificate, what handsets pin.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.chain[0])
    }
}

/// Loads `cert.der`/`key.der` from `dir`, making a self-signed pair on first start.
/// Returns the identity and whether it was just made.
pub fn self_signed(dir: &Path) -> Result<(Identity, bool)> {
    let (cert_path, key_path) = (dir.join("relay-cert.der"), dir.join("relay-key.der"));
    if cert_path.exists() && key_path.exists() {
        let cert = std::fs::read(&cert_path)
            .with_context(|| format!("reading {}", cert_path.display()))?;
        let key =
            std::fs::read(&key_path).with_context(|| format!("reading {}", key_path.display()))?;
        let identity = Identity {
            chain: vec![CertificateDer::from(cert)],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        };
        return Ok((identity, false));
    }
    let names = vec!["gridsync-relay".to_string(), "localhost".to_string()];
    let made =
        rcgen::generate_simple_self_signed(names).context("making a self-signed certificate")?;
    let cert = made.cert.der().to_vec();
    let key = made.signing_key.serialize_der();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_private(&key_path, &key)?;
    std::fs::write(&cert_path, &cert)
        .with_context(|| format!("writing {}", cert_path.display()))?;
    let identity = Identity {
        chain: vec![CertificateDer::from(cert)],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    };
    Ok((identity, true))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes).context("writing the key")?;
    f.sync_all().context("syncing the key")?;
    Ok(())
}

/// Loads a PEM certificate chain and key (a CA-signed certificate).
pub fn from_pem(cert: &Path, key: &Path) -> Result<Identity> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing certificate {}", cert.display()))?;
    ensure(
        !chain.is_empty(),
        format!("no certificate in {}", cert.display()),
    )?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading key {}", key.display()))?;
    Ok(Identity { chain, key })
}

/// Bulk (unidirectional) streams a handset may have open at once, once the relay has
/// said Welcome. Before that it may open none: the transport advertises 0 and the
/// connection raises it at login ([`open_after_login`]). A handset uses one at a time (a
/// push run; the next opens as it ends); each is read into at most one frame of
/// `MAX_BODY`, so this bounds what one connection can make the relay buffer.
pub const BULK_STREAMS: u32 = 4;

/// Bytes a logged-in connection may have in flight to the relay over all its streams.
pub const RECEIVE_WINDOW_AFTER_LOGIN: u32 = 16 << 20;

/// Bytes a connection may have in flight to the relay, over all its streams, before the
/// relay has said Welcome (QUIC's connection-level flow control window): enough for a
/// handset's first flight (Hello, Pending, a first push chunk) to be under way, small
/// enough that a thousand strangers hold well under 100 MiB. Raised at login.
pub const RECEIVE_WINDOW_BEFORE_LOGIN: u32 = 64 * 1024;

/// Lifts the pre-login transport limits of `conn` (the relay said Welcome): bulk streams
/// up to [`BULK_STREAMS`], and the receive window to [`RECEIVE_WINDOW_AFTER_LOGIN`].
pub fn open_after_login(conn: &quinn::Connection) {
    conn.set_max_concurrent_uni_streams(BULK_STREAMS.into());
    conn.set_receive_window(RECEIVE_WINDOW_AFTER_LOGIN.into());
}

/// A quinn server configuration for the identity. Before login a connection may open
/// only its control stream (one bidirectional stream, no bulk streams) and have at most
/// [`RECEIVE_WINDOW_BEFORE_LOGIN`] bytes in flight; a peer that opens more streams than
/// advertised is closed by QUIC (`STREAM_LIMIT_ERROR`).
///
/// QUIC's stateless-reset and address-validation keys are derived from the identity's
/// private key ([`QuicConfig`]), so relay nodes sharing one identity share them too.
pub fn server_config(identity: Identity, idle_timeout_secs: u64) -> Result<QuicConfig> {
    let (reset_key, token_key) = quic_keys(&identity.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3")?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .context("the certificate and key do not match")?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = u32::MAX;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).context("QUIC TLS")?;
    let mut config = quinn::ServerConfig::new(Arc::new(crypto), Arc::new(token_key));
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(Some(
        std::time::Duration::from_secs(idle_timeout_secs)
            .try_into()
            .context("idle timeout")?,
    ));
    // The relay reads one bidirectional stream per connection, ever: the control stream.
    transport.max_concurrent_bidi_streams(1u32.into());
    transport.max_concurrent_uni_streams(0u32.into());
    transport.receive_window(RECEIVE_WINDOW_BEFORE_LOGIN.into());
    config.transport_config(Arc::new(transport));
    Ok(QuicConfig {
        server: config,
        endpoint: quinn::EndpointConfig::new(Arc::new(reset_key)),
    })
}

/// What the relay's endpoint is made with: the server configuration and the endpoint's
/// (its stateless-reset key).
pub struct QuicConfig {
    /// TLS, transport limits and the address-validation token key.
    pub server: quinn::ServerConfig,
    /// The stateless-reset key.
    pub endpoint: quinn::EndpointConfig,
}

/// The stateless-reset and address-validation keys, derived (HKDF-SHA256) from the TLS
/// private key: a node that shares the identity resets and validates the same way, so a
/// handset moved to it by the load balancer is not lost.
fn quic_keys(key: &PrivateKeyDer<'_>) -> Result<(ring::hmac::Key, ring::hkdf::Prk)> {
    use ring::hkdf;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"gridsync relay QUIC keys v1")
        .extract(key.secret_der());
    let derive = |info: &'static [u8]| -> Result<[u8; 32]> {
        let mut out = [0u8; 32];
        let info = [info];
        prk.expand(&info, hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .map_err(|_| crate::error::RelayError::Setup("deriving the QUIC keys".into()))?;
        Ok(out)
    };
    let reset = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &derive(b"stateless reset")?);
    let token = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &derive(b"address validation")?);
    Ok((reset, token))
}
