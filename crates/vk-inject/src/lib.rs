//! Pure mutation engine of `agent-inject`: pod + injector settings → decision (skip, deny, or a JSON Patch).
//!
//! Owns: annotation parsing (all `vault.hashicorp.com/*` keys), defaults, validation and deny messages,
//! the Vault Agent config JSON (`VAULT_CONFIG`), the injected containers/volumes, and the RFC 6902 patch,
//! all byte-compatible with upstream `vault-k8s` (Go JSON escaping, Kubernetes quantity canonical forms,
//! Go parser error texts). Must never: perform I/O (files, sockets, clocks, environment), or depend on
//! tokio/hyper/axum/rustls/kube; dependencies stay pure (serde, serde_json, thiserror, base64).
//!
//! Pipeline (spec §0.2): decode → should-inject → namespace check → Init (defaults, in memory only)
//! → New (parse) → Validate → Patch. Each stage's failure becomes a [`Decision::Deny`] whose message
//! carries upstream's stage prefix.
//!
//! API CONTRACT (fixed; the webhook and CLI code against it). Internals are free.

mod admitted;
mod agent;
pub mod annotations;
pub mod command;
mod config;
mod container_env;
mod containers;
pub mod fastscan;
pub mod gojson;
mod goscan;
mod jsonpatch;
mod jsontree;
mod jsonw;
mod key_table;
mod keycmp;
pub mod native;
mod patch;
mod patchop;
pub mod paths;
mod pod;
pub mod primitives;
pub mod quantity;
mod reload;
mod secrets;
mod security;
mod support;
mod telemetry;
mod template_check;

pub use admitted::AdmittedPod;
pub use command::{AgentCommandStyle, UnknownCommandStyle};
pub use patchop::{PatchOp, PatchOpKind, PatchValue, patch_to_json};
pub use support::{SUPPORTED_AUTH_METHODS, USE_UPSTREAM};

