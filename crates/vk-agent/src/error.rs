//! The agent's error type: every variant names what it was doing (file, key, template).

use std::path::PathBuf;

use vk_vault_client::VaultError;

/// Why the agent stopped (the process exits non-zero with this message).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The command line could not be understood.
    #[error("usage: {0}")]
    Usage(String),
    /// A flag Go's `flag` package would reject (the message is Go's).
    #[error("usage: {0}")]
    Flags(vk_go::flag::FlagError),
    /// Neither `-config` nor `VAULT_CONFIG` was given.
    #[error("no configuration: pass -config=FILE or set VAULT_CONFIG")]
    NoConfig,
    /// The configuration file could not be read.
    #[error("reading configuration file {path}")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The configuration is invalid (the message names the key and the file).
    #[error("invalid configuration")]
    Config(#[source] vk_agent_config::ConfigError),
    /// A setting the agent needs is missing or not supported.
    #[error("error parsing '{key}' in {file}: {reason}")]
    Setting {
        key: String,
        file: String,
        reason: String,
    },
    /// A listener could not be opened (address in use, socket path, TLS files).
    #[error("opening listener {address}: {what}")]
    Listen {
        address: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A setting Vault Agent honours that vault-k8s agent does not implement.
    #[error(
        "{key} in {file}: {what} is not supported by vault-k8s agent; {}",
        crate::support::USE_UPSTREAM
    )]
    Unsupported {
        key: String,
        file: String,
        what: String,
    },
    /// `sys/wrapping/wrap` answered without wrap information.
    #[error("auto_auth.sink.wrap_ttl: Vault answered the wrap request without a wrapping token")]
    WrapInfo,
    /// The Vault client could not be built (address, TLS files of the `vault` stanza).
    #[error("building the Vault client from the 'vault' settings of {file}")]
    Client {
        file: String,
        #[source]
        source: VaultError,
    },
    /// Authentication failed and `exit_on_err` is set.
    #[error("auto-auth ({method}) failed")]
    Auth {
        method: String,
        #[source]
        source: Box<AgentError>,
    },
    /// A Vault call failed.
    #[error("{what}")]
    Vault {
        what: String,
        #[source]
        source: VaultError,
    },
    /// A credential file (token, JWT, role id) could not be read.
    #[error("reading credential file {path}")]
    Credential {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A credential file was empty.
    #[error("credential file {path} is empty")]
    EmptyCredential { path: PathBuf },
    /// A file (sink, destination, pid file) could not be written.
    #[error("writing {what} {path}")]
    Write {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A template's `source` file could not be read (`key` is e.g. `template[0].source`).
    #[error("reading template source {path} ('{key}' in {file})")]
    TemplateSource {
        path: PathBuf,
        key: String,
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A template failed to parse or execute, or a dependency could not be fetched
    /// (the text is the agent's, e.g. `vault.read(secret/data/x): no secret exists at …`).
    #[error("template server: {0}")]
    Template(String),
    /// A template `command` failed.
    #[error("template server: command {command:?}: {reason}")]
    Command { command: String, reason: String },
    /// The persistent cache could not be restored and `cache.persist.exit_on_err` is set.
    #[error("persistent cache {path}: {reason} (cache.persist.exit_on_err is true)")]
    Persist { path: PathBuf, reason: String },
    /// The tokio runtime or a signal handler could not be set up.
    #[error("setting up the runtime")]
    Runtime(#[source] std::io::Error),
}
