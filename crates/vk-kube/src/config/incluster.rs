//! The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` and the
//! service account's `token` and `ca.crt`, the token re-read as it rotates.

use std::path::PathBuf;
use std::time::Duration;

use super::tls::{Pem, TlsInputs};
use super::token::{Auth, TOKEN_REFRESH, TokenFile};
use super::{ClusterConfig, ConfigError};

/// Where the kubelet mounts the service account's credentials.
pub(crate) const SERVICE_ACCOUNT_ROOT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The inputs of the in-cluster configuration (injectable for tests).
pub(crate) struct InCluster {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<String>,
    pub(crate) root: PathBuf,
    pub(crate) token_refresh: Duration,
}

impl InCluster {
    pub(crate) fn from_env() -> Self {
        Self {
            host: std::env::var("KUBERNETES_SERVICE_HOST").ok(),
            port: std::env::var("KUBERNETES_SERVICE_PORT").ok(),
            root: PathBuf::from(SERVICE_ACCOUNT_ROOT),
            token_refresh: TOKEN_REFRESH,
        }
    }

    pub(crate) fn load(self) -> Result<ClusterConfig, ConfigError> {
        let missing = |name: &str| ConfigError::InCluster {
            problem: format!(
                "{name} is not set: not running in a Kubernetes pod, and neither KUBECONFIG nor ~/.kube/config names a kubeconfig"
            ),
        };
        let host = self
            .host
            .filter(|h| !h.is_empty())
            .ok_or_else(|| missing("KUBERNETES_SERVICE_HOST"))?;
        let port = self
            .port
            .filter(|p| !p.is_empty())
            .ok_or_else(|| missing("KUBERNETES_SERVICE_PORT"))?;
        let port: u16 = port.parse().map_err(|_| ConfigError::InCluster {
            problem: format!("KUBERNETES_SERVICE_PORT={port:?} is not a port number"),
        })?;
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host
        };
        let ca_path = self.root.join("ca.crt");
        let ca = std::fs::read(&ca_path).map_err(|source| ConfigError::Read {
            path: ca_path.clone(),
            source,
        })?;
        let tls = TlsInputs {
            ca: Some(Pem {
                bytes: ca,
                origin: ca_path.display().to_string(),
            }),
            ..TlsInputs::default()
        }
        .build()?;
        let token = TokenFile::new(self.root.join("token"), self.token_refresh);
        token.check().map_err(|e| ConfigError::InCluster {
            problem: e.to_string(),
        })?;
        Ok(ClusterConfig {
            server: format!("https://{host}:{port}"),
            tls,
            auth: Auth::File(token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("testdata/ca.pem");

    fn service_account(token: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.crt"), CA).expect("ca");
        std::fs::write(dir.path().join("token"), token).expect("token");
        std::fs::write(dir.path().join("namespace"), "vault").expect("namespace");
        dir
    }

    fn in_cluster(host: &str, port: &str, dir: &tempfile::TempDir) -> InCluster {
        InCluster {
            host: Some(host.to_owned()),
            port: Some(port.to_owned()),
            root: dir.path().to_owned(),
            token_refresh: Duration::ZERO,
        }
    }

    fn bearer(config: &ClusterConfig) -> String {
        let value = config.auth.header().expect("token").expect("some");
        value.to_str().expect("ascii").to_owned()
    }

    #[test]
    fn the_service_account_gives_server_ca_and_a_rotating_token() {
        let dir = service_account("first\n");
        let config = in_cluster("10.96.0.1", "443", &dir).load().expect("config");
        assert_eq!(config.server, "https://10.96.0.1:443");
        assert_eq!(bearer(&config), "Bearer first");
        std::fs::write(dir.path().join("token"), "rotated").expect("rotate");
        assert_eq!(bearer(&config), "Bearer rotated");
    }

    #[test]
    fn an_ipv6_service_host_is_bracketed() {
        let dir = service_account("t");
        let config = in_cluster("fd00::1", "6443", &dir).load().expect("config");
        assert_eq!(config.server, "https://[fd00::1]:6443");
    }

    #[test]
    fn missing_variables_and_files_name_what_is_missing() {
        let dir = service_account("t");
        let mut unset = in_cluster("h", "443", &dir);
        unset.host = None;
        let err = unset.load().err().expect("no host").to_string();
        assert!(err.contains("KUBERNETES_SERVICE_HOST is not set"), "{err}");
        let err = in_cluster("h", "https", &dir)
            .load()
            .err()
            .expect("bad port");
        assert!(
            err.to_string()
                .contains("KUBERNETES_SERVICE_PORT=\"https\""),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("token")).expect("rm");
        let err = in_cluster("h", "443", &dir).load().err().expect("no token");
        assert!(err.to_string().contains("token"), "{err}");
        std::fs::remove_file(dir.path().join("ca.crt")).expect("rm");
        let err = in_cluster("h", "443", &dir).load().err().expect("no ca");
        assert!(err.to_string().contains("ca.crt"), "{err}");
    }
}