/// Injector-wide defaults, i.e. the validated `agent-inject` flags that feed annotation defaults.
/// Field docs name the flag each comes from. Values are the raw strings upstream keeps
/// (validation of e.g. quantities happens per pod, as upstream does).
#[derive(Debug, Clone, PartialEq)]
pub struct InjectorSettings {
    /// `-agent-metrics` (not upstream): default of the `agent-metrics` annotation.
    pub agent_metrics: bool,
    /// `-vault-address` → default of `service`.
    pub vault_address: String,
    /// `-vault-image` → default of `agent-image` (empty → [`DEFAULT_AGENT_IMAGE`]).
    pub vault_image: String,
    /// `-agent-command-style` (not upstream): how the injected containers start the agent;
    /// the pod's `agent-command-style` annotation overrides it. See [`command`].
    pub agent_command_style: AgentCommandStyle,
    /// `-proxy-address` → default of `proxy-address`.
    pub proxy_address: String,
    /// `-vault-auth-type` → default of `auth-type` (empty → `kubernetes`).
    pub vault_auth_type: String,
    /// `-vault-auth-path` → default of `auth-path`.
    pub vault_auth_path: String,
    /// `-vault-namespace` → default of `namespace`.
    pub vault_namespace: String,
    /// `-vault-cacert-bytes` → env `VAULT_CACERT_BYTES` on the agents.
    pub vault_cacert_bytes: String,
    /// `-revoke-on-shutdown`.
    pub revoke_on_shutdown: bool,
    /// `-run-as-user` (empty → `100`).
    pub run_as_user: String,
    /// `-run-as-group` (empty → `1000`).
    pub run_as_group: String,
    /// `-run-as-same-user`.
    pub run_as_same_user: bool,
    /// `-set-security-context`.
    pub set_security_context: bool,
    /// `-default-template` (`map` or `json`).
    pub default_template: String,
    /// `-cpu-request`, `-memory-request`, `-ephemeral-storage-request`.
    pub cpu_request: String,
    pub memory_request: String,
    pub ephemeral_request: String,
    /// `-cpu-limit`, `-memory-limit`, `-ephemeral-storage-limit`.
    pub cpu_limit: String,
    pub memory_limit: String,
    pub ephemeral_limit: String,
    /// `-auth-min-backoff`, `-auth-max-backoff` (already validated as Go durations when non-empty).
    pub auth_min_backoff: String,
    pub auth_max_backoff: String,
    /// `-disable-idle-connections`, `-disable-keep-alives`.
    pub disable_idle_connections: String,
    pub disable_keep_alives: String,
    /// `-template-config-exit-on-retry-failure`.
    pub exit_on_retry_failure: bool,
    /// `-template-static-secret-render-interval`.
    pub static_secret_render_interval: String,
    /// env `AGENT_INJECT_TEMPLATE_MAX_CONNECTIONS_PER_HOST`.
    pub max_connections_per_host: i64,
    /// `-agent-credential-handoff` (not upstream) → default of `agent-credential-handoff`: the
    /// sidecar takes over the init agent's token and leases (this project's agent only).
    pub credential_handoff: bool,
    /// `-native-sidecar` (not upstream): default of `agent-native-sidecar` (issue [9], see [`native`]).
    pub native_sidecar: bool,
    /// `-deny-template-errors` (not upstream): default of `agent-deny-template-errors`; a
    /// template that does not parse denies the pod instead of warning (see `template_check`).
    pub deny_template_errors: bool,
    /// `-restricted-profile` (not upstream): default of `agent-restricted-profile`; `None` is
    /// `auto` (on for this project's image by name, off for others, whose output stays upstream's).
    pub restricted_profile: Option<bool>,
    /// `-secret-volume-size-limit` (not upstream): default of `secret-volume-size-limit`, the
    /// `sizeLimit` of the in-memory secrets volumes (empty: none).
    pub secret_volume_size_limit: String,
    /// `-agent-otel-forward` (not upstream): set [`Self::agent_otel_env`] on the agent
    /// containers; the pod's `agent-otel-forward` annotation overrides it.
    pub agent_otel_forward: bool,
    /// The injector's own OpenTelemetry variables (name, value) that are passed on to agents.
    /// Read by the binary; never `OTEL_SERVICE_NAME` (the agents name themselves) nor the
    /// header variables (they hold credentials, and a pod spec is readable by more people than
    /// the injector's environment).
    pub agent_otel_env: Vec<(String, String)>,
}

/// The default agent image: this project's runtime image, at the workspace version (its
/// entrypoint is `/usr/local/bin/vault-k8s`, it has no shell; see docs/images.md).
pub const DEFAULT_AGENT_IMAGE: &str = concat!("localhost/vault-k8s:", env!("CARGO_PKG_VERSION"));

/// Upstream's default agent image (vault-k8s 1.7.6), for going back to upstream's agent.
pub const UPSTREAM_AGENT_IMAGE: &str = "hashicorp/vault:2.0.4";

/// Port of the agent's metrics-only listener when `agent-metrics` is on.
pub const AGENT_METRICS_PORT: u16 = 9102;

/// Name of the sidecar's container port for that listener (what the chart's PodMonitor selects).
pub const AGENT_METRICS_PORT_NAME: &str = "agent-metrics";

impl Default for InjectorSettings {
    /// The CLI defaults of upstream `agent-inject` (spec §1.4), with an empty Vault address,
    /// except the agent image, which is this project's own ([`DEFAULT_AGENT_IMAGE`]).
    fn default() -> Self {
        Self {
            agent_metrics: false,
            vault_address: String::new(),
            vault_image: DEFAULT_AGENT_IMAGE.to_owned(),
            agent_command_style: AgentCommandStyle::Auto,
            agent_otel_forward: false,
            agent_otel_env: Vec::new(),
            proxy_address: String::new(),
            vault_auth_type: "kubernetes".to_owned(),
            vault_auth_path: "auth/kubernetes".to_owned(),
            vault_namespace: String::new(),
            vault_cacert_bytes: String::new(),
            revoke_on_shutdown: false,
            run_as_user: "100".to_owned(),
            run_as_group: "1000".to_owned(),
            run_as_same_user: false,
            set_security_context: true,
            default_template: "map".to_owned(),
            cpu_request: "250m".to_owned(),
            memory_request: "64Mi".to_owned(),
            ephemeral_request: String::new(),
            cpu_limit: "500m".to_owned(),
            memory_limit: "128Mi".to_owned(),
            ephemeral_limit: String::new(),
            auth_min_backoff: String::new(),
            auth_max_backoff: String::new(),
            disable_idle_connections: String::new(),
            disable_keep_alives: String::new(),
            exit_on_retry_failure: true,
            static_secret_render_interval: String::new(),
            max_connections_per_host: 0,
            credential_handoff: true,
            native_sidecar: false,
            deny_template_errors: false,
            restricted_profile: None,
            secret_volume_size_limit: String::new(),
        }
    }
}

