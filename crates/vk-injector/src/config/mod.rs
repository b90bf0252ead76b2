//! `agent-inject` configuration: flags (Go syntax) → environment overlay → validation, in the
//! order of spec §1.5, producing an [`InjectorConfig`] before anything is bound.

mod auto_tls;
mod flags;
mod flags_doc;
mod goflag;
mod goparse;

use std::path::PathBuf;

use vk_inject::{AgentCommandStyle, InjectorSettings};
use vk_server::{CertFiles, TlsConfigError, TlsMinVersion, TlsSettings};
use vk_telemetry::{LogFormat, LogLevel, UnknownLogLevel};

pub use auto_tls::{
    AutoTlsConfig, AutoTlsConfigError, ENV_LEASE_DURATION, ENV_RENEW_DEADLINE, ENV_RETRY_PERIOD,
    ENV_TEST_CA_LIFETIME, ENV_TEST_LEAF_LIFETIME, LeaderConfig,
};
pub use flags::{
    ENV_LEASE_RENEWAL_THRESHOLD, ENV_MAX_CONNECTIONS_PER_HOST, Flag, FlagKind, INJECT_FLAGS,
    RENDER_FLAGS,
};
pub use flags_doc::flags_markdown_table;
pub use goflag::{FlagError, FlagValues, parse_go_flags};
pub use goparse::{GoParseError, check_duration, parse_bool, parse_float, parse_int};

/// What the configuration is for: serving needs TLS material, the offline preview does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Serve,
    Render,
}

/// Validated `agent-inject` configuration.
#[derive(Debug, Clone)]
pub struct InjectorConfig {
    /// Defaults handed to the mutation engine.
    pub settings: InjectorSettings,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    /// `-listen`, as given (Go `:PORT` form allowed).
    pub listen: String,
    /// `-telemetry-path`; `None` when metrics are not served.
    pub telemetry_path: Option<String>,
    /// Serving TLS; `Some` when validated for [`Purpose::Serve`].
    pub tls: Option<ServerTls>,
    /// Accepted-but-ignored settings, to be logged once logging is up.
    pub warnings: Vec<String>,
}

/// Where the serving certificate comes from and the protocol parameters of the listener.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub source: TlsSource,
    pub settings: TlsSettings,
}

/// The certificate source (spec §5.4.1): files when `-tls-cert-file` is set, else generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    Files(CertFiles),
    Auto(AutoTlsConfig),
}

/// Start-up configuration errors. Printed as a chain (`outer: cause`) they read exactly as
/// upstream's messages where upstream has one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Error parsing environment variables")]
    Env(#[source] GoParseError),
    #[error("No Vault service configured")]
    NoVaultAddress,
    #[error("Invalid default flag type: {0}")]
    DefaultTemplate(String),
    #[error("Error setting log level")]
    LogLevel(#[source] UnknownLogLevel),
    #[error("Invalid automatic TLS configuration")]
    AutoTls(#[source] AutoTlsConfigError),
    #[error("-tls-key-file (AGENT_INJECT_TLS_KEY_FILE) is required when -tls-cert-file is set")]
    MissingKeyFile,
    #[error("Failed to configure TLS")]
    Tls(#[source] TlsConfigError),
    #[error(
        "-agent-otel-forward is set, but neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is: there is nothing to pass on to the agents"
    )]
    AgentOtelForwardWithoutEndpoint,
    #[error("-telemetry-path {0:?} must start with \"/\" and must not be /mutate or /health/ready")]
    TelemetryPath(String),
    #[error(
        "-agent-command-style (AGENT_INJECT_AGENT_COMMAND_STYLE) must be auto, native or shell, not {0:?}"
    )]
    AgentCommandStyle(String),
}

// === InjectorConfig ===

