//! External programs (the test venv's tools, openssl for test certificates and signing keys)
//! and what stands in for services beyond the target (a JWKS endpoint).

use super::*;

/// A program from the test venv (`scripts/test` installs `tests/python-requirements.txt`
/// into `.venv`). Missing is a loud failure, never a skip.
pub fn python_tool(name: &str) -> PathBuf {
    let bin = std::env::var("SCIMITAR_PYTHON_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_path(".venv/bin"));
    let path = bin.join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which installs the Python test tools",
        path.display()
    );
    path
}

/// `scim2-server` (an independent SCIM server from PyPI) on a free loopback port.
pub struct Scim2Server {
    child: Child,
    pub url: String,
    pub token: String,
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_scim2_server() -> Scim2Server {
    // A free port can be taken between picking it and binding it: try a few.
    for _ in 0..3 {
        if let Some(server) = try_start_scim2_server().await {
            return server;
        }
    }
    panic!("scim2-server did not start on three ports in a row");
}

async fn try_start_scim2_server() -> Option<Scim2Server> {
    let port = free_port();
    let (token, _) = new_token();
    let child = Command::new(python_tool("scim2-server"))
        .args([
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            &token,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Scim2Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        token,
    };
    let client = Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        let probe = client
            .get(format!("{}/ServiceProviderConfig", server.url))
            .bearer_auth(&server.token)
            .send()
            .await;
        if probe.is_ok_and(|r| r.status().is_success()) {
            return Some(server);
        }
        if let Ok(Some(_)) = server.child.try_wait() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scim2-server did not answer within 90 s");
}

/// A certificate authority made for one test (with openssl), and the certificates it issues
/// for `localhost` and `127.0.0.1`.
pub struct TestCa {
    dir: PathBuf,
    name: String,
}

impl TestCa {
    /// A new CA named `name`, its files in `dir`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        let ca = TestCa {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        };
        let key = format!("{name}-ca.key");
        let cert = format!("{name}-ca.pem");
        let subject = format!("/CN=scimitar test CA {name}");
        ca.openssl(&[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", &subject,
            "-keyout", &key, "-out", &cert,
        ]);
        ca
    }

    /// The CA's own certificate, for a client to trust.
    pub fn certificate(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A certificate and key the CA issued, named `leaf`: (certificate, key).
    pub fn issue(&self, leaf: &str) -> (PathBuf, PathBuf) {
        let ext = format!("{leaf}.ext");
        std::fs::write(
            self.dir.join(&ext),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        let (key, csr, cert) = (
            format!("{leaf}-key.pem"),
            format!("{leaf}.csr"),
            format!("{leaf}-cert.pem"),
        );
        let subject = format!("/CN={leaf}");
        self.openssl(&[
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", &subject, "-keyout", &key, "-out",
            &csr,
        ]);
        let (ca_cert, ca_key) = (
            format!("{}-ca.pem", self.name),
            format!("{}-ca.key", self.name),
        );
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ]);
        (self.dir.join(cert), self.dir.join(key))
    }

    fn openssl(&self, args: &[&str]) {
        let status = Command::new("openssl")
            .current_dir(&self.dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is needed to make test certificates");
        assert!(status.success(), "openssl {args:?}");
    }
}

/// An RSA key pair made for one test (with openssl) that signs JWTs as Entra would, and
/// its public half as a JWKS entry.
pub struct SigningKey {
    pub kid: String,
    der: Vec<u8>,
    modulus: Vec<u8>,
}

impl SigningKey {
    pub fn new(dir: &Path, kid: &str) -> SigningKey {
        let pem = dir.join(format!("{kid}.pem"));
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .stderr(Stdio::null())
                .output()
                .expect("openssl is needed to make test keys");
            assert!(out.status.success(), "openssl {args:?}");
            out.stdout
        };
        let pem_path = pem.to_str().unwrap();
        openssl(&["genrsa", "-traditional", "-out", pem_path, "2048"]);
        let der = openssl(&["rsa", "-in", pem_path, "-outform", "DER", "-traditional"]);
        let modulus =
            String::from_utf8(openssl(&["rsa", "-in", pem_path, "-noout", "-modulus"])).unwrap();
        let hex_modulus = modulus.trim().strip_prefix("Modulus=").unwrap();
        SigningKey {
            kid: kid.to_string(),
            der,
            modulus: hex::decode(hex_modulus).unwrap(),
        }
    }

    /// The public key as a JWKS entry, shaped as Entra publishes its keys.
    pub fn jwk(&self) -> Value {
        use base64::Engine as _;
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": "AQAB",
            "x5c": ["MIIC"],
        })
    }

    /// `claims` signed RS256 with this key, its header naming `kid`.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_string());
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&self.der);
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }
}

/// A JWKS endpoint on loopback (`{url}/keys`) whose keys a test can change, counting the
/// times it was fetched.
pub struct JwksServer {
    pub url: String,
    keys: std::sync::Arc<std::sync::Mutex<Value>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    pub async fn start(keys: &[&SigningKey]) -> JwksServer {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = JwksServer {
            url,
            keys: Default::default(),
            fetches: Default::default(),
        };
        server.publish(keys);
        let (served, fetches) = (server.keys.clone(), server.fetches.clone());
        let app = axum::Router::new().route(
            "/keys",
            axum::routing::get(move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                let set = served.lock().unwrap().clone();
                async move { axum::Json(set) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        server
    }

    /// Serves these keys from now on.
    pub fn publish(&self, keys: &[&SigningKey]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        *self.keys.lock().unwrap() = json!({ "keys": keys });
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}