/// Which agents a successful mutation added (the `injection_type` metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectionType {
    InitAndSidecar,
    InitOnly,
    SidecarOnly,
    /// One agent as a native sidecar (an init container with `restartPolicy: Always`).
    NativeSidecar,
    /// Pre-populate off and pre-populate-only on: a patch without any agent (not counted upstream).
    Nothing,
}

impl InjectionType {
    /// The metric label value, or `None` when nothing was injected.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::InitAndSidecar => Some("init_and_sidecar"),
            Self::InitOnly => Some("init_only"),
            Self::SidecarOnly => Some("sidecar_only"),
            Self::NativeSidecar => Some("native_sidecar"),
            Self::Nothing => None,
        }
    }
}

/// The outcome of running the webhook's logic on one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Allowed without a patch (not annotated, disabled, already injected, not Pending).
    Skip(SkipReason),
    /// Allowed with this patch.
    Inject {
        patch: Vec<PatchOp>,
        injection: InjectionType,
        /// Admission warnings: what the chosen agent will refuse at start-up (empty for
        /// upstream's agent image and for pods that need nothing it lacks).
        warnings: Vec<String>,
    },
    /// Denied; the message is upstream's full `status.message` (stage prefix included).
    Deny(DenyReason),
}

/// Why a pod was denied. `Display` is exactly upstream's message (spec §2.6).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DenyReason {
    pub message: String,
    /// Which step refused the pod (the metrics' bounded `reason`).
    pub stage: DenyStage,
}

/// Why a pod was allowed without a patch (a closed set: the metrics' `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// No `vault.hashicorp.com/agent-inject` annotation.
    NotAnnotated,
    /// The annotation is false.
    Disabled,
    /// The pod is past `Pending`.
    NotPending,
    /// `agent-inject-status` is already `injected`.
    AlreadyInjected,
}

impl SkipReason {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotAnnotated => "not_annotated",
            Self::Disabled => "disabled",
            Self::NotPending => "not_pending",
            Self::AlreadyInjected => "already_injected",
        }
    }
}

/// The step of the pipeline that denied a pod, one per stage prefix of upstream's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyStage {
    /// The pod object does not decode.
    PodDecode,
    /// `agent-inject` is not a boolean.
    InjectAnnotation,
    /// `kube-system` or `kube-public`.
    SystemNamespace,
    /// An annotation value is invalid (defaults stage).
    Annotations,
    /// The agent configuration cannot be built from the annotations.
    AgentConfig,
    /// The agent configuration is invalid.
    Validation,
    /// The patch cannot be built.
    Patch,
}

impl DenyStage {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::PodDecode => "pod_decode",
            Self::InjectAnnotation => "inject_annotation",
            Self::SystemNamespace => "system_namespace",
            Self::Annotations => "annotations",
            Self::AgentConfig => "agent_config",
            Self::Validation => "validation",
            Self::Patch => "patch",
        }
    }
}

/// Decide what to do with `pod` (the AdmissionRequest `object`, as JSON) created in `namespace`.
/// Pure and deterministic: same input, same output (secrets are ordered by raw name).
pub fn mutate(pod: &serde_json::Value, namespace: &str, settings: &InjectorSettings) -> Decision {
    decide(jsontree::Json::from_value(pod).tree(), namespace, settings)
}

