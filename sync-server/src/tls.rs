//! Certificates and TLS: the device CA that issues each tablet's client certificate at
//! enrollment (for a key the tablet made and keeps), the server's own certificate, and the
//! rustls configuration — TLS 1.3 only, ring only, client certificates checked against the
//! device CA but not required at the handshake, because enrollment comes before a certificate.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm,
};
use ring::digest::{SHA256, digest};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use zeroize::Zeroizing;

use crate::ServerError;

fn tls_error(error: impl std::fmt::Display) -> ServerError {
    ServerError::Storage(format!("certificate: {error}"))
}

/// A certificate authority: the device CA, or the CA the tablets pin for the server.
pub struct CertificateAuthority {
    params: CertificateParams,
    key: KeyPair,
    cert_der: CertificateDer<'static>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateAuthority(<key redacted>)")
    }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

impl CertificateAuthority {
    pub fn generate(common_name: &str) -> Result<Self, ServerError> {
        let params = ca_params(common_name);
        let key = KeyPair::generate().map_err(tls_error)?;
        let cert = params.self_signed(&key).map_err(tls_error)?;
        Ok(Self {
            cert_der: cert.der().clone(),
            params,
            key,
        })
    }

    /// Load a CA written by [`CertificateAuthority::generate`]: certificates it signs name the
    /// same subject and carry the key identifier of the same key, so they chain to `cert_der`.
    pub fn load(
        common_name: &str,
        key_pkcs8: &[u8],
        cert_der: Vec<u8>,
    ) -> Result<Self, ServerError> {
        let key = KeyPair::try_from(key_pkcs8).map_err(tls_error)?;
        Ok(Self {
            params: ca_params(common_name),
            key,
            cert_der: CertificateDer::from(cert_der),
        })
    }

    /// The CA certificate (what tablets pin, or what the server trusts for clients).
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    pub fn certificate_pem(&self) -> String {
        let body = base64_lines(&self.cert_der);
        format!("-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
    }

    /// The CA's private key as PKCS#8 (for the key file the service user alone reads).
    pub fn key_pkcs8(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.serialize_der())
    }

    /// A TLS server certificate for `hostnames`, with a fresh key.
    pub fn issue_server(
        &self,
        hostnames: &[String],
    ) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), ServerError> {
        let params = CertificateParams::new(hostnames.to_vec()).map_err(tls_error)?;
        let key = KeyPair::generate().map_err(tls_error)?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(tls_error)?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((cert.der().clone(), private))
    }

    /// A client certificate for a tablet's own ECDSA P-256 public key (the uncompressed point,
    /// 65 bytes): the private key never leaves the tablet.
    pub fn issue_device(
        &self,
        device_id: &str,
        public_key_point: &[u8],
    ) -> Result<CertificateDer<'static>, ServerError> {
        if public_key_point.len() != 65 || public_key_point[0] != 0x04 {
            return Err(ServerError::Mismatch(
                "the TLS public key must be an uncompressed P-256 point",
            ));
        }
        let public_key = P256PublicKey(public_key_point.to_vec());
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, device_id);
        params.distinguished_name = name;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&public_key, &issuer).map_err(tls_error)?;
        Ok(cert.der().clone())
    }
}

/// A tablet's P-256 public key, for rcgen to put in the certificate it signs.
struct P256PublicKey(Vec<u8>);

impl PublicKeyData for P256PublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

fn base64_lines(der: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    encoded
        .as_bytes()
        .chunks(64)
        .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
        .collect()
}

/// The identity a request carries: the SHA-256 of the client certificate it presented.
pub fn certificate_fingerprint(cert: &[u8]) -> String {
    hex::encode(digest(&SHA256, cert))
}

/// TLS 1.3 with ring; client certificates verified against the trusted device CAs (more than
/// one while tablets renew after a rotation), optional at handshake.
pub fn server_config(
    device_cas: &[CertificateDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for device_ca in device_cas {
        roots.add(device_ca.clone()).map_err(tls_error)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(tls_error)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The public side's TLS: its own certificate (from a CA browsers trust), no client
/// certificates, TLS 1.2 as well as 1.3 because applicants' phones are often old.
pub fn public_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A PEM certificate chain and its PEM private key, as a certificate authority or ACME client
/// writes them.
pub fn load_pem_identity(
    chain_file: &std::path::Path,
    key_file: &std::path::Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ServerError> {
    use rustls::pki_types::pem::PemObject;
    let chain = CertificateDer::pem_file_iter(chain_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServerError::Storage(format!("{}: {e}", chain_file.display())))?;
    if chain.is_empty() {
        return Err(ServerError::Storage(format!(
            "{}: no certificate in the file",
            chain_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| ServerError::Storage(format!("{}: {e}", key_file.display())))?;
    Ok((chain, key))
}
