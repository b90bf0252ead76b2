//! The typed `auto_auth.method.config` of each auth method vault-k8s agent implements
//! (spec §2.2–§2.6), decoded from the settings as written. Booleans are read as Vault's
//! methods read them (`parseutil.ParseBool`), durations as `parseutil.ParseDurationSecond`;
//! a bad value is an error naming its key.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::model::Method;
use crate::values::{duration_second_json, weak_bool_json};

/// Default service-account token path of the `kubernetes` method.
pub const DEFAULT_K8S_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The settings of `config` the `jwt` method understands.
const JWT_KEYS: &[&str] = &[
    "path",
    "role",
    "remove_jwt_after_reading",
    "remove_jwt_follows_symlinks",
    "jwt_read_period",
];

/// One supported auth method with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodConfig {
    Kubernetes(KubernetesConfig),
    Jwt(JwtConfig),
    AppRole(AppRoleConfig),
    TokenFile(TokenFileConfig),
    Cert(CertConfig),
}

/// `kubernetes`: log in with the pod's service-account token.
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesConfig {
    /// `role` (required).
    pub role: String,
    /// `token_path`, [`DEFAULT_K8S_TOKEN_PATH`] when unset or empty.
    pub token_path: PathBuf,
}

/// `jwt`: log in with a JWT read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtConfig {
    /// `role` (required).
    pub role: String,
    /// `path` (required).
    pub path: PathBuf,
    /// `remove_jwt_after_reading` (default true).
    pub remove_jwt_after_reading: bool,
    /// `remove_jwt_follows_symlinks` (default false).
    pub remove_jwt_follows_symlinks: bool,
    /// `jwt_read_period`; `None` when unset (the agent picks the default).
    pub jwt_read_period: Option<Duration>,
    /// Keys of `config` this method does not know (upstream ignores them; the agent warns).
    pub unknown_keys: Vec<String>,
}

/// `approle`: log in with a role ID and an optional secret ID, read from files.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRoleConfig {
    /// `role_id_file_path` (required).
    pub role_id_file_path: PathBuf,
    /// `secret_id_file_path`; `None` when unset or empty.
    pub secret_id_file_path: Option<PathBuf>,
    /// `remove_secret_id_file_after_reading` (default true).
    pub remove_secret_id_file_after_reading: bool,
}

/// `token_file`: use the token a file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFileConfig {
    /// `token_file_path` (required).
    pub token_file_path: PathBuf,
}

/// `cert`: log in with a TLS client certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertConfig {
    /// `name`: the cert role to log in against.
    pub name: Option<String>,
    /// The method's own TLS files; `None` when neither `ca_cert` nor `client_cert` is set
    /// (the login goes through the agent's client).
    pub tls: Option<CertTlsConfig>,
}

/// The `cert` method's own TLS files (spec §2.6).
#[derive(Debug, Clone, PartialEq)]
pub struct CertTlsConfig {
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// `reload` (default false): read the files again on every login.
    pub reload: bool,
}

/// Why a method's settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodConfigError {
    /// The method type is not one vault-k8s agent implements.
    #[error("auth method {0:?} is not supported")]
    Unsupported(String),
    /// A setting is missing or has a bad value; `key` is the full dotted key, e.g.
    /// `auto_auth.method.config.role`.
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl Method {
    /// The typed settings of this method; the first bad setting is the error.
    pub fn typed_config(&self) -> Result<MethodConfig, MethodConfigError> {
        let s = Settings(self);
        Ok(match self.kind.as_str() {
            "token_file" => MethodConfig::TokenFile(TokenFileConfig {
                token_file_path: s.required("token_file_path")?.into(),
            }),
            "kubernetes" => MethodConfig::Kubernetes(KubernetesConfig {
                role: s.required("role")?,
                token_path: s
                    .optional_path("token_path")
                    .unwrap_or_else(|| DEFAULT_K8S_TOKEN_PATH.into()),
            }),
            "approle" => MethodConfig::AppRole(AppRoleConfig {
                role_id_file_path: s.required("role_id_file_path")?.into(),
                secret_id_file_path: s.optional_path("secret_id_file_path"),
                remove_secret_id_file_after_reading: s
                    .bool("remove_secret_id_file_after_reading", true)?,
            }),
            "cert" => MethodConfig::Cert(CertConfig {
                name: self.config_str("name").map(str::to_string),
                tls: s.cert_tls()?,
            }),
            "jwt" => MethodConfig::Jwt(JwtConfig {
                role: s.required("role")?,
                path: s.required("path")?.into(),
                remove_jwt_after_reading: s.bool("remove_jwt_after_reading", true)?,
                remove_jwt_follows_symlinks: s.bool("remove_jwt_follows_symlinks", false)?,
                jwt_read_period: s.jwt_read_period()?,
                unknown_keys: self
                    .config
                    .keys()
                    .filter(|k| !JWT_KEYS.contains(&k.as_str()))
                    .map(|k| format!("auto_auth.method.config.{k}"))
                    .collect(),
            }),
            other => return Err(MethodConfigError::Unsupported(other.to_string())),
        })
    }
}

/// Reads one method's `config` map.
struct Settings<'a>(&'a Method);

fn invalid(key: &str, reason: impl Into<String>) -> MethodConfigError {
    MethodConfigError::Invalid {
        key: format!("auto_auth.method.config.{key}"),
        reason: reason.into(),
    }
}

