//! `agent-inject` configuration: flags (Go syntax) → environment overlay → validation, in the
//! order of spec §1.5, producing an [`InjectorConfig`] before anything is bound.

mod auto_tls;
mod flags;
mod flags_doc;
mod goparse;

use std::path::PathBuf;

use vk_go::flag::FlagSet as _;
use vk_inject::{AgentCommandStyle, InjectorSettings};
use vk_server::{CertFiles, TlsConfigError, TlsMinVersion, TlsSettings};
use vk_telemetry::{LogFormat, LogLevel, UnknownLogLevel};

pub use auto_tls::{
    AutoTlsConfig, AutoTlsConfigError, ENV_LEASE_DURATION, ENV_RENEW_DEADLINE, ENV_RETRY_PERIOD,
    ENV_TEST_CA_LIFETIME, ENV_TEST_LEAF_LIFETIME, LeaderConfig,
};
pub use flags::{
    ENV_LEASE_RENEWAL_THRESHOLD, ENV_MAX_CONNECTIONS_PER_HOST, INJECT_FLAGS, InjectFlags,
    RENDER_FLAGS, RenderFlags, parse_inject_flags, parse_render_flags,
};
pub use flags_doc::flags_markdown_table;
pub use goparse::{GoParseError, check_duration, parse_bool, parse_float, parse_int};
pub use vk_go::flag::{FlagError, FlagKind, FlagSpec};

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
    #[error(
        "-restricted-profile (AGENT_INJECT_RESTRICTED_PROFILE) must be auto, true or false, not {0:?}"
    )]
    RestrictedProfile(String),
    #[error(
        "-secret-volume-size-limit (AGENT_INJECT_SECRET_VOLUME_SIZE_LIMIT) {0:?} is not a Kubernetes quantity"
    )]
    SecretVolumeSizeLimit(String, #[source] vk_inject::quantity::QuantityError),
}

// === InjectorConfig ===

impl InjectorConfig {
    /// Apply the environment (via `env`, never the process environment directly, so tests can
    /// feed a map) to parsed flag values and validate, in upstream's order.
    pub fn resolve(
        mut values: InjectFlags,
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
            // envconfig reads bools with parseutil (an empty value is false), not the flag rules.
            let value = match flag.kind {
                FlagKind::Bool => parse_bool(&value).map_err(ConfigError::Env)?.to_string(),
                _ => value,
            };
            // Every flag of the table is a string or a bool, so setting the normalized text
            // cannot fail, and the name comes from the same table the struct was made from.
            let _always_set = values.set_flag(flag.name, &value);
        }
        for v in [&values.auth_min_backoff, &values.auth_max_backoff] {
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
        if values.vault_address.is_empty() {
            return Err(ConfigError::NoVaultAddress);
        }
        let default_template = values.default_template.as_str();
        if default_template != "map" && default_template != "json" {
            return Err(ConfigError::DefaultTemplate(default_template.to_owned()));
        }
        // Step 5 (Kubernetes client) happens in the binary, after validation, and only in auto
        // mode: with file certificates nothing needs the API server.
        // Step 6.
        let log_level = LogLevel::parse(&values.log_level).map_err(ConfigError::LogLevel)?;
        let log_format = LogFormat::parse(&values.log_format);

        let agent_command_style = AgentCommandStyle::parse(&values.agent_command_style)
            .map_err(|e| ConfigError::AgentCommandStyle(e.0))?;
        let restricted_profile = match values.restricted_profile.as_str() {
            "auto" => None,
            other => Some(
                vk_go::parse_bool(other)
                    .map_err(|_| ConfigError::RestrictedProfile(other.to_owned()))?,
            ),
        };
        let size_limit = values.secret_volume_size_limit.as_str();
        if !size_limit.is_empty() {
            vk_inject::quantity::canonical_quantity(size_limit)
                .map_err(|e| ConfigError::SecretVolumeSizeLimit(size_limit.to_owned(), e))?;
        }

        let telemetry_path = match values.telemetry_path.as_str() {
            "" => None,
            p if !p.starts_with('/') || p == "/mutate" || p == "/health/ready" => {
                return Err(ConfigError::TelemetryPath(p.to_owned()));
            }
            p => Some(p.to_owned()),
        };

        let otel_env = agent_otel_env(env);
        let has_endpoint = otel_env.iter().any(|(name, _)| name.contains("ENDPOINT"));
        if values.agent_otel_forward && !has_endpoint {
            return Err(ConfigError::AgentOtelForwardWithoutEndpoint);
        }

        let tls = match purpose {
            Purpose::Render => None,
            Purpose::Serve => Some(server_tls(&values, env, &mut warnings)?),
        };

        Ok(Self {
            settings: InjectorSettings {
                restricted_profile,
                agent_otel_env: otel_env,
                ..settings_from(&values, max_connections, agent_command_style)
            },
            log_level,
            log_format,
            listen: values.listen.clone(),
            telemetry_path,
            tls,
            warnings,
        })
    }
}

