//! Where the API server is and how to reach it, as `kubectl` finds it: `KUBECONFIG` (its files
//! merged), else `~/.kube/config` when it exists, else the in-cluster service account.

mod incluster;
mod kubeconfig;
mod tls;
mod token;

use std::path::{Path, PathBuf};

pub(crate) use incluster::InCluster;
pub(crate) use token::Auth;
pub use token::TokenFileError;

/// Why no client configuration could be loaded. Each names the file, variable or key to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a kubeconfig YAML document", path.display())]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{}: {key} is not supported by vault-k8s's Kubernetes client; {hint}", path.display())]
    Unsupported {
        path: PathBuf,
        key: String,
        hint: &'static str,
    },
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    #[error("in-cluster configuration: {problem}")]
    InCluster { problem: String },
    #[error("{what}: {problem}")]
    Tls { what: String, problem: String },
}

/// A resolved configuration: the server, the TLS settings and the credentials.
pub(crate) struct ClusterConfig {
    /// `scheme://host[:port][/prefix]`, without a trailing `/`.
    pub(crate) server: String,
    pub(crate) tls: rustls::ClientConfig,
    pub(crate) auth: Auth,
}

/// The configuration `kubectl` would use, from the process environment.
pub(crate) fn infer() -> Result<ClusterConfig, ConfigError> {
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return kubeconfig::load(&paths);
        }
    }
    if let Some(home) = std::env::home_dir() {
        let path = home.join(".kube").join("config");
        if path.is_file() {
            return kubeconfig::load(&[path]);
        }
    }
    InCluster::from_env().load()
}

/// The configuration of one kubeconfig file's current context.
pub(crate) fn from_kubeconfig(path: &Path) -> Result<ClusterConfig, ConfigError> {
    kubeconfig::load(&[path.to_owned()])
}