impl InjectorConfig {
    /// Apply the environment (via `env`, never the process environment directly, so tests can
    /// feed a map) to parsed flag values and validate, in upstream's order.
    pub fn resolve(
        mut values: FlagValues,
        env: &dyn Fn(&str) -> Option<String>,
        purpose: Purpose,
    ) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        // Step 2: environment overrides; a non-empty value wins.
        for flag in INJECT_FLAGS {
            let Some(value) = flag
                .env
                .iter()
                .filter_map(|name| env(name))
                .find(|v| !v.is_empty())
            else {
                continue;
            };
            match flag.kind {
                FlagKind::Bool => values.set(
                    flag.name,
                    parse_bool(&value).map_err(ConfigError::Env)?.to_string(),
                ),
                FlagKind::String => values.set(flag.name, value),
            }
        }
        for name in ["auth-min-backoff", "auth-max-backoff"] {
            let v = values.get(name);
            if !v.is_empty() {
                check_duration(v).map_err(ConfigError::Env)?;
            }
        }
        let max_connections = parse_int(&env(ENV_MAX_CONNECTIONS_PER_HOST).unwrap_or_default())
            .map_err(ConfigError::Env)?;
        let lease_threshold = env(ENV_LEASE_RENEWAL_THRESHOLD).unwrap_or_default();
        parse_float(&lease_threshold).map_err(ConfigError::Env)?;
        if !lease_threshold.is_empty() {
            warnings.push(format!(
                "{ENV_LEASE_RENEWAL_THRESHOLD}={lease_threshold} is accepted but has no effect (upstream never applies it)"
            ));
        }

        // Steps 3 and 4.
        if values.get("vault-address").is_empty() {
            return Err(ConfigError::NoVaultAddress);
        }
        let default_template = values.get("default-template");
        if default_template != "map" && default_template != "json" {
            return Err(ConfigError::DefaultTemplate(default_template.to_owned()));
        }
        // Step 5 (Kubernetes client) happens in the binary, after validation, and only in auto
        // mode: with file certificates nothing needs the API server.
        // Step 6.
        let log_level = LogLevel::parse(values.get("log-level")).map_err(ConfigError::LogLevel)?;
        let log_format = LogFormat::parse(values.get("log-format"));

        let agent_command_style = AgentCommandStyle::parse(values.get("agent-command-style"))
            .map_err(|e| ConfigError::AgentCommandStyle(e.0))?;

        let telemetry_path = match values.get("telemetry-path") {
            "" => None,
            p if !p.starts_with('/') || p == "/mutate" || p == "/health/ready" => {
                return Err(ConfigError::TelemetryPath(p.to_owned()));
            }
            p => Some(p.to_owned()),
        };

        let otel_env = agent_otel_env(env);
        let has_endpoint = otel_env.iter().any(|(name, _)| name.contains("ENDPOINT"));
        if values.get_bool("agent-otel-forward") && !has_endpoint {
            return Err(ConfigError::AgentOtelForwardWithoutEndpoint);
        }

        let tls = match purpose {
            Purpose::Render => None,
            Purpose::Serve => Some(server_tls(&values, env, &mut warnings)?),
        };

        Ok(Self {
            settings: InjectorSettings {
                agent_otel_env: otel_env,
                ..settings_from(&values, max_connections, agent_command_style)
            },
            log_level,
            log_format,
            listen: values.get("listen").to_owned(),
            telemetry_path,
            tls,
            warnings,
        })
    }
}

