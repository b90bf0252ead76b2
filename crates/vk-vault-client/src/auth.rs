//! Auto-auth logins (spec §2) and the token lifecycle (§2.5, §2.8).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::client::{VaultClient, Verb};
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

impl From<AuthWire> for AuthResult {
    fn from(auth: AuthWire) -> Self {
        Self {
            token: SecretString::new(auth.client_token),
            accessor: auth.accessor,
            lease_duration: auth.lease_duration,
            renewable: auth.renewable,
            policies: auth.policies.unwrap_or_default(),
            token_policies: auth.token_policies.unwrap_or_default(),
            metadata: auth.metadata.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct LookupWire {
    #[serde(default)]
    data: Option<TokenWire>,
}

#[derive(Deserialize)]
struct TokenWire {
    #[serde(default)]
    id: String,
    #[serde(default)]
    accessor: String,
    #[serde(default)]
    ttl: u64,
    #[serde(default)]
    renewable: Option<bool>,
    #[serde(default)]
    policies: Option<Vec<String>>,
    #[serde(default)]
    explicit_max_ttl: u64,
    #[serde(default)]
    expire_time: Option<String>,
    #[serde(default)]
    path: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    orphan: bool,
}

impl From<TokenWire> for TokenInfo {
    fn from(t: TokenWire) -> Self {
        Self {
            id: SecretString::new(t.id),
            accessor: t.accessor,
            ttl: t.ttl,
            renewable: t.renewable.unwrap_or(false),
            policies: t.policies.unwrap_or_default(),
            explicit_max_ttl: t.explicit_max_ttl,
            expire_time: t.expire_time,
            path: t.path,
            display_name: t.display_name,
            orphan: t.orphan,
        }
    }
}

/// Decodes a JSON answer of `method path`.
fn decode<T: serde::de::DeserializeOwned>(
    method: &'static str,
    path: &str,
    body: &str,
) -> Result<T, VaultError> {
    serde_json::from_str(body).map_err(|source| VaultError::Decode {
        method,
        path: path.to_string(),
        source,
    })
}

const LOOKUP_SELF: &str = "auth/token/lookup-self";
const RENEW_SELF: &str = "auth/token/renew-self";
const REVOKE_SELF: &str = "auth/token/revoke-self";

impl VaultClient {
    /// Logs in with `method` (spec §2.1: `POST <mount_path>/login`, no token, no client-level
    /// retry). Does not install the token: call [`VaultClient::set_token`] with it.
    pub async fn login(&self, method: &AuthMethod) -> Result<AuthResult, VaultError> {
        let login_path = method.login_path();
        let kind = method.type_name();
        let auth = self
            .login_request(method, &login_path)
            .await
            .map_err(|source| VaultError::Login {
                method: kind,
                path: login_path.clone(),
                source: Box::new(source),
            })?;
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

    async fn login_request(
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
            // Vault's cert method reads the role from `name`.
            AuthMethod::Cert { name, .. } => match name {
                Some(n) => serde_json::json!({ "name": n }),
                None => serde_json::json!({}),
            },
        };
        let resp = self
            .call_unauthenticated(Verb::Post, login_path, &body)
            .await?;
        let wire: LoginWire = decode("POST", login_path, &resp.body)?;
        let auth = wire.auth.ok_or_else(|| VaultError::NilAuthInfo {
            method: method.type_name(),
            path: login_path.to_string(),
        })?;
        Ok(auth.into())
    }

    /// `GET auth/token/lookup-self` with the current token (validates a `token_file` token).
    pub async fn lookup_self(&self) -> Result<TokenInfo, VaultError> {
        let token = self.token();
        let resp = self
            .call_with_token(Verb::Get, LOOKUP_SELF, None, token.as_ref())
            .await?;
        let wire: LookupWire = decode("GET", LOOKUP_SELF, &resp.body)?;
        let data = wire.data.ok_or_else(|| VaultError::Decode {
            method: "GET",
            path: LOOKUP_SELF.to_string(),
            source: serde::de::Error::custom("the answer carries no `data` block"),
        })?;
        Ok(data.into())
    }

    /// `PUT auth/token/renew-self` with the current token.
    pub async fn renew_self(&self, increment: Option<Duration>) -> Result<AuthResult, VaultError> {
        let token = self.token();
        self.renew_with(token.as_ref(), increment).await
    }

    /// `PUT auth/token/renew-self` with another token (e.g. one created by a
    /// `secret "auth/token/create"` template dependency, spec §2.8).
    pub async fn renew_token_self(
        &self,
        token: &SecretString,
        increment: Option<Duration>,
    ) -> Result<AuthResult, VaultError> {
        self.renew_with(Some(token), increment).await
    }

    async fn renew_with(
        &self,
        token: Option<&SecretString>,
        increment: Option<Duration>,
    ) -> Result<AuthResult, VaultError> {
        let body = match increment {
            Some(d) => serde_json::json!({ "increment": format!("{}s", d.as_secs()) }),
            None => serde_json::json!({}),
        };
        let resp = self
            .call_with_token(Verb::Put, RENEW_SELF, Some(&body), token)
            .await?;
        let wire: LoginWire = decode("PUT", RENEW_SELF, &resp.body)?;
        let auth = wire.auth.ok_or_else(|| VaultError::NilAuthInfo {
            method: "token",
            path: RENEW_SELF.to_string(),
        })?;
        Ok(auth.into())
    }

    /// `PUT auth/token/revoke-self` with the current token. The token stays set in the client;
    /// later calls with it fail with 403.
    pub async fn revoke_self(&self) -> Result<(), VaultError> {
        let token = self.token();
        self.call_with_token(Verb::Put, REVOKE_SELF, None, token.as_ref())
            .await
            .map(|_| ())
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
