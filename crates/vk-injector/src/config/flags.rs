//! The one table of `agent-inject` flags: name, kind, default, environment variables, usage.
//! Parsing, environment overlay, help text and docs/configuration.md (through `flags_doc`) all follow this table.

/// Go `flag` kinds used by upstream (there are no numeric flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    String,
    Bool,
}

/// One command-line flag.
#[derive(Debug)]
pub struct Flag {
    pub name: &'static str,
    pub kind: FlagKind,
    pub default: &'static str,
    /// Environment variables consulted after the flags, first non-empty wins.
    pub env: &'static [&'static str],
    pub usage: &'static str,
}

const fn s(
    name: &'static str,
    default: &'static str,
    env: &'static [&'static str],
    usage: &'static str,
) -> Flag {
    Flag {
        name,
        kind: FlagKind::String,
        default,
        env,
        usage,
    }
}

const fn b(
    name: &'static str,
    default: &'static str,
    env: &'static [&'static str],
    usage: &'static str,
) -> Flag {
    Flag {
        name,
        kind: FlagKind::Bool,
        default,
        env,
        usage,
    }
}

/// Flags of `vault-k8s agent-inject` (spec §1.4), in upstream's lexicographic help order.
pub const INJECT_FLAGS: &[Flag] = &[
    // Not upstream: how the injected containers start the agent (vk_inject::command).
    s(
        "agent-command-style",
        "auto",
        &["AGENT_INJECT_AGENT_COMMAND_STYLE"],
        "How injected containers start the agent: auto (native for a vault-k8s image, upstream's shell command otherwise), native (/usr/local/bin/vault-k8s agent, no shell) or shell",
    ),
    // Not upstream: pass the injector's OTEL_* settings on to the agents (docs/tracing.md).
    b(
        "agent-otel-forward",
        "false",
        &["AGENT_INJECT_AGENT_OTEL_FORWARD"],
        "Set the injector's OpenTelemetry variables (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, OTEL_TRACES_SAMPLER, ...; not OTEL_SERVICE_NAME nor the _HEADERS variables) on the injected agent containers, so that one collector receives the traces of both. The pod annotation vault.hashicorp.com/agent-otel-forward overrides it",
    ),
    s(
        "auth-max-backoff",
        "",
        &["AGENT_INJECT_AUTH_MAX_BACKOFF"],
        "Sets the maximum backoff on auto-auth failure. Default is 5m",
    ),
    s(
        "auth-min-backoff",
        "",
        &["AGENT_INJECT_AUTH_MIN_BACKOFF"],
        "Sets the minimum backoff on auto-auth failure. Default is 1s",
    ),
    s(
        "cpu-limit",
        "500m",
        &["AGENT_INJECT_CPU_LIMIT"],
        "CPU resource limit set in injected containers. To explicitly disable resource limits, set this to ''",
    ),
    s(
        "cpu-request",
        "250m",
        &["AGENT_INJECT_CPU_REQUEST"],
        "CPU resource request set in injected containers. To explicitly disable resource requests, set this to ''",
    ),
    s(
        "default-template",
        "map",
        &["AGENT_INJECT_DEFAULT_TEMPLATE"],
        "Sets the default template type (map or json)",
    ),
    s(
        "disable-idle-connections",
        "",
        &["AGENT_INJECT_DISABLE_IDLE_CONNECTIONS"],
        "Comma-separated list of Vault features where idle connections should be disabled",
    ),
    s(
        "disable-keep-alives",
        "",
        &["AGENT_INJECT_DISABLE_KEEP_ALIVES"],
        "Comma-separated list of Vault features where keep-alives should be disabled",
    ),
    s(
        "ephemeral-storage-limit",
        "",
        &["AGENT_INJECT_EPHEMERAL_LIMIT"],
        "Ephemeral storage limit set in injected containers",
    ),
    s(
        "ephemeral-storage-request",
        "",
        &["AGENT_INJECT_EPHEMERAL_REQUEST"],
        "Ephemeral storage request set in injected containers",
    ),
    s(
        "listen",
        ":8080",
        &["AGENT_INJECT_LISTEN"],
        "Address to bind listener to",
    ),
    s(
        "log-format",
        "standard",
        &["AGENT_INJECT_LOG_FORMAT"],
        "Log output format (standard or json)",
    ),
    s(
        "log-level",
        "info",
        &["AGENT_INJECT_LOG_LEVEL"],
        "Log verbosity level (trace, debug, info, warn, error)",
    ),
    s(
        "memory-limit",
        "128Mi",
        &["AGENT_INJECT_MEM_LIMIT"],
        "Memory resource limit set in injected containers. To explicitly disable resource limits, set this to ''",
    ),
    s(
        "memory-request",
        "64Mi",
        &["AGENT_INJECT_MEM_REQUEST"],
        "Memory resource request set in injected containers. To explicitly disable resource requests, set this to ''",
    ),
    s(
        "proxy-address",
        "",
        &["AGENT_INJECT_PROXY_ADDR"],
        "HTTPS proxy address to set on the Vault Agent containers",
    ),
    b(
        "revoke-on-shutdown",
        "false",
        &["AGENT_INJECT_REVOKE_ON_SHUTDOWN"],
        "Automatically revoke all Vault Agent tokens on pod shutdown",
    ),
    s(
        "run-as-group",
        "1000",
        &["AGENT_INJECT_RUN_AS_GROUP"],
        "Group (gid) to run Vault agent as",
    ),
    b(
        "run-as-same-user",
        "false",
        &["AGENT_INJECT_RUN_AS_SAME_USER"],
        "Run the injected Vault agent containers as the User (uid) of the first application container in the pod",
    ),
    s(
        "run-as-user",
        "100",
        &["AGENT_INJECT_RUN_AS_USER"],
        "User (uid) to run Vault agent as",
    ),
    b(
        "set-security-context",
        "true",
        &["AGENT_INJECT_SET_SECURITY_CONTEXT"],
        "Set SecurityContext in injected containers",
    ),
    s(
        "telemetry-path",
        "",
        &["AGENT_INJECT_TELEMETRY_PATH"],
        "Path under which to expose metrics",
    ),
    b(
        "template-config-exit-on-retry-failure",
        "true",
        &["AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE"],
        "Value for Agent's template_config.exit_on_retry_failure",
    ),
    s(
        "template-static-secret-render-interval",
        "",
        &["AGENT_INJECT_TEMPLATE_STATIC_SECRET_RENDER_INTERVAL"],
        "Value for Agent's template_config.static_secret_render_interval",
    ),
    s(
        "tls-auto",
        "",
        &["AGENT_INJECT_TLS_AUTO", "TLS_AUTO"],
        "MutatingWebhookConfiguration name. If specified, will auto generate cert bundle",
    ),
    s(
        "tls-auto-hosts",
        "",
        &["AGENT_INJECT_TLS_AUTO_HOSTS", "TLS_AUTO_HOSTS"],
        "Comma-separated hosts for auto-generated TLS cert",
    ),
    s(
        "tls-ca-cert-file",
        "",
        &["AGENT_INJECT_TLS_CA_CERT_FILE", "TLS_CA_CERT_FILE"],
        "PEM-encoded CA certificate file (only used with -tls-auto)",
    ),
    s(
        "tls-cert-file",
        "",
        &["AGENT_INJECT_TLS_CERT_FILE", "TLS_CERT_FILE"],
        "PEM-encoded TLS certificate to serve; reloaded when the file changes",
    ),
    s(
        "tls-cipher-suites",
        "",
        &["AGENT_INJECT_TLS_CIPHER_SUITES", "TLS_CIPHER_SUITES"],
        "Comma-separated list of supported cipher suites for TLS 1.2 (Go names)",
    ),
    s(
        "tls-key-file",
        "",
        &["AGENT_INJECT_TLS_KEY_FILE", "TLS_KEY_FILE"],
        "PEM-encoded TLS private key to serve; reloaded when the file changes",
    ),
    s(
        "tls-min-version",
        "tls12",
        &["AGENT_INJECT_TLS_MIN_VERSION", "TLS_MIN_VERSION"],
        "Minimum supported version of TLS: tls10, tls11, tls12 or tls13 (1.0 and 1.1 are served as 1.2)",
    ),
    b(
        "use-leader-elector",
        "false",
        &["AGENT_INJECT_USE_LEADER_ELECTOR"],
        "Use leader elector to coordinate multiple replicas when updating CA and Certs with auto-tls",
    ),
    s(
        "vault-address",
        "",
        &["AGENT_INJECT_VAULT_ADDR"],
        "Address of the Vault server (required)",
    ),
    s(
        "vault-auth-path",
        "auth/kubernetes",
        &["AGENT_INJECT_VAULT_AUTH_PATH"],
        "Mount path of the Vault Kubernetes auth method",
    ),
    s(
        "vault-auth-type",
        "kubernetes",
        &["AGENT_INJECT_VAULT_AUTH_TYPE"],
        "Type of Vault auth method to use",
    ),
    s(
        "vault-cacert-bytes",
        "",
        &["AGENT_INJECT_VAULT_CACERT_BYTES"],
        "CA certificate to trust in PEM format",
    ),
    s(
        "vault-image",
        vk_inject::DEFAULT_AGENT_IMAGE,
        &["AGENT_INJECT_VAULT_IMAGE"],
        "Container image of the injected agent (default: this project's image; hashicorp/vault:2.0.4 is upstream's)",
    ),
    s(
        "vault-namespace",
        "",
        &["AGENT_INJECT_VAULT_NAMESPACE"],
        "Vault enterprise namespace",
    ),
];

/// Extra flags of `vault-k8s agent-inject render` (offline preview; not upstream).
pub const RENDER_FLAGS: &[Flag] = &[
    s(
        "f",
        "",
        &[],
        "Manifest file (YAML or JSON; `-` reads stdin) holding a Pod or a workload with a pod template",
    ),
    s(
        "namespace",
        "",
        &[],
        "Namespace to assume when the manifest has none (default \"default\")",
    ),
    s(
        "o",
        "pod",
        &[],
        "Output: `pod` (mutated pod as YAML) or `patch` (the JSON Patch)",
    ),
];

/// Environment variables without a flag (spec §1.4).
pub const ENV_MAX_CONNECTIONS_PER_HOST: &str = "AGENT_INJECT_TEMPLATE_MAX_CONNECTIONS_PER_HOST";
pub const ENV_LEASE_RENEWAL_THRESHOLD: &str = "AGENT_INJECT_TEMPLATE_LEASE_RENEWAL_THRESHOLD";
