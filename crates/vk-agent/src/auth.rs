//! Auto-auth (spec §2): the login methods, the retry loop with backoff, and the file sinks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vk_agent_config::{AutoAuth, CertTlsConfig, Method, MethodConfig, MethodConfigError, Sink};
use vk_vault_client::{
    AuthMethod, ClientConfig, PemSource, SecretString, VaultClient, read_credential_file,
};

use crate::backoff::AuthBackoff;
use crate::error::AgentError;
use crate::files;
use crate::shutdown::Shutdown;

/// A token the agent holds.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) token: SecretString,
    /// 0 = never expires.
    pub(crate) ttl: Duration,
    pub(crate) renewable: bool,
}

#[derive(Debug)]
enum Kind {
    TokenFile {
        path: PathBuf,
        cached: Option<SecretString>,
    },
    Kubernetes {
        role: String,
        token_path: PathBuf,
    },
    AppRole {
        role_id_path: PathBuf,
        secret_id_path: Option<PathBuf>,
        remove_secret_id: bool,
        cached_secret_id: Option<SecretString>,
    },
    Cert {
        name: Option<String>,
        tls: Option<CertTlsConfig>,
        /// The dedicated login client built from `tls` (rebuilt on every login with `reload`).
        login_client: Option<VaultClient>,
    },
    Jwt(crate::jwt::JwtSource),
}

/// The configured auth method and its sinks.
#[derive(Debug)]
pub(crate) struct Authenticator {
    kind: Kind,
    method: Method,
    sinks: Vec<Sink>,
    metrics: Option<std::sync::Arc<crate::metrics::AgentMetrics>>,
    /// Another client that must hold the same token (the templates' client when they read
    /// through the lease cache).
    mirror: Option<VaultClient>,
    /// The client logins go through when `auto_auth.method.namespace` is set (the login is
    /// sent in that namespace).
    namespace_client: Option<VaultClient>,
}