fn server_tls(
    values: &InjectFlags,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<ServerTls, ConfigError> {
    // Step 9: certificate source.
    let cert = values.tls_cert_file.as_str();
    let source = if cert.is_empty() {
        if !values.tls_key_file.is_empty() {
            warnings.push("-tls-key-file is set without -tls-cert-file; generating certificates (auto mode) and ignoring it".to_owned());
        }
        if !values.tls_ca_cert_file.is_empty() {
            warnings
                .push("-tls-ca-cert-file is only used with -tls-cert-file; ignoring it".to_owned());
        }
        TlsSource::Auto(
            AutoTlsConfig::resolve(
                &values.tls_auto,
                &values.tls_auto_hosts,
                values.use_leader_elector,
                env,
            )
            .map_err(ConfigError::AutoTls)?,
        )
    } else {
        let key = values.tls_key_file.as_str();
        if key.is_empty() {
            return Err(ConfigError::MissingKeyFile);
        }
        if !values.tls_auto.is_empty() {
            warnings.push("-tls-auto is ignored with -tls-cert-file: publishing a CA from -tls-ca-cert-file to the webhook configuration is not implemented; set the caBundle yourself (or let cert-manager's CA injector do it)".to_owned());
        }
        if !values.tls_ca_cert_file.is_empty() {
            warnings.push("-tls-ca-cert-file is not published with -tls-cert-file (not implemented); ignoring it".to_owned());
        }
        if !values.tls_auto_hosts.is_empty() {
            warnings.push(
                "-tls-auto-hosts is only used for self-generated certificates; ignoring it"
                    .to_owned(),
            );
        }
        if values.use_leader_elector {
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
    let min_version = TlsMinVersion::parse(&values.tls_min_version).map_err(ConfigError::Tls)?;
    if min_version.is_raised_to_tls12() {
        warnings.push(format!(
            "-tls-min-version={} requested; TLS 1.0 and 1.1 are not implemented, serving TLS 1.2 and 1.3",
            values.tls_min_version
        ));
    }
    let tls12_suites =
        vk_server::parse_cipher_suites(&values.tls_cipher_suites).map_err(ConfigError::Tls)?;
    Ok(ServerTls {
        source,
        settings: TlsSettings {
            min_version,
            tls12_suites,
        },
    })
}

fn settings_from(
    values: &InjectFlags,
    max_connections_per_host: i64,
    agent_command_style: AgentCommandStyle,
) -> InjectorSettings {
    InjectorSettings {
        vault_address: values.vault_address.clone(),
        vault_image: values.vault_image.clone(),
        agent_command_style,
        proxy_address: values.proxy_address.clone(),
        vault_auth_type: values.vault_auth_type.clone(),
        vault_auth_path: values.vault_auth_path.clone(),
        vault_namespace: values.vault_namespace.clone(),
        vault_cacert_bytes: values.vault_cacert_bytes.clone(),
        revoke_on_shutdown: values.revoke_on_shutdown,
        run_as_user: values.run_as_user.clone(),
        run_as_group: values.run_as_group.clone(),
        run_as_same_user: values.run_as_same_user,
        set_security_context: values.set_security_context,
        default_template: values.default_template.clone(),
        cpu_request: values.cpu_request.clone(),
        memory_request: values.memory_request.clone(),
        ephemeral_request: values.ephemeral_storage_request.clone(),
        cpu_limit: values.cpu_limit.clone(),
        memory_limit: values.memory_limit.clone(),
        ephemeral_limit: values.ephemeral_storage_limit.clone(),
        auth_min_backoff: values.auth_min_backoff.clone(),
        auth_max_backoff: values.auth_max_backoff.clone(),
        disable_idle_connections: values.disable_idle_connections.clone(),
        disable_keep_alives: values.disable_keep_alives.clone(),
        exit_on_retry_failure: values.template_config_exit_on_retry_failure,
        agent_metrics: values.agent_metrics,
        static_secret_render_interval: values.template_static_secret_render_interval.clone(),
        max_connections_per_host,
        credential_handoff: values.agent_credential_handoff,
        native_sidecar: values.native_sidecar,
        deny_template_errors: values.deny_template_errors,
        restricted_profile: None,
        secret_volume_size_limit: values.secret_volume_size_limit.clone(),
        agent_otel_forward: values.agent_otel_forward,
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
