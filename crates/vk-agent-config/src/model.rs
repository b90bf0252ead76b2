//! The typed configuration (spec §1.2–§1.7), with upstream's defaults already applied.

use std::time::Duration;

use serde_json::{Map, Value};

/// Default Vault address when neither the file nor `VAULT_ADDR` gives one.
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";
/// consul-template's default number of per-request retries (`num_retries = 0` means this).
pub const DEFAULT_RETRIES: u32 = 12;

/// A whole agent configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub vault: Vault,
    pub auto_auth: Option<AutoAuth>,
    pub templates: Vec<Template>,
    pub template_config: TemplateConfig,
    pub exit_after_auth: bool,
    pub pid_file: String,
    pub listeners: Vec<Listener>,
    pub cache: Option<Cache>,
    pub api_proxy: Option<ApiProxy>,
    /// The `telemetry` stanza as written (the agent only reads a few keys).
    pub telemetry: Option<Map<String, Value>>,
    pub disable_idle_connections: Vec<String>,
    pub disable_keep_alives: Vec<String>,
}

/// `vault { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vault {
    pub address: String,
    pub ca_cert: String,
    pub ca_path: String,
    pub client_cert: String,
    pub client_key: String,
    pub tls_skip_verify: bool,
    pub tls_server_name: String,
    pub namespace: String,
    /// Effective retry attempts: `num_retries = 0` (or absent) → 12, `-1` → 0.
    pub num_retries: u32,
}

impl Default for Vault {
    fn default() -> Self {
        Self {
            address: DEFAULT_ADDRESS.to_owned(),
            ca_cert: String::new(),
            ca_path: String::new(),
            client_cert: String::new(),
            client_key: String::new(),
            tls_skip_verify: false,
            tls_server_name: String::new(),
            namespace: String::new(),
            num_retries: DEFAULT_RETRIES,
        }
    }
}

/// `auto_auth { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoAuth {
    pub method: Method,
    pub sinks: Vec<Sink>,
    /// `enable_reauth_on_new_credentials` (default false).
    pub enable_reauth_on_new_credentials: bool,
}

/// `auto_auth.method`.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// `type`, or the lower-cased block label.
    pub kind: String,
    /// Defaults to `auth/<type>`; trailing `/` removed.
    pub mount_path: String,
    /// Canonical form: empty, or ending in `/`.
    pub namespace: String,
    pub wrap_ttl: Option<Duration>,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub exit_on_err: bool,
    /// Method-specific settings (spec §2), as written.
    pub config: Map<String, Value>,
}

/// Defaults of the auth retry backoff.
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Method {
    /// A string setting of `config` (`None` when absent or not a string).
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config.get(key).and_then(Value::as_str)
    }
}

/// `auto_auth.sink`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    pub kind: String,
    pub wrap_ttl: Option<Duration>,
    pub dh_type: String,
    pub dh_path: String,
    pub derive_key: bool,
    pub aad: String,
    pub aad_env_var: String,
    /// `config.path` (required for `file`).
    pub path: String,
    /// `config.mode`, default 0640.
    pub mode: u32,
    /// The whole `config` object as written.
    pub config: Map<String, Value>,
}

/// Default file sink mode.
pub const DEFAULT_SINK_MODE: u32 = 0o640;

/// One `template { }` (consul-template `TemplateConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub source: Option<String>,
    pub contents: Option<String>,
    pub destination: String,
    pub create_dest_dirs: bool,
    /// File mode bits; `None` = keep the existing mode, else 0644.
    pub perms: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub uid: Option<i64>,
    pub gid: Option<i64>,
    pub backup: bool,
    /// `command`, a string split on commas or a list.
    pub command: Vec<String>,
    pub command_timeout: Duration,
    pub exec: Option<Exec>,
    pub error_on_missing_key: bool,
    pub error_fatal: bool,
    pub left_delimiter: String,
    pub right_delimiter: String,
    pub wait: Option<Wait>,
    pub function_denylist: Vec<String>,
    pub sandbox_path: String,
}

/// Default command timeout (`command_timeout`, `exec.timeout`).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Template {
    fn default() -> Self {
        Self {
            source: None,
            contents: None,
            destination: String::new(),
            create_dest_dirs: true,
            perms: None,
            user: None,
            group: None,
            uid: None,
            gid: None,
            backup: false,
            command: Vec::new(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            exec: None,
            error_on_missing_key: false,
            error_fatal: true,
            left_delimiter: "{{".to_owned(),
            right_delimiter: "}}".to_owned(),
            wait: None,
            function_denylist: Vec::new(),
            sandbox_path: String::new(),
        }
    }
}

/// `template.exec { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exec {
    pub command: Vec<String>,
    pub timeout: Duration,
}

/// `template.wait`: quiescence timer (`max` defaults to 4 × `min`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub min: Duration,
    pub max: Duration,
}

/// `template_config { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateConfig {
    pub exit_on_retry_failure: bool,
    pub static_secret_render_interval: Duration,
    pub max_connections_per_host: i64,
    pub lease_renewal_threshold: f64,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        Self {
            exit_on_retry_failure: false,
            static_secret_render_interval: Duration::from_secs(300),
            max_connections_per_host: 10,
            lease_renewal_threshold: 0.9,
        }
    }
}

/// `listener "<type>" { }` (only what the agent API needs is typed).
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub kind: String,
    pub address: String,
    pub tls_disable: bool,
    /// `agent_api { enable_quit }`.
    pub enable_quit: bool,
    pub require_request_header: bool,
    pub role: String,
    /// The stanza as written.
    pub raw: Map<String, Value>,
}

/// `use_auto_auth_token`: `true`, `false` or `"force"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoAuthToken {
    #[default]
    No,
    Yes,
    Force,
}

/// `cache { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub use_auto_auth_token: Option<AutoAuthToken>,
    pub persist: Option<Persist>,
    pub raw: Map<String, Value>,
}

/// `cache.persist`.
#[derive(Debug, Clone, PartialEq)]
pub struct Persist {
    pub kind: String,
    pub path: String,
    pub keep_after_import: bool,
    pub exit_on_err: bool,
    pub service_account_token_file: String,
}

/// `api_proxy { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiProxy {
    pub use_auto_auth_token: Option<AutoAuthToken>,
    pub raw: Map<String, Value>,
}
