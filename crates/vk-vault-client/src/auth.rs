//! Auto-auth logins (spec §2) and the token lifecycle (§2.5, §2.8).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use tracing::Instrument as _;

use crate::client::{VaultClient, Verb, from_vaultrs};
use crate::error::VaultError;
use crate::secret::SecretString;

/// A login to perform. Credentials are passed in (the caller reads the files on each attempt,
/// see [`read_credential_file`]); `mount_path` defaults to `auth/<type>`.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// `kubernetes`: role plus the service-account JWT (re-read on every attempt).
    Kubernetes {
        /// Role name.
        role: String,
        /// Service-account token.
        jwt: SecretString,
        /// Mount path, e.g. `auth/kubernetes` (default).
        mount_path: Option<String>,
    },
    /// `jwt`: role plus a JWT.
    Jwt {
        /// Role name.
        role: String,
        /// The JWT.
        jwt: SecretString,
        /// Mount path, default `auth/jwt`.
        mount_path: Option<String>,
    },
    /// `approle`: role id plus (unless the role has `bind_secret_id=false`) a secret id.
    AppRole {
        /// Role id.
        role_id: String,
        /// Secret id.
        secret_id: Option<SecretString>,
        /// Mount path, default `auth/approle`.
        mount_path: Option<String>,
    },
    /// `cert`: TLS client certificate of the client (set in [`crate::ClientConfig`]).
    Cert {
        /// Certificate role name; without it Vault tries every role.
        name: Option<String>,
        /// Mount path, default `auth/cert`.
        mount_path: Option<String>,
    },
}

impl AuthMethod {
    /// The method's type name (`kubernetes`, `jwt`, `approle`, `cert`).
    pub fn type_name(&self) -> &'static str {
        match self {
            AuthMethod::Kubernetes { .. } => "kubernetes",
            AuthMethod::Jwt { .. } => "jwt",
            AuthMethod::AppRole { .. } => "approle",
            AuthMethod::Cert { .. } => "cert",
        }
    }

    /// The mount path (trailing `/` stripped), default `auth/<type>`.
    pub fn mount_path(&self) -> String {
        let configured = match self {
            AuthMethod::Kubernetes { mount_path, .. }
            | AuthMethod::Jwt { mount_path, .. }
            | AuthMethod::AppRole { mount_path, .. }
            | AuthMethod::Cert { mount_path, .. } => mount_path.as_deref(),
        };
        match configured
            .map(|m| m.trim_matches('/'))
            .filter(|m| !m.is_empty())
        {
            Some(m) => m.to_string(),
            None => format!("auth/{}", self.type_name()),
        }
    }

    /// `<mount_path>/login`.
    pub fn login_path(&self) -> String {
        format!("{}/login", self.mount_path())
    }
}

/// A successful login or token renewal.
#[derive(Debug, Clone)]
pub struct AuthResult {
    /// `auth.client_token`.
    pub token: SecretString,
    /// `auth.accessor`.
    pub accessor: String,
    /// `auth.lease_duration` in seconds (0 = no expiry).
    pub lease_duration: u64,
    /// `auth.renewable`.
    pub renewable: bool,
    /// `auth.policies`.
    pub policies: Vec<String>,
    /// `auth.token_policies`.
    pub token_policies: Vec<String>,
    /// `auth.metadata`.
    pub metadata: BTreeMap<String, String>,
}

impl From<vaultrs::api::AuthInfo> for AuthResult {
    fn from(a: vaultrs::api::AuthInfo) -> Self {
        Self {
            token: SecretString::new(a.client_token),
            accessor: a.accessor,
            lease_duration: a.lease_duration,
            renewable: a.renewable,
            policies: a.policies,
            token_policies: a.token_policies,
            metadata: a.metadata.unwrap_or_default().into_iter().collect(),
        }
    }
}

/// `auth/token/lookup-self` data (what the agent uses for `token_file`, spec §2.5).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// `data.id` (the token itself).
    pub id: SecretString,
    /// `data.accessor`.
    pub accessor: String,
    /// `data.ttl` in seconds (0 = never expires, e.g. root).
    pub ttl: u64,
    /// `data.renewable` (absent → false).
    pub renewable: bool,
    /// `data.policies`.
    pub policies: Vec<String>,
    /// `data.explicit_max_ttl`.
    pub explicit_max_ttl: u64,
    /// `data.expire_time` (RFC 3339), when the token expires.
    pub expire_time: Option<String>,
    /// `data.path` (the path the token was created on).
    pub path: String,
    /// `data.display_name`.
    pub display_name: String,
    /// `data.orphan`.
    pub orphan: bool,
}

impl From<vaultrs::api::token::responses::LookupTokenResponse> for TokenInfo {
    fn from(r: vaultrs::api::token::responses::LookupTokenResponse) -> Self {
        Self {
            id: SecretString::new(r.id),
            accessor: r.accessor,
            ttl: r.ttl,
            renewable: r.renewable.unwrap_or(false),
            policies: r.policies,
            explicit_max_ttl: r.explicit_max_ttl,
            expire_time: r.expire_time,
            path: r.path,
            display_name: r.display_name,
            orphan: r.orphan,
        }
    }
}

