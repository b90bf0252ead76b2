//! What the persistent cache holds (the plaintext inside the sealed file): JSON, versioned
//! by the file header. Keys of secrets are the template engine's dependencies, so a restored
//! entry answers exactly the lookup a template makes.

use serde::{Deserialize, Serialize};
use vk_template::Dependency;

/// The whole cache: the auto-auth token and the leased secrets the templates fetched with it.
/// Not `Debug`: it holds the token and secret values.
#[derive(Serialize, Deserialize, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) token: TokenRecord,
    pub(crate) secrets: Vec<SecretRecord>,
}

/// The auto-auth token.
#[derive(Serialize, Deserialize, PartialEq)]
pub(crate) struct TokenRecord {
    pub(crate) token: String,
    pub(crate) accessor: String,
    /// TTL in seconds when obtained (0 = never expires); the restore asks Vault for the
    /// current one.
    pub(crate) ttl_secs: u64,
    pub(crate) renewable: bool,
}

/// One leased secret.
#[derive(Serialize, Deserialize, PartialEq)]
pub(crate) struct SecretRecord {
    pub(crate) dependency: DependencyRecord,
    /// Vault's response body as fetched (its `lease_duration` as of `lease_at`).
    pub(crate) body: String,
    pub(crate) lease_id: String,
    pub(crate) lease_duration_secs: u64,
    pub(crate) renewable: bool,
    /// Unix seconds when the lease had `lease_duration_secs` left (fetch or last renewal).
    pub(crate) lease_at: u64,
}

/// A template dependency (`vk_template::Dependency` has no serde; this mirrors it).
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum DependencyRecord {
    Read {
        path: String,
    },
    Write {
        path: String,
        data: Vec<(String, String)>,
    },
    List {
        path: String,
    },
    PkiCert {
        path: String,
        data: Vec<(String, String)>,
        destination: String,
    },
}

impl From<&Dependency> for DependencyRecord {
    fn from(d: &Dependency) -> Self {
        match d.clone() {
            Dependency::Read { path } => Self::Read { path },
            Dependency::Write { path, data } => Self::Write { path, data },
            Dependency::List { path } => Self::List { path },
            Dependency::PkiCert {
                path,
                data,
                destination,
            } => Self::PkiCert {
                path,
                data,
                destination,
            },
        }
    }
}

impl From<DependencyRecord> for Dependency {
    fn from(d: DependencyRecord) -> Self {
        match d {
            DependencyRecord::Read { path } => Self::Read { path },
            DependencyRecord::Write { path, data } => Self::Write { path, data },
            DependencyRecord::List { path } => Self::List { path },
            DependencyRecord::PkiCert {
                path,
                data,
                destination,
            } => Self::PkiCert {
                path,
                data,
                destination,
            },
        }
    }
}

/// The lease fields of a response body: `(lease_id, lease_duration, renewable)`.
pub(crate) fn lease_of(body: &str) -> Option<(String, u64, bool)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let id = v
        .get("lease_id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let auth = v.get("auth").filter(|a| !a.is_null());
    let (duration, renewable) = match auth {
        Some(a) if id.is_empty() => (
            a.get("lease_duration")
                .and_then(serde_json::Value::as_u64)?,
            a.get("renewable")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        ),
        _ => (
            v.get("lease_duration")
                .and_then(serde_json::Value::as_u64)?,
            v.get("renewable")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        ),
    };
    Some((id, duration, renewable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_round_trip() {
        let deps = [
            Dependency::Read {
                path: "database/creds/app".into(),
            },
            Dependency::Write {
                path: "auth/token/create".into(),
                data: vec![("ttl".into(), "1h".into())],
            },
            Dependency::List { path: "kv/".into() },
            Dependency::PkiCert {
                path: "pki/issue/x".into(),
                data: vec![("common_name".into(), "a".into())],
                destination: "/d".into(),
            },
        ];
        for d in deps {
            let json = serde_json::to_string(&DependencyRecord::from(&d)).unwrap();
            let back: DependencyRecord = serde_json::from_str(&json).unwrap();
            assert_eq!(Dependency::from(back), d);
        }
    }

    #[test]
    fn leases() {
        let db =
            r#"{"lease_id":"database/creds/app/x","lease_duration":6,"renewable":true,"data":{}}"#;
        assert_eq!(lease_of(db), Some(("database/creds/app/x".into(), 6, true)));
        let tok = r#"{"lease_id":"","lease_duration":0,"renewable":false,"auth":{"client_token":"t","lease_duration":60,"renewable":true}}"#;
        assert_eq!(lease_of(tok), Some((String::new(), 60, true)));
        assert_eq!(lease_of("x"), None);
    }
}