/// [`mutate`] for the pod as the webhook decodes it from the request body ([`AdmittedPod`]):
/// the same decision as for the whole object, without building a `serde_json::Value` tree.
pub fn mutate_admitted(
    pod: &AdmittedPod<'_>,
    namespace: &str,
    settings: &InjectorSettings,
) -> Decision {
    pod.with_tree(|tree| decide(tree, namespace, settings))
}

fn decide(pod: &jsontree::Json<'_>, namespace: &str, settings: &InjectorSettings) -> Decision {
    run(pod, namespace, settings)
        .unwrap_or_else(|(stage, message)| Decision::Deny(DenyReason { message, stage }))
}

/// The pipeline; `Err` is the stage that refused and the full deny message.
fn run(
    raw: &jsontree::Json<'_>,
    namespace: &str,
    settings: &InjectorSettings,
) -> Result<Decision, (DenyStage, String)> {
    let pod = pod::Pod::decode(raw).map_err(|m| (DenyStage::PodDecode, m))?;
    let Some(inject) = pod.annotations.get(annotations::AGENT_INJECT) else {
        return Ok(Decision::Skip(SkipReason::NotAnnotated));
    };
    let inject = primitives::parse_bool(inject).map_err(|e| {
        (
            DenyStage::InjectAnnotation,
            format!("error checking if should inject agent: {e}"),
        )
    })?;
    if !inject {
        return Ok(Decision::Skip(SkipReason::Disabled));
    }
    if !pod.phase.is_empty() && pod.phase != "Pending" {
        return Ok(Decision::Skip(SkipReason::NotPending));
    }
    if pod
        .annotations
        .get(annotations::AGENT_INJECT_STATUS)
        .is_some_and(|s| s == "injected")
    {
        return Ok(Decision::Skip(SkipReason::AlreadyInjected));
    }
    if namespace == "kube-system" || namespace == "kube-public" {
        return Err((
            DenyStage::SystemNamespace,
            format!(
                "error with request namespace: cannot inject into system namespaces: {namespace}"
            ),
        ));
    }
    let at =
        |stage: DenyStage, prefix: &'static str| move |e: String| (stage, format!("{prefix}: {e}"));
    let init = annotations::init(&pod, namespace, settings)
        .map_err(|e| e.to_string())
        .map_err(at(
            DenyStage::Annotations,
            "error adding default annotations",
        ))?;
    let agent = agent::new(&pod, &init)
        .map_err(|e| e.to_string())
        .map_err(at(
            DenyStage::AgentConfig,
            "error creating new agent sidecar",
        ))?;
    agent::validate(&agent)
        .map_err(|e| e.to_string())
        .map_err(at(
            DenyStage::Validation,
            "error validating agent configuration",
        ))?;
    let template_problems = template_check::check(&agent);
    if agent.deny_template_errors && !template_problems.is_empty() {
        let all: Vec<String> = template_problems.iter().map(ToString::to_string).collect();
        return Err((
            DenyStage::Validation,
            format!(
                "error validating agent configuration: {} (denied because of {})",
                all.join("; "),
                template_check::deny_reason(&agent)
            ),
        ));
    }
    let ops = patch::build(&agent, settings)
        .map_err(|e| e.to_string())
        .map_err(at(DenyStage::Patch, "error creating patch for agent"))?;
    let injection = match (agent.native, agent.pre_populate, agent.pre_populate_only) {
        (true, _, _) => InjectionType::NativeSidecar,
        (false, true, false) => InjectionType::InitAndSidecar,
        (false, true, true) => InjectionType::InitOnly,
        (false, false, false) => InjectionType::SidecarOnly,
        (false, false, true) => InjectionType::Nothing,
    };
    let mut warnings = support::warnings(&agent);
    warnings.extend(agent.notes.iter().cloned());
    warnings.extend(template_problems.iter().map(ToString::to_string));
    Ok(Decision::Inject {
        patch: ops,
        injection,
        warnings,
    })
}
