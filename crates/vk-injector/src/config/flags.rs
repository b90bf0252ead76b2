//! The one table of `agent-inject` flags: name, type, default, environment variables, usage.
//! Parsing (`vk_go::flag`), environment overlay, help text and docs/configuration.md (through
//! `flags_doc`) all follow this table; values are read through the typed fields.

vk_go::go_flags! {
    /// Flags of `vault-k8s agent-inject` (spec §1.4), in upstream's lexicographic help order.
    pub struct InjectFlags {
        /// Not upstream: how the injected containers start the agent (vk_inject::command).
        pub agent_command_style: String => "agent-command-style" {
            default: "auto",
            env: ["AGENT_INJECT_AGENT_COMMAND_STYLE"],
            usage: "How injected containers start the agent: auto (native for a vault-k8s image, upstream's shell command otherwise), native (/usr/local/bin/vault-k8s agent, no shell) or shell",
        },
        /// Not upstream: the init agent hands its token and leases to the sidecar (vk_inject).
        pub agent_credential_handoff: bool => "agent-credential-handoff" {
            default: "true",
            env: ["AGENT_INJECT_CREDENTIAL_HANDOFF"],
            usage: "With vault-k8s's own agent, the sidecar takes over the init agent's token and leases (one set of credentials per pod) through the pod's in-memory vault-agent-cache volume. The annotation vault.hashicorp.com/agent-credential-handoff overrides it per pod",
        },
        /// Not upstream: the injected agents serve Prometheus metrics (vk_inject::config).
        pub agent_metrics: bool => "agent-metrics" {
            default: "false",
            env: ["AGENT_INJECT_AGENT_METRICS"],
            usage: "Injected agents serve Prometheus metrics: a telemetry stanza and a metrics-only listener on port 9102, container port agent-metrics (annotation vault.hashicorp.com/agent-metrics overrides per pod)",
        },
        /// Not upstream: pass the injector's OTEL_* settings on to the agents (docs/tracing.md).
        pub agent_otel_forward: bool => "agent-otel-forward" {
            default: "false",
            env: ["AGENT_INJECT_AGENT_OTEL_FORWARD"],
            usage: "Set the injector's OpenTelemetry variables (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, OTEL_TRACES_SAMPLER, ...; not OTEL_SERVICE_NAME nor the _HEADERS variables) on the injected agent containers, so that one collector receives the traces of both. The pod annotation vault.hashicorp.com/agent-otel-forward overrides it",
        },
        pub auth_max_backoff: String => "auth-max-backoff" {
            default: "",
            env: ["AGENT_INJECT_AUTH_MAX_BACKOFF"],
            usage: "Sets the maximum backoff on auto-auth failure. Default is 5m",
        },
        pub auth_min_backoff: String => "auth-min-backoff" {
            default: "",
            env: ["AGENT_INJECT_AUTH_MIN_BACKOFF"],
            usage: "Sets the minimum backoff on auto-auth failure. Default is 1s",
        },
        pub cpu_limit: String => "cpu-limit" {
            default: "500m",
            env: ["AGENT_INJECT_CPU_LIMIT"],
            usage: "CPU resource limit set in injected containers. To explicitly disable resource limits, set this to ''",
        },
        pub cpu_request: String => "cpu-request" {
            default: "250m",
            env: ["AGENT_INJECT_CPU_REQUEST"],
            usage: "CPU resource request set in injected containers. To explicitly disable resource requests, set this to ''",
        },
        pub default_template: String => "default-template" {
            default: "map",
            env: ["AGENT_INJECT_DEFAULT_TEMPLATE"],
            usage: "Sets the default template type (map or json)",
        },
        /// Not upstream (issue [9]): vk_inject::template_check.
        pub deny_template_errors: bool => "deny-template-errors" {
            default: "false",
            env: ["AGENT_INJECT_DENY_TEMPLATE_ERRORS"],
            usage: "Deny pods whose secret templates do not parse (default: admit them with a warning naming the annotation, line and column); the pod's vault.hashicorp.com/agent-deny-template-errors annotation overrides it",
        },
        pub disable_idle_connections: String => "disable-idle-connections" {
            default: "",
            env: ["AGENT_INJECT_DISABLE_IDLE_CONNECTIONS"],
            usage: "Comma-separated list of Vault features where idle connections should be disabled",
        },
        pub disable_keep_alives: String => "disable-keep-alives" {
            default: "",
            env: ["AGENT_INJECT_DISABLE_KEEP_ALIVES"],
            usage: "Comma-separated list of Vault features where keep-alives should be disabled",
        },
        pub ephemeral_storage_limit: String => "ephemeral-storage-limit" {
            default: "",
            env: ["AGENT_INJECT_EPHEMERAL_LIMIT"],
            usage: "Ephemeral storage limit set in injected containers",
        },
        pub ephemeral_storage_request: String => "ephemeral-storage-request" {
            default: "",
            env: ["AGENT_INJECT_EPHEMERAL_REQUEST"],
            usage: "Ephemeral storage request set in injected containers",
        },
        pub listen: String => "listen" {
            default: ":8080",
            env: ["AGENT_INJECT_LISTEN"],
            usage: "Address to bind listener to",
        },
        pub log_format: String => "log-format" {
            default: "standard",
            env: ["AGENT_INJECT_LOG_FORMAT"],
            usage: "Log output format (standard or json)",
        },
        pub log_level: String => "log-level" {
            default: "info",
            env: ["AGENT_INJECT_LOG_LEVEL"],
            usage: "Log verbosity level (trace, debug, info, warn, error)",
        },
        pub memory_limit: String => "memory-limit" {
            default: "128Mi",
            env: ["AGENT_INJECT_MEM_LIMIT"],
            usage: "Memory resource limit set in injected containers. To explicitly disable resource limits, set this to ''",
        },
        pub memory_request: String => "memory-request" {
            default: "64Mi",
            env: ["AGENT_INJECT_MEM_REQUEST"],
            usage: "Memory resource request set in injected containers. To explicitly disable resource requests, set this to ''",
        },
        /// Not upstream (issue [9]): vk_inject::native.
        pub native_sidecar: bool => "native-sidecar" {
            default: "false",
            env: ["AGENT_INJECT_NATIVE_SIDECAR"],
            usage: "Inject one agent as a native sidecar (init container with restartPolicy Always and a startup probe that passes once every template rendered) instead of an init container and a sidecar; needs Kubernetes 1.29 or later; the pod's vault.hashicorp.com/agent-native-sidecar annotation overrides it",
        },
        pub proxy_address: String => "proxy-address" {
            default: "",
            env: ["AGENT_INJECT_PROXY_ADDR"],
            usage: "HTTPS proxy address to set on the Vault Agent containers",
        },
        /// Not upstream (issue [9]): vk_inject's security module.
        pub restricted_profile: String => "restricted-profile" {
            default: "auto",
            env: ["AGENT_INJECT_RESTRICTED_PROFILE"],
            usage: "Give injected containers the restricted Pod Security profile (seccompProfile RuntimeDefault, runAsNonRoot; without -set-security-context also without fixed ids): true, false or auto (on for a vault-k8s image, off for others, whose containers stay upstream's); the pod's vault.hashicorp.com/agent-restricted-profile annotation overrides it",
        },
        pub revoke_on_shutdown: bool => "revoke-on-shutdown" {
            default: "false",
            env: ["AGENT_INJECT_REVOKE_ON_SHUTDOWN"],
            usage: "Automatically revoke all Vault Agent tokens on pod shutdown",
        },
        pub run_as_group: String => "run-as-group" {
            default: "1000",
            env: ["AGENT_INJECT_RUN_AS_GROUP"],
            usage: "Group (gid) to run Vault agent as",
        },
        pub run_as_same_user: bool => "run-as-same-user" {
            default: "false",
            env: ["AGENT_INJECT_RUN_AS_SAME_USER"],
            usage: "Run the injected Vault agent containers as the User (uid) of the first application container in the pod",
        },
        pub run_as_user: String => "run-as-user" {
            default: "100",
            env: ["AGENT_INJECT_RUN_AS_USER"],
            usage: "User (uid) to run Vault agent as",
        },
        /// Not upstream (issue [9]).
        pub secret_volume_size_limit: String => "secret-volume-size-limit" {
            default: "",
            env: ["AGENT_INJECT_SECRET_VOLUME_SIZE_LIMIT"],
            usage: "sizeLimit of the in-memory secrets volumes (a Kubernetes quantity such as 16Mi; empty: none); the pod's vault.hashicorp.com/secret-volume-size-limit annotation overrides it",
        },
        pub set_security_context: bool => "set-security-context" {
            default: "true",
            env: ["AGENT_INJECT_SET_SECURITY_CONTEXT"],
            usage: "Set SecurityContext in injected containers",
        },
        pub telemetry_path: String => "telemetry-path" {
            default: "",
            env: ["AGENT_INJECT_TELEMETRY_PATH"],
            usage: "Path under which to expose metrics",
        },
        pub template_config_exit_on_retry_failure: bool => "template-config-exit-on-retry-failure" {
            default: "true",
            env: ["AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE"],
            usage: "Value for Agent's template_config.exit_on_retry_failure",
        },
        pub template_static_secret_render_interval: String => "template-static-secret-render-interval" {
            default: "",
            env: ["AGENT_INJECT_TEMPLATE_STATIC_SECRET_RENDER_INTERVAL"],
            usage: "Value for Agent's template_config.static_secret_render_interval",
        },
        pub tls_auto: String => "tls-auto" {
            default: "",
            env: ["AGENT_INJECT_TLS_AUTO", "TLS_AUTO"],
            usage: "MutatingWebhookConfiguration name. If specified, will auto generate cert bundle",
        },
        pub tls_auto_hosts: String => "tls-auto-hosts" {
            default: "",
            env: ["AGENT_INJECT_TLS_AUTO_HOSTS", "TLS_AUTO_HOSTS"],
            usage: "Comma-separated hosts for auto-generated TLS cert",
        },
        pub tls_ca_cert_file: String => "tls-ca-cert-file" {
            default: "",
            env: ["AGENT_INJECT_TLS_CA_CERT_FILE", "TLS_CA_CERT_FILE"],
            usage: "PEM-encoded CA certificate file (only used with -tls-auto)",
        },
        pub tls_cert_file: String => "tls-cert-file" {
            default: "",
            env: ["AGENT_INJECT_TLS_CERT_FILE", "TLS_CERT_FILE"],
            usage: "PEM-encoded TLS certificate to serve; reloaded when the file changes",
        },
        pub tls_cipher_suites: String => "tls-cipher-suites" {
            default: "",
            env: ["AGENT_INJECT_TLS_CIPHER_SUITES", "TLS_CIPHER_SUITES"],
            usage: "Comma-separated list of supported cipher suites for TLS 1.2 (Go names)",
        },
        pub tls_key_file: String => "tls-key-file" {
            default: "",
            env: ["AGENT_INJECT_TLS_KEY_FILE", "TLS_KEY_FILE"],
            usage: "PEM-encoded TLS private key to serve; reloaded when the file changes",
        },
        pub tls_min_version: String => "tls-min-version" {
            default: "tls12",
            env: ["AGENT_INJECT_TLS_MIN_VERSION", "TLS_MIN_VERSION"],
            usage: "Minimum supported version of TLS: tls10, tls11, tls12 or tls13 (1.0 and 1.1 are served as 1.2)",
        },
        pub use_leader_elector: bool => "use-leader-elector" {
            default: "false",
            env: ["AGENT_INJECT_USE_LEADER_ELECTOR"],
            usage: "Use leader elector to coordinate multiple replicas when updating CA and Certs with auto-tls",
        },
        pub vault_address: String => "vault-address" {
            default: "",
            env: ["AGENT_INJECT_VAULT_ADDR"],
            usage: "Address of the Vault server (required)",
        },
        pub vault_auth_path: String => "vault-auth-path" {
            default: "auth/kubernetes",
            env: ["AGENT_INJECT_VAULT_AUTH_PATH"],
            usage: "Mount path of the Vault Kubernetes auth method",
        },
        pub vault_auth_type: String => "vault-auth-type" {
            default: "kubernetes",
            env: ["AGENT_INJECT_VAULT_AUTH_TYPE"],
            usage: "Type of Vault auth method to use",
        },
        pub vault_cacert_bytes: String => "vault-cacert-bytes" {
            default: "",
            env: ["AGENT_INJECT_VAULT_CACERT_BYTES"],
            usage: "CA certificate to trust in PEM format",
        },
        pub vault_image: String => "vault-image" {
            default: vk_inject::DEFAULT_AGENT_IMAGE,
            env: ["AGENT_INJECT_VAULT_IMAGE"],
            usage: "Container image of the injected agent (default: this project's image; hashicorp/vault:2.0.4 is upstream's)",
        },
        pub vault_namespace: String => "vault-namespace" {
            default: "",
            env: ["AGENT_INJECT_VAULT_NAMESPACE"],
            usage: "Vault enterprise namespace",
        },
    }
}