fn server_tls(
    values: &FlagValues,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<ServerTls, ConfigError> {
    // Step 9: certificate source.
    let cert = values.get("tls-cert-file");
    let source = if cert.is_empty() {
        if !values.get("tls-key-file").is_empty() {
            warnings.push("-tls-key-file is set without -tls-cert-file; generating certificates (auto mode) and ignoring it".to_owned());
        }
        if !values.get("tls-ca-cert-file").is_empty() {
            warnings
                .push("-tls-ca-cert-file is only used with -tls-cert-file; ignoring it".to_owned());
        }
        TlsSource::Auto(
            AutoTlsConfig::resolve(
                values.get("tls-auto"),
                values.get("tls-auto-hosts"),
                values.get_bool("use-leader-elector"),
                env,
            )
            .map_err(ConfigError::AutoTls)?,
        )
    } else {
        let key = values.get("tls-key-file");
        if key.is_empty() {
            return Err(ConfigError::MissingKeyFile);
        }
        if !values.get("tls-auto").is_empty() {
            warnings.push("-tls-auto is ignored with -tls-cert-file: publishing a CA from -tls-ca-cert-file to the webhook configuration is not implemented; set the caBundle yourself (or let cert-manager's CA injector do it)".to_owned());
        }
        if !values.get("tls-ca-cert-file").is_empty() {
            warnings.push("-tls-ca-cert-file is not published with -tls-cert-file (not implemented); ignoring it".to_owned());
        }
        if !values.get("tls-auto-hosts").is_empty() {
            warnings.push(
                "-tls-auto-hosts is only used for self-generated certificates; ignoring it"
                    .to_owned(),
            );
        }
        if values.get_bool("use-leader-elector") {
            warnings.push(
                "-use-leader-elector only coordinates self-generated certificates; ignored with -tls-cert-file".to_owned(),
            );
        }
        TlsSource::Files(CertFiles {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        })
    };
    // Step 11: TLS parameters.
    let min_version =
        TlsMinVersion::parse(values.get("tls-min-version")).map_err(ConfigError::Tls)?;
    if min_version.is_raised_to_tls12() {
        warnings.push(format!(
            "-tls-min-version={} requested; TLS 1.0 and 1.1 are not implemented, serving TLS 1.2 and 1.3",
            values.get("tls-min-version")
        ));
    }
    let tls12_suites = vk_server::parse_cipher_suites(values.get("tls-cipher-suites"))
        .map_err(ConfigError::Tls)?;
    Ok(ServerTls {
        source,
        settings: TlsSettings {
            min_version,
            tls12_suites,
        },
    })
}

fn settings_from(
    values: &FlagValues,
    max_connections_per_host: i64,
    agent_command_style: AgentCommandStyle,
) -> InjectorSettings {
    let get = |name: &str| values.get(name).to_owned();
    InjectorSettings {
        vault_address: get("vault-address"),
        vault_image: get("vault-image"),
        agent_command_style,
        proxy_address: get("proxy-address"),
        vault_auth_type: get("vault-auth-type"),
        vault_auth_path: get("vault-auth-path"),
        vault_namespace: get("vault-namespace"),
        vault_cacert_bytes: get("vault-cacert-bytes"),
        revoke_on_shutdown: values.get_bool("revoke-on-shutdown"),
        run_as_user: get("run-as-user"),
        run_as_group: get("run-as-group"),
        run_as_same_user: values.get_bool("run-as-same-user"),
        set_security_context: values.get_bool("set-security-context"),
        default_template: get("default-template"),
        cpu_request: get("cpu-request"),
        memory_request: get("memory-request"),
        ephemeral_request: get("ephemeral-storage-request"),
        cpu_limit: get("cpu-limit"),
        memory_limit: get("memory-limit"),
        ephemeral_limit: get("ephemeral-storage-limit"),
        auth_min_backoff: get("auth-min-backoff"),
        auth_max_backoff: get("auth-max-backoff"),
        disable_idle_connections: get("disable-idle-connections"),
        disable_keep_alives: get("disable-keep-alives"),
        exit_on_retry_failure: values.get_bool("template-config-exit-on-retry-failure"),
        static_secret_render_interval: get("template-static-secret-render-interval"),
        max_connections_per_host,
        agent_otel_forward: values.get_bool("agent-otel-forward"),
        agent_otel_env: Vec::new(),
    }
}

/// The injector's OpenTelemetry variables that `-agent-otel-forward` passes on to agents: all
/// the supported ones that are set, except the service name (agents name themselves) and the
/// headers (credentials do not belong in a pod spec).
fn agent_otel_env(env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    vk_telemetry::OTEL_VARIABLES
        .iter()
        .filter(|name| **name != "OTEL_SERVICE_NAME" && !name.ends_with("_HEADERS"))
        .filter_map(|name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| ((*name).to_owned(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests;