/// Reads a credential file (service-account token, role id, secret id, token file) and trims
/// surrounding white space, as the agent does on every attempt. The error names the file.
pub fn read_credential_file(path: &Path) -> Result<SecretString, std::io::Error> {
    let text = std::fs::read_to_string(path)?;
    Ok(SecretString::new(text.trim()))
}

#[derive(Deserialize)]
struct LoginWire {
    #[serde(default)]
    auth: Option<AuthWire>,
}

#[derive(Deserialize)]
struct AuthWire {
    #[serde(default)]
    client_token: String,
    #[serde(default)]
    accessor: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
    #[serde(default)]
    policies: Option<Vec<String>>,
    #[serde(default)]
    token_policies: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

fn duration_arg(increment: Option<Duration>) -> Option<String> {
    increment.map(|d| format!("{}s", d.as_secs()))
}

impl VaultClient {
    /// Logs in with `method` (spec §2.1: `POST <mount_path>/login`, no token, no client-level
    /// retry). Does not install the token: call [`VaultClient::set_token`] with it.
    ///
    /// vaultrs performs the kubernetes, jwt and approle logins for mounts under `auth/`, and the
    /// cert login without a role name. A cert login *with* a role name, and any mount path
    /// outside `auth/`, go through the direct HTTP path: vaultrs 0.8 sends the cert role as
    /// `cert_name`, which Vault ignores (it reads `name`).
    pub async fn login(&self, method: &AuthMethod) -> Result<AuthResult, VaultError> {
        let login_path = method.login_path();
        let kind = method.type_name();
        let mount = method.mount_path();
        let wrap = |source: VaultError| VaultError::Login {
            method: kind,
            path: login_path.clone(),
            source: Box::new(source),
        };
        let vaultrs_mount = mount.strip_prefix("auth/").map(str::to_string);
        let result = match (method, vaultrs_mount) {
            (AuthMethod::Cert { name: Some(_), .. }, _) | (_, None) => {
                self.login_direct(method, &login_path).await
            }
            (_, Some(m)) => {
                // vaultrs sends this request itself: the span (and the traceparent that
                // `vaultrs()` adds) are set up here rather than in `exchange`.
                let span = tracing::info_span!(
                    "vault_request",
                    http.request.method = "POST",
                    url.path = %login_path,
                    http.response.status_code = tracing::field::Empty,
                    otel.kind = "client",
                    otel.status_code = tracing::field::Empty,
                );
                let result = self
                    .login_vaultrs(method, &m, &login_path)
                    .instrument(span.clone())
                    .await;
                match &result {
                    // vaultrs returns a login only for a 2xx answer with an auth block.
                    Ok(_) => span.record("http.response.status_code", 200),
                    Err(_) => span.record("otel.status_code", "error"),
                };
                result
            }
        };
        let auth = result.map_err(wrap)?;
        if auth.token.is_empty() {
            return Err(VaultError::EmptyClientToken {
                method: kind,
                path: login_path,
            });
        }
        tracing::debug!(
            method = kind,
            path = %login_path,
            lease_duration = auth.lease_duration,
            renewable = auth.renewable,
            "login succeeded"
        );
        Ok(auth)
    }

    async fn login_vaultrs(
        &self,
        method: &AuthMethod,
        mount: &str,
        login_path: &str,
    ) -> Result<AuthResult, VaultError> {
        let client = self.vaultrs(None);
        let started = std::time::Instant::now();
        let res = match method {
            AuthMethod::Kubernetes { role, jwt, .. } => {
                vaultrs::auth::kubernetes::login(&client, mount, role, jwt.expose()).await
            }
            AuthMethod::Jwt { role, jwt, .. } => {
                vaultrs::auth::oidc::login(&client, mount, jwt.expose(), Some(role.clone())).await
            }
            AuthMethod::AppRole {
                role_id, secret_id, ..
            } => {
                let secret = secret_id.as_ref().map(SecretString::expose).unwrap_or("");
                vaultrs::auth::approle::login(&client, mount, role_id, secret).await
            }
            AuthMethod::Cert { .. } => vaultrs::auth::cert::login(&client, mount, "").await,
        };
        let res = match res {
            Ok(info) => Ok(info.into()),
            Err(vaultrs::error::ClientError::ResponseEmptyError) => Err(VaultError::NilAuthInfo {
                method: method.type_name(),
                path: login_path.to_string(),
            }),
            Err(e) => Err(from_vaultrs("POST", login_path, e)),
        };
        if let Some(observer) = self.observer() {
            observer.record_result(&res, started);
        }
        res
    }

