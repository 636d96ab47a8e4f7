//! TLS on the gateway's own listeners (`server.tls`, `server.admin_tls`): a certificate
//! chain and its key from PEM files, served through pingora's rustls — TLS 1.2 and 1.3,
//! h2 and HTTP/1.1 by ALPN.
//!
//! The files are reread whenever they change (an ACME client renewing the certificate, an
//! operator rotating it): each handshake asks [`ListenerCertificate`] for the certificate
//! in use, so new connections get the new one while open connections keep theirs, and
//! nothing restarts. A change that does not load (a key half-written, a key that does not
//! match the certificate) leaves the previous certificate in use, logged and counted in
//! `scimitar_tls_certificate_reloads_total`, and is tried again at the next change.

use crate::config::TlsConfig;
use anyhow::{bail, Context};
use arc_swap::ArcSwap;
use pingora::listeners::tls::TlsSettings;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{
    install_default_crypto_provider, CertificateDer, ClientHello, CryptoProvider, PrivateKeyDer,
    ResolvesServerCert,
};
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How often the certificate files are looked at for a change.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// The certificate one listener presents, kept current with its files.
pub struct ListenerCertificate {
    /// `scim` or `admin`, for logs and metrics.
    listener: &'static str,
    files: TlsConfig,
    current: ArcSwap<CertifiedKey>,
    /// The files' state when they were last read, successfully or not.
    read_at: Mutex<FilesState>,
}

/// What tells that a file changed: its modification time and length.
type FileState = Option<(SystemTime, u64)>;
type FilesState = (FileState, FileState);

impl std::fmt::Debug for ListenerCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerCertificate")
            .field("listener", &self.listener)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ListenerCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl ListenerCertificate {
    /// Reads the certificate and key of `files`; errors name the file and what is wrong.
    pub fn load(listener: &'static str, files: &TlsConfig) -> anyhow::Result<Arc<Self>> {
        let read_at = files_state(files);
        let key = read_certified_key(files)?;
        Ok(Arc::new(Self {
            listener,
            files: files.clone(),
            current: ArcSwap::from_pointee(key),
            read_at: Mutex::new(read_at),
        }))
    }

    /// pingora's settings for a listener presenting this certificate.
    pub fn settings(self: &Arc<Self>) -> anyhow::Result<TlsSettings> {
        let mut settings = TlsSettings::intermediate("", "")
            .map_err(|e| anyhow::anyhow!("cannot prepare TLS settings: {e}"))?;
        settings.set_cert_resolver(self.clone());
        settings.enable_h2();
        Ok(settings)
    }

    /// Rereads the files if they changed since they were last read.
    fn refresh(&self) {
        let now = files_state(&self.files);
        {
            let mut read_at = self.read_at.lock().unwrap_or_else(|p| p.into_inner());
            if *read_at == now {
                return;
            }
            *read_at = now;
        }
        let listener = self.listener;
        match read_certified_key(&self.files) {
            Ok(key) => {
                self.current.store(Arc::new(key));
                crate::metrics::TLS_RELOADS
                    .with_label_values(&[listener, "success"])
                    .inc();
                tracing::info!(listener, cert = %self.files.cert_file.display(), "TLS certificate reloaded");
            }
            Err(error) => {
                crate::metrics::TLS_RELOADS
                    .with_label_values(&[listener, "failure"])
                    .inc();
                tracing::error!(
                    listener,
                    error = format!("{error:#}"),
                    "TLS certificate not reloaded; the previous one stays in use"
                );
            }
        }
    }
}

/// Keeps `certificates` current with their files, on a thread of its own for the life of
/// the process.
pub fn keep_current(certificates: Vec<Arc<ListenerCertificate>>) -> anyhow::Result<()> {
    if certificates.is_empty() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("scimitar-tls".into())
        .spawn(move || loop {
            std::thread::sleep(LOOK_EVERY);
            certificates.iter().for_each(|c| c.refresh());
        })
        .context("cannot start the TLS certificate watcher")?;
    Ok(())
}

fn files_state(files: &TlsConfig) -> FilesState {
    let state = |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    (state(&files.cert_file), state(&files.key_file))
}

fn read_certified_key(files: &TlsConfig) -> anyhow::Result<CertifiedKey> {
    let (cert_path, key_path) = (&files.cert_file, &files.key_file);
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: no PEM certificate chain: {e}", cert_path.display()))?;
    if chain.is_empty() {
        bail!("{}: no certificate in it", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| anyhow::anyhow!("{}: no PEM private key: {e}", key_path.display()))?;
    install_default_crypto_provider();
    let provider = CryptoProvider::get_default().context("no TLS crypto provider")?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| anyhow::anyhow!("{}: unusable private key: {e}", key_path.display()))?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|e| {
        anyhow::anyhow!(
            "{} and {}: the key is not the certificate's: {e}",
            key_path.display(),
            cert_path.display()
        )
    })?;
    Ok(certified)
}