pub(crate) fn setting(file: &str, key: &str, reason: impl Into<String>) -> AgentError {
    AgentError::Setting {
        key: key.to_string(),
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// The method's typed settings (checked by `vk-agent-config`), errors naming the file too.
pub(crate) fn method_config(method: &Method, file: &str) -> Result<MethodConfig, AgentError> {
    method.typed_config().map_err(|e| match e {
        MethodConfigError::Invalid { key, reason } => setting(file, &key, reason),
        MethodConfigError::Unsupported(kind) => AgentError::Unsupported {
            key: "auto_auth.method.type".into(),
            file: file.to_string(),
            what: crate::support::method_refusal(&kind),
        },
    })
}

impl Authenticator {
    /// Checks the method's settings and the sinks (spec §2.2–§2.7) at start-up.
    pub(crate) fn new(auto_auth: &AutoAuth, file: &str) -> Result<Self, AgentError> {
        let m = &auto_auth.method;
        let kind = match method_config(m, file)? {
            MethodConfig::TokenFile(c) => Kind::TokenFile {
                path: c.token_file_path,
                cached: None,
            },
            MethodConfig::Kubernetes(c) => Kind::Kubernetes {
                role: c.role,
                token_path: c.token_path,
            },
            MethodConfig::AppRole(c) => Kind::AppRole {
                role_id_path: c.role_id_file_path,
                secret_id_path: c.secret_id_file_path,
                remove_secret_id: c.remove_secret_id_file_after_reading,
                cached_secret_id: None,
            },
            MethodConfig::Cert(c) => Kind::Cert {
                name: c.name,
                tls: c.tls,
                login_client: None,
            },
            MethodConfig::Jwt(c) => {
                for key in &c.unknown_keys {
                    tracing::warn!(key = %key, file, "jwt: unknown or unsupported setting; ignored");
                }
                Kind::Jwt(crate::jwt::JwtSource::new(
                    c.role,
                    c.path,
                    c.remove_jwt_after_reading,
                    c.remove_jwt_follows_symlinks,
                    c.jwt_read_period,
                ))
            }
        };
        for s in &auto_auth.sinks {
            if s.kind != "file" {
                return Err(setting(
                    file,
                    "auto_auth.sink.type",
                    format!("sink type {:?} is not supported", s.kind),
                ));
            }
            if s.path.is_empty() {
                return Err(setting(
                    file,
                    "auto_auth.sink.config.path",
                    "missing 'path'",
                ));
            }
        }
        Ok(Self {
            kind,
            method: m.clone(),
            sinks: auto_auth.sinks.clone(),
            metrics: None,
            mirror: None,
            namespace_client: None,
        })
    }

    /// Sends logins through `client` (built for `auto_auth.method.namespace`).
    pub(crate) fn set_namespace_client(&mut self, client: VaultClient) {
        self.namespace_client = Some(client);
    }

    /// The method type, for messages.
    pub(crate) fn kind_name(&self) -> &str {
        &self.method.kind
    }

    /// The sink start-up write check (spec §2.7).
    pub(crate) fn check_sinks(&self) -> Result<(), AgentError> {
        for s in &self.sinks {
            let path = Path::new(&s.path);
            files::check_writable(path).map_err(|source| AgentError::Write {
                what: "sink",
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    fn mount(&self) -> Option<String> {
        Some(self.method.mount_path.clone()).filter(|m| !m.is_empty())
    }

    /// One attempt: read the credentials (again), log in or look the token up.
    async fn attempt(&mut self, client: &VaultClient) -> Result<Token, AgentError> {
        let mount_path = self.mount();
        // The client that sends the login (the `cert` method may bring its own TLS files).
        let mut via: Option<VaultClient> = self.namespace_client.clone();
        let method = match &mut self.kind {
            Kind::TokenFile { path, cached } => {
                let token = match read_nonempty(path) {
                    Ok(t) => {
                        *cached = Some(t.clone());
                        t
                    }
                    Err(e) => cached.clone().ok_or(e)?,
                };
                client.set_token(token);
                let info = client
                    .lookup_self()
                    .await
                    .map_err(|source| AgentError::Vault {
                        what: "token_file: looking up the token".into(),
                        source,
                    })?;
                return Ok(Token {
                    token: info.id,
                    ttl: Duration::from_secs(info.ttl),
                    renewable: info.renewable,
                });
            }
            Kind::Kubernetes { role, token_path } => AuthMethod::Kubernetes {
                role: role.clone(),
                jwt: read_nonempty(token_path)?,
                mount_path,
            },
            Kind::AppRole {
                role_id_path,
                secret_id_path,
                remove_secret_id,
                cached_secret_id,
            } => {
                let role_id = read_nonempty(role_id_path)?.expose().to_string();
                let secret_id = match secret_id_path {
                    None => None,
                    Some(p) => match read_nonempty(p) {
                        Ok(s) => {
                            if *remove_secret_id {
                                let _ = std::fs::remove_file(&*p);
                            }
                            *cached_secret_id = Some(s.clone());
                            Some(s)
                        }
                        Err(e) => Some(cached_secret_id.clone().ok_or(e)?),
                    },
                };
                AuthMethod::AppRole {
                    role_id,
                    secret_id,
                    mount_path,
                }
            }
            Kind::Cert {
                name,
                tls,
                login_client,
            } => {
                if let Some(tls) = tls
                    && (tls.reload || login_client.is_none())
                {
                    *login_client = Some(cert_login_client(tls, client)?);
                }
                via = login_client.clone();
                AuthMethod::Cert {
                    name: name.clone(),
                    mount_path,
                }
            }
            Kind::Jwt(source) => AuthMethod::Jwt {
                role: source.role().to_string(),
                jwt: source.current()?,
                mount_path,
            },
        };
        // Logins are sent without a token.
        client.clear_token();
        let auth = via
            .as_ref()
            .unwrap_or(client)
            .login(&method)
            .await
            .map_err(|source| AgentError::Vault {
                what: format!("{} login", method.type_name()),
                source,
            })?;
        client.set_token(auth.token.clone());
        Ok(Token {
            token: auth.token,
            ttl: Duration::from_secs(auth.lease_duration),
            renewable: auth.renewable,
        })
    }

    /// Counts logins in `metrics` and gives every new token to `mirror` too.
    pub(crate) fn observe(
        &mut self,
        metrics: std::sync::Arc<crate::metrics::AgentMetrics>,
        mirror: Option<VaultClient>,
    ) {
        self.metrics = Some(metrics);
        self.mirror = mirror;
    }

    /// The auth loop (spec §2.1): attempts until one succeeds, waiting with backoff between
    /// failures; `exit_on_err` makes the first failure fatal. `None` when shut down meanwhile.
    #[tracing::instrument(name = "auth", skip_all, fields(method = %self.method.kind))]
    pub(crate) async fn authenticate(
        &mut self,
        client: &VaultClient,
        shutdown: &mut Shutdown,
    ) -> Result<Option<Token>, AgentError> {
        let mut backoff = AuthBackoff::new(self.method.min_backoff, self.method.max_backoff);
        loop {
            match self.attempt(client).await {
                Ok(token) => {
                    if let Some(m) = &self.metrics {
                        m.auth_attempt(&self.method.kind, true);
                        m.token_valid_for(token.ttl);
                    }
                    self.mirror_token(&token);
                    tracing::info!(
                        method = %self.method.kind,
                        ttl_secs = token.ttl.as_secs(),
                        renewable = token.renewable,
                        "authentication successful"
                    );
                    self.write_sinks(client, &token, shutdown).await?;
                    return Ok(Some(token));
                }
                Err(e) => {
                    if let Some(m) = &self.metrics {
                        m.auth_attempt(&self.method.kind, false);
                    }
                    if self.method.exit_on_err {
                        return Err(AgentError::Auth {
                            method: self.method.kind.clone(),
                            source: Box::new(e),
                        });
                    }
                    let wait = backoff.next_delay();
                    tracing::error!(
                        method = %self.method.kind,
                        error = %vk_telemetry::ErrorChain(&e),
                        backoff_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "auto-auth attempt failed"
                    );
                    if shutdown.sleep(wait).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Writes the token to every file sink in one batch (no trailing newline, sink mode),
    /// retrying the failed ones after 1–3 s (spec §2.7).
    /// Gives the token to the client that must hold the same one (the templates' client
    /// when they read through the lease cache): after a login, or a restored token.
    pub(crate) fn mirror_token(&self, token: &Token) {
        if let Some(c) = &self.mirror {
            c.set_token(token.token.clone());
        }
    }

    pub(crate) async fn write_sinks(
        &self,
        client: &VaultClient,
        token: &Token,
        shutdown: &mut Shutdown,
    ) -> Result<(), AgentError> {
        let mut jitter = crate::backoff::Jitter::new();
        let mut pending: Vec<&Sink> = self.sinks.iter().collect();
        while !pending.is_empty() {
            // A sink with `wrap_ttl` holds a fresh response-wrapping token for every write.
            let mut contents: Vec<SecretString> = Vec::with_capacity(pending.len());
            let mut wrap_failed = Vec::new();
            let mut ready = Vec::new();
            for s in pending {
                match s.wrap_ttl.filter(|d| !d.is_zero()) {
                    None => {
                        contents.push(token.token.clone());
                        ready.push(s);
                    }
                    Some(ttl) => match wrap_token(client, &token.token, ttl).await {
                        Ok(wrapped) => {
                            contents.push(wrapped);
                            ready.push(s);
                        }
                        Err(e) => {
                            tracing::error!(error = %vk_telemetry::ErrorChain(&e), path = %s.path, "wrapping the token for the sink failed; retrying");
                            wrap_failed.push(s);
                        }
                    },
                }
            }
            pending = ready;
            let jobs: Vec<files::Job<'_>> = pending
                .iter()
                .zip(&contents)
                .map(|(s, c)| files::Job {
                    path: Path::new(&s.path),
                    contents: c.expose().as_bytes(),
                    mode: s.mode,
                    owner: None,
                    backup: false,
                })
                .collect();
            let results = files::write_batch(&jobs);
            let mut failed = Vec::new();
            for (s, result) in pending.into_iter().zip(results) {
                let path = Path::new(&s.path);
                match result {
                    Ok(()) => tracing::info!(path = %path.display(), "token written to sink"),
                    Err(source) => {
                        let err = AgentError::Write {
                            what: "sink",
                            path: path.to_path_buf(),
                            source,
                        };
                        tracing::error!(error = %vk_telemetry::ErrorChain(&err), "sink write failed; retrying");
                        failed.push(s);
                    }
                }
            }
            failed.extend(wrap_failed);
            pending = failed;
            if !pending.is_empty() {
                let wait = Duration::from_secs(1).mul_f64(1.0 + 2.0 * jitter.unit());
                if shutdown.sleep(wait).await {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// A login client for the `cert` method's own TLS files (spec §2.6): the same server and
/// namespace as `base`, only these files (read now, so `reload` picks up renewed certificates).
fn cert_login_client(tls: &CertTlsConfig, base: &VaultClient) -> Result<VaultClient, AgentError> {
    let mut cfg = ClientConfig::new(base.address());
    cfg.namespace = base.namespace().map(str::to_string);
    cfg.ca_cert = tls.ca_cert.clone().map(PemSource::Path);
    cfg.client_cert = tls.client_cert.clone().map(PemSource::Path);
    cfg.client_key = tls.client_key.clone().map(PemSource::Path);
    VaultClient::new(&cfg).map_err(|source| AgentError::Vault {
        what: "cert: building the login client from auto_auth.method.config".into(),
        source,
    })
}

fn read_nonempty(path: &Path) -> Result<SecretString, AgentError> {
    let v = read_credential_file(path).map_err(|source| AgentError::Credential {
        path: path.to_path_buf(),
        source,
    })?;
    if v.is_empty() {
        return Err(AgentError::EmptyCredential {
            path: path.to_path_buf(),
        });
    }
    Ok(v)
}

/// Response-wraps `token` for `ttl` (`sys/wrapping/wrap` with `{"token": …}`, as Vault Agent's
/// sinks do) and returns what the sink holds: the wrap information as JSON, in the field order
/// of Vault's `SecretWrapInfo` (`token`, `accessor`, `ttl`, `creation_time`, `creation_path`,
/// `wrapped_accessor`). Unwrapping the wrapping token gives `data.token`.
async fn wrap_token(
    client: &VaultClient,
    token: &SecretString,
    ttl: Duration,
) -> Result<SecretString, AgentError> {
    let vault = |source| AgentError::Vault {
        what: "auto_auth.sink.wrap_ttl: wrapping the token".into(),
        source,
    };
    let body = serde_json::json!({ "token": token.expose() });
    let resp = client
        .write_wrapped("sys/wrapping/wrap", &body, ttl)
        .await
        .map_err(vault)?;
    let parsed: serde_json::Value = serde_json::from_str(&resp.body).unwrap_or_default();
    let info = &parsed["wrap_info"];
    let text = |k: &str| info[k].as_str().unwrap_or_default().to_string();
    if text("token").is_empty() {
        return Err(AgentError::WrapInfo);
    }
    let mut out = serde_json::Map::new();
    out.insert("token".into(), text("token").into());
    out.insert("accessor".into(), text("accessor").into());
    out.insert("ttl".into(), info["ttl"].as_u64().unwrap_or(0).into());
    out.insert("creation_time".into(), text("creation_time").into());
    out.insert("creation_path".into(), text("creation_path").into());
    out.insert("wrapped_accessor".into(), text("wrapped_accessor").into());
    Ok(SecretString::from(
        serde_json::Value::Object(out).to_string(),
    ))
}