vk_go::go_flags! {
    /// Extra flags of `vault-k8s agent-inject render` (offline preview; not upstream).
    pub struct RenderFlags {
        pub f: String => "f" {
            default: "",
            env: [],
            usage: "Manifest file (YAML or JSON; `-` reads stdin) holding a Pod or a workload with a pod template",
        },
        pub namespace: String => "namespace" {
            default: "",
            env: [],
            usage: "Namespace to assume when the manifest has none (default \"default\")",
        },
        pub o: String => "o" {
            default: "pod",
            env: [],
            usage: "Output: `pod` (mutated pod as YAML) or `patch` (the JSON Patch)",
        },
    }
}

/// The flag table of `agent-inject`.
pub const INJECT_FLAGS: &[vk_go::flag::FlagSpec] = InjectFlags::SPECS;
/// The flag table of `agent-inject render`, beside [`INJECT_FLAGS`].
pub const RENDER_FLAGS: &[vk_go::flag::FlagSpec] = RenderFlags::SPECS;

/// Parse the `agent-inject` command line with Go's rules. Arguments after the flags are
/// ignored, as upstream does (spec §1.3: Helm passes `agent-inject 2>&1` literally).
pub fn parse_inject_flags(args: &[String]) -> Result<InjectFlags, vk_go::flag::FlagError> {
    let mut flags = InjectFlags::default();
    vk_go::flag::parse(&mut flags, args)?;
    Ok(flags)
}

/// Parse the `agent-inject render` command line: its own flags beside the injector's.
pub fn parse_render_flags(
    args: &[String],
) -> Result<(InjectFlags, RenderFlags), vk_go::flag::FlagError> {
    let mut flags = (InjectFlags::default(), RenderFlags::default());
    vk_go::flag::parse(&mut flags, args)?;
    Ok(flags)
}

/// Environment variables without a flag (spec §1.4).
pub const ENV_MAX_CONNECTIONS_PER_HOST: &str = "AGENT_INJECT_TEMPLATE_MAX_CONNECTIONS_PER_HOST";
pub const ENV_LEASE_RENEWAL_THRESHOLD: &str = "AGENT_INJECT_TEMPLATE_LEASE_RENEWAL_THRESHOLD";