    async fn login_direct(
        &self,
        method: &AuthMethod,
        login_path: &str,
    ) -> Result<AuthResult, VaultError> {
        let body = match method {
            AuthMethod::Kubernetes { role, jwt, .. } | AuthMethod::Jwt { role, jwt, .. } => {
                serde_json::json!({ "role": role, "jwt": jwt.expose() })
            }
            AuthMethod::AppRole {
                role_id, secret_id, ..
            } => match secret_id {
                Some(s) => serde_json::json!({ "role_id": role_id, "secret_id": s.expose() }),
                None => serde_json::json!({ "role_id": role_id }),
            },
            AuthMethod::Cert { name, .. } => match name {
                Some(n) => serde_json::json!({ "name": n }),
                None => serde_json::json!({}),
            },
        };
        let resp = self
            .call_unauthenticated(Verb::Post, login_path, &body)
            .await?;
        let wire: LoginWire =
            serde_json::from_str(&resp.body).map_err(|source| VaultError::Decode {
                method: "POST",
                path: login_path.to_string(),
                source,
            })?;
        let auth = wire.auth.ok_or_else(|| VaultError::NilAuthInfo {
            method: method.type_name(),
            path: login_path.to_string(),
        })?;
        Ok(AuthResult {
            token: SecretString::new(auth.client_token),
            accessor: auth.accessor,
            lease_duration: auth.lease_duration,
            renewable: auth.renewable,
            policies: auth.policies.unwrap_or_default(),
            token_policies: auth.token_policies.unwrap_or_default(),
            metadata: auth.metadata.unwrap_or_default(),
        })
    }

    /// Runs one vaultrs request and tells the observer how it ended.
    async fn observed<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, vaultrs::error::ClientError>>,
    ) -> Result<T, vaultrs::error::ClientError> {
        let started = std::time::Instant::now();
        let result = request.await;
        if let Some(observer) = self.observer() {
            use rustify::errors::ClientError as Rest;
            use vaultrs::error::ClientError as Rs;
            let class = match &result {
                Ok(_) | Err(Rs::ResponseEmptyError) => Some(crate::StatusClass::Success),
                Err(Rs::APIError { code, .. })
                | Err(Rs::RestClientError {
                    source: Rest::ServerResponseError { code, .. },
                }) => Some(crate::StatusClass::of_status(*code)),
                Err(Rs::RestClientError {
                    source: Rest::RequestError { .. } | Rest::ResponseError { .. },
                }) => Some(crate::StatusClass::Transport),
                Err(_) => None,
            };
            if let Some(class) = class {
                observer.record(class, started);
            }
        }
        result
    }

    fn current_token_client(&self) -> vaultrs::client::VaultClient {
        self.vaultrs(self.token().as_ref())
    }

    /// `GET auth/token/lookup-self` with the current token (validates a `token_file` token).
    pub async fn lookup_self(&self) -> Result<TokenInfo, VaultError> {
        let client = self.current_token_client();
        self.retrying(|| async {
            self.observed(vaultrs::token::lookup_self(&client))
                .await
                .map(TokenInfo::from)
                .map_err(|e| from_vaultrs("GET", "auth/token/lookup-self", e))
        })
        .await
    }

    /// `PUT auth/token/renew-self` with the current token.
    pub async fn renew_self(&self, increment: Option<Duration>) -> Result<AuthResult, VaultError> {
        let client = self.current_token_client();
        Self::renew_with(self, &client, increment).await
    }

    /// `PUT auth/token/renew-self` with another token (e.g. one created by a
    /// `secret "auth/token/create"` template dependency, spec §2.8).
    pub async fn renew_token_self(
        &self,
        token: &SecretString,
        increment: Option<Duration>,
    ) -> Result<AuthResult, VaultError> {
        let client = self.vaultrs(Some(token));
        Self::renew_with(self, &client, increment).await
    }

    async fn renew_with(
        &self,
        client: &vaultrs::client::VaultClient,
        increment: Option<Duration>,
    ) -> Result<AuthResult, VaultError> {
        let inc = duration_arg(increment);
        self.retrying(|| async {
            self.observed(vaultrs::token::renew_self(client, inc.as_deref()))
                .await
                .map(AuthResult::from)
                .map_err(|e| from_vaultrs("PUT", "auth/token/renew-self", e))
        })
        .await
    }

    /// `PUT auth/token/revoke-self` with the current token. The token stays set in the client;
    /// later calls with it fail with 403.
    pub async fn revoke_self(&self) -> Result<(), VaultError> {
        let client = self.current_token_client();
        self.retrying(|| async {
            self.observed(vaultrs::token::revoke_self(&client))
                .await
                .map_err(|e| from_vaultrs("PUT", "auth/token/revoke-self", e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths() {
        let k = AuthMethod::Kubernetes {
            role: "r".into(),
            jwt: "j".into(),
            mount_path: None,
        };
        assert_eq!(k.login_path(), "auth/kubernetes/login");
        let a = AuthMethod::AppRole {
            role_id: "id".into(),
            secret_id: None,
            mount_path: Some("auth/ar-2/".into()),
        };
        assert_eq!(a.login_path(), "auth/ar-2/login");
        let shown = format!(
            "{:?}",
            AuthMethod::Jwt {
                role: "r".into(),
                jwt: "eyJhbGciOi.secret.sig".into(),
                mount_path: None
            }
        );
        assert!(!shown.contains("eyJ"), "{shown}");
    }

    #[test]
    fn credential_files_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "  abc.def\n").unwrap();
        assert_eq!(read_credential_file(&p).unwrap().expose(), "abc.def");
    }
}