impl Settings<'_> {
    fn required(&self, key: &str) -> Result<String, MethodConfigError> {
        match self.0.config.get(key) {
            None => Err(invalid(key, format!("missing '{key}' value"))),
            Some(v) => match v.as_str() {
                Some("") => Err(invalid(key, format!("'{key}' value is empty"))),
                Some(s) => Ok(s.to_string()),
                None => Err(invalid(key, format!("'{key}' must be a string"))),
            },
        }
    }

    /// A path setting; unset, empty or not a string means none.
    fn optional_path(&self, key: &str) -> Option<PathBuf> {
        self.0
            .config_str(key)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, MethodConfigError> {
        match self.0.config.get(key) {
            None => Ok(default),
            Some(v) => weak_bool_json(v)
                .map_err(|e| invalid(key, format!("error parsing '{key}' value: {e}"))),
        }
    }

    fn jwt_read_period(&self) -> Result<Option<Duration>, MethodConfigError> {
        match self.0.config.get("jwt_read_period") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => duration_second_json(v).map(Some).map_err(|reason| {
                invalid(
                    "jwt_read_period",
                    format!("invalid 'jwt_read_period': {reason}"),
                )
            }),
        }
    }

    fn cert_tls(&self) -> Result<Option<CertTlsConfig>, MethodConfigError> {
        let (ca_cert, client_cert, client_key) = (
            self.optional_path("ca_cert"),
            self.optional_path("client_cert"),
            self.optional_path("client_key"),
        );
        match (&client_cert, &client_key) {
            (Some(_), None) => {
                return Err(invalid(
                    "client_key",
                    "'client_cert' is set but 'client_key' is missing",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "client_cert",
                    "'client_key' is set but 'client_cert' is missing",
                ));
            }
            _ => {}
        }
        if ca_cert.is_none() && client_cert.is_none() {
            return Ok(None);
        }
        Ok(Some(CertTlsConfig {
            ca_cert,
            client_cert,
            client_key,
            reload: self.bool("reload", false)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn method(kind: &str, config: Value) -> Method {
        Method {
            kind: kind.into(),
            mount_path: format!("auth/{kind}"),
            namespace: String::new(),
            wrap_ttl: None,
            min_backoff: crate::DEFAULT_MIN_BACKOFF,
            max_backoff: crate::DEFAULT_MAX_BACKOFF,
            exit_on_err: false,
            config: config.as_object().cloned().unwrap_or_default(),
        }
    }

    fn key_of(e: MethodConfigError) -> String {
        match e {
            MethodConfigError::Invalid { key, .. } => key,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn kubernetes_defaults_and_required_role() {
        let c = method("kubernetes", json!({"role": "app"})).typed_config();
        assert_eq!(
            c,
            Ok(MethodConfig::Kubernetes(KubernetesConfig {
                role: "app".into(),
                token_path: DEFAULT_K8S_TOKEN_PATH.into(),
            }))
        );
        let e = method("kubernetes", json!({"role": ""}))
            .typed_config()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "auto_auth.method.config.role: 'role' value is empty"
        );
        let e = method("kubernetes", json!({"role": 3}))
            .typed_config()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "auto_auth.method.config.role: 'role' must be a string"
        );
    }

    #[test]
    fn approle_bools_follow_go() {
        let c = |v: Value| {
            method(
                "approle",
                json!({"role_id_file_path": "/r", "remove_secret_id_file_after_reading": v}),
            )
            .typed_config()
        };
        for (v, want) in [
            (json!("True"), true),
            (json!("FALSE"), false),
            (json!(0), false),
            (json!(true), true),
        ] {
            let Ok(MethodConfig::AppRole(a)) = c(v.clone()) else {
                panic!("{v}")
            };
            assert_eq!(a.remove_secret_id_file_after_reading, want, "{v}");
            assert_eq!(a.secret_id_file_path, None);
        }
        let e = c(json!("sometimes")).unwrap_err();
        assert!(e.to_string().contains("invalid syntax"), "{e}");
        assert_eq!(
            key_of(e),
            "auto_auth.method.config.remove_secret_id_file_after_reading"
        );
    }

    #[test]
    fn jwt_settings_and_unknown_keys() {
        let Ok(MethodConfig::Jwt(j)) = method(
            "jwt",
            json!({"role": "r", "path": "/j", "jwt_read_period": "2s", "colour": "blue"}),
        )
        .typed_config() else {
            panic!()
        };
        assert!(j.remove_jwt_after_reading && !j.remove_jwt_follows_symlinks);
        assert_eq!(j.jwt_read_period, Some(Duration::from_secs(2)));
        assert_eq!(j.unknown_keys, ["auto_auth.method.config.colour"]);
        let e = method("jwt", json!({"role": "r"}))
            .typed_config()
            .unwrap_err();
        assert_eq!(key_of(e), "auto_auth.method.config.path");
    }

    #[test]
    fn cert_tls_pairs() {
        assert_eq!(
            method("cert", json!({"name": "n"})).typed_config(),
            Ok(MethodConfig::Cert(CertConfig {
                name: Some("n".into()),
                tls: None
            }))
        );
        let e = method("cert", json!({"client_cert": "/c"}))
            .typed_config()
            .unwrap_err();
        assert_eq!(key_of(e), "auto_auth.method.config.client_key");
        let e = method("cert", json!({"client_key": "/k"}))
            .typed_config()
            .unwrap_err();
        assert_eq!(key_of(e), "auto_auth.method.config.client_cert");
        let Ok(MethodConfig::Cert(c)) =
            method("cert", json!({"ca_cert": "/ca", "reload": "t"})).typed_config()
        else {
            panic!()
        };
        assert_eq!(c.tls.map(|t| t.reload), Some(true));
    }

    #[test]
    fn other_methods_are_unsupported() {
        assert_eq!(
            method("aws", json!({})).typed_config(),
            Err(MethodConfigError::Unsupported("aws".into()))
        );
    }
}
