//! The agent model: New (parse every annotation, spec §2.6 order) and Validate.

use crate::AgentCommandStyle;
use crate::annotations::{self as k, Annotations, Initialized, Known, known};
use crate::jsonpatch::Operation;
use crate::jsontree::Json;
use crate::pod::{self, Pod};
use crate::primitives::{parse_bool, parse_float, parse_int, parse_uint};
use crate::secrets::{self, Secret};

/// Where the agents find the service-account token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceAccount {
    pub(crate) name: String,
    pub(crate) mount_path: String,
    pub(crate) token_path: String,
}

/// Default template style of `agent-inject-default-template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultTemplate {
    Map,
    Json,
}

/// Everything New derives from the pod and its (post-Init) annotations.
#[derive(Debug)]
pub(crate) struct Agent<'p> {
    pub(crate) pod: &'p Pod<'p>,
    /// Borrowed, not moved: the resolved annotations are a few KiB, and each move of them was
    /// a ~230-instruction `memcpy` (webapp bench).
    pub(crate) annotations: &'p Annotations<'p>,
    pub(crate) sidecar_patch: Option<Vec<Operation>>,
    pub(crate) init_patch: Option<Vec<Operation>>,
    pub(crate) service_account: ServiceAccount,
    /// IRSA token mount (name, path), only for auth type `aws`.
    pub(crate) irsa: Option<(String, String)>,
    pub(crate) secrets: Vec<Secret<'p>>,
    pub(crate) init_first: bool,
    pub(crate) pre_populate: bool,
    pub(crate) pre_populate_only: bool,
    pub(crate) revoke_on_shutdown: bool,
    pub(crate) revoke_grace: u64,
    pub(crate) tls_skip_verify: bool,
    pub(crate) run_as_user: i64,
    pub(crate) run_as_group: i64,
    pub(crate) share_process_namespace: Option<bool>,
    pub(crate) set_security_context: bool,
    pub(crate) cache_enable: bool,
    pub(crate) cache_exit_on_err: bool,
    pub(crate) default_template: DefaultTemplate,
    pub(crate) inject_token: bool,
    pub(crate) exit_on_retry_failure: bool,
    pub(crate) max_connections_per_host: i64,
    pub(crate) lease_renewal_threshold: f64,
    pub(crate) enable_quit: bool,
    pub(crate) auto_auth_exit_on_err: bool,
    /// The containers start `vault-k8s agent` without a shell: the resolved command style
    /// (the pod's own `agent-command-style`, else the injector's) applied to `agent-image`.
    /// Decided once here: the image test (trim, parse the reference, compare) cost ~4k
    /// instructions per admission when each of its 7 users ran it.
    pub(crate) native_command: bool,
    /// The init agent hands its token and leases to the sidecar through the in-memory cache
    /// volume (`agent-credential-handoff`, resolved: our agent, both agents, no cache persist).
    pub(crate) credential_handoff: bool,
    /// The reload-on-rotation actions (`reload.rs`), for the sidecar.
    pub(crate) reloads: crate::reload::Reloads,
    /// Serve the agent's Prometheus metrics (`agent-metrics`, default `-agent-metrics`).
    pub(crate) metrics: bool,
    /// One agent as a native sidecar instead of init + sidecar (see [`crate::native`]).
    pub(crate) native: bool,
    /// Template parse errors deny the pod (`agent-deny-template-errors`).
    pub(crate) deny_template_errors: bool,
    /// Whether `deny_template_errors` came from the pod's annotation (for the message).
    pub(crate) deny_template_errors_annotated: bool,
    /// Restricted Pod Security fields on the injected containers (`agent-restricted-profile`).
    pub(crate) restricted: bool,
    /// Canonical `sizeLimit` of the secrets volumes (`secret-volume-size-limit`).
    pub(crate) secret_volume_size_limit: Option<String>,
    /// Admission warnings New decided (e.g. a native-sidecar default that cannot apply).
    pub(crate) notes: Vec<String>,
    /// Whether the agent containers get the injector's OpenTelemetry variables.
    pub(crate) otel_forward: bool,
}

impl Agent<'_> {
    /// The post-Init value of an annotation (`""` when absent).
    pub(crate) fn get(&self, key: Known) -> &str {
        self.annotations.get(key).unwrap_or("")
    }

    /// Config-map mode (`agent-configmap` non-empty).
    pub(crate) fn configmap(&self) -> &str {
        self.get(known::AGENT_CONFIGMAP)
    }

    /// Cache persistence: cache on, init agent present, sidecar present (a native sidecar
    /// is one agent, with nothing to hand over).
    pub(crate) fn cache_persist(&self) -> bool {
        self.cache_enable && self.pre_populate && !self.pre_populate_only && !self.native
    }

    /// Whether the agents mount the in-memory `vault-agent-cache` volume (cache persistence
    /// or the credential handoff).
    pub(crate) fn cache_volume(&self) -> bool {
        self.cache_persist() || self.credential_handoff
    }

    pub(crate) fn is_aws(&self) -> bool {
        self.get(known::AUTH_TYPE) == "aws"
    }
}

fn bool_of(ann: &Annotations<'_>, key: Known) -> Result<bool, String> {
    parse_bool(ann.get(key).unwrap_or("")).map_err(|e| e.to_string())
}

/// `agent-otel-forward` (only the pod's own annotation; Init has no default for it), else the
/// injector's `-agent-otel-forward`. Asking for it while the injector has no OTLP endpoint to
/// pass on is an error rather than an agent that silently exports nothing.
fn otel_forward(ann: &Annotations<'_>) -> Result<bool, String> {
    let settings = ann.settings();
    let forward = match ann.pod().get(k::AGENT_OTEL_FORWARD) {
        None => settings.agent_otel_forward,
        Some(raw) => parse_bool(raw).map_err(|_| {
            format!(
                "invalid value {raw:?} for annotation \"{}\": expected true or false",
                k::AGENT_OTEL_FORWARD
            )
        })?,
    };
    let has_endpoint = settings.agent_otel_env.iter().any(|(name, _)| {
        name == "OTEL_EXPORTER_OTLP_ENDPOINT" || name == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    });
    if forward && !has_endpoint {
        return Err(format!(
            "annotation \"{}\" asks to pass the injector's OpenTelemetry settings on, but the injector has no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            k::AGENT_OTEL_FORWARD
        ));
    }
    Ok(forward)
}

/// New: the error is the inner message of `error creating new agent sidecar: …`.
pub(crate) fn new<'p>(pod: &'p Pod<'p>, init: &'p Initialized<'p>) -> Result<Agent<'p>, String> {
    let ann = &init.annotations;
    // Copies only when the pod carries an `agent-json-patch` annotation (rare).
    let (sidecar_patch, init_patch) = (init.sidecar_patch.clone(), init.init_patch.clone());
    let s = |key: Known| ann.get(key).unwrap_or("");

    let service_account = service_account(pod, s(known::AGENT_SERVICE_ACCOUNT_TOKEN_VOLUME_NAME))?;
    let irsa = if s(known::AUTH_TYPE) == "aws" {
        pod.containers
            .iter()
            .flat_map(|c| c.mounts.iter())
            .find(|m| m.mount_path.contains("eks.amazonaws.com"))
            .map(|m| (m.name.to_owned(), m.mount_path.to_owned()))
    } else {
        None
    };
    let secrets = secrets::discover(ann)?;
    // `agent-inject` is parsed again here, as upstream does; ShouldInject already accepted it.
    bool_of(ann, known::AGENT_INJECT)?;
    let init_first = bool_of(ann, known::AGENT_INIT_FIRST)?;
    let pre_populate = match ann.get(known::AGENT_PRE_POPULATE) {
        Some(v) => parse_bool(v).map_err(|e| e.to_string())?,
        None => true,
    };
    let pre_populate_only = bool_of(ann, known::AGENT_PRE_POPULATE_ONLY)?;
    let revoke_on_shutdown = bool_of(ann, known::AGENT_REVOKE_ON_SHUTDOWN)?;
    let revoke_grace = parse_uint(s(known::AGENT_REVOKE_GRACE)).map_err(|e| e.to_string())?;
    let tls_skip_verify = bool_of(ann, known::TLS_SKIP_VERIFY)?;
    let mut run_as_user = parse_int(s(known::AGENT_RUN_AS_USER)).map_err(|e| e.to_string())?;
    let run_as_group = parse_int(s(known::AGENT_RUN_AS_GROUP)).map_err(|e| e.to_string())?;
    if bool_of(ann, known::AGENT_RUN_AS_SAME_USER)? {
        let first = pod
            .containers
            .first()
            .ok_or("No containers found in Pod Spec")?;
        let uid = first
            .run_as_user()
            .ok_or("No SecurityContext found for Container 0")?
            .ok_or("RunAsUser is nil for Container 0's SecurityContext")?;
        if uid == 0 {
            return Err("container not allowed to run as root".to_owned());
        }
        run_as_user = uid;
    }
    let share_process_namespace = match ann.get(known::AGENT_SHARE_PROCESS_NAMESPACE) {
        None => None,
        Some(raw) => {
            let v = parse_bool(raw).map_err(|e| {
                format!(
                    "invalid value {raw} for annotation \"{}\", err={e}",
                    k::AGENT_SHARE_PROCESS_NAMESPACE
                )
            })?;
            if v && pod.share_process_namespace == Some(false) {
                return Err(
                    "shareProcessNamespace explicitly disabled on the pod, refusing to enable it"
                        .to_owned(),
                );
            }
            Some(v)
        }
    };
    let set_security_context = bool_of(ann, known::AGENT_SET_SECURITY_CONTEXT)?;
    let cache_enable = bool_of(ann, known::AGENT_CACHE_ENABLE)?;
    let cache_exit_on_err = bool_of(ann, known::AGENT_CACHE_EXIT_ON_ERR)?;
    let default_template = match s(known::AGENT_INJECT_DEFAULT_TEMPLATE)
        .to_lowercase()
        .as_str()
    {
        "map" => DefaultTemplate::Map,
        "json" => DefaultTemplate::Json,
        other => return Err(format!("invalid default template type: {other}")),
    };
    let inject_token = bool_of(ann, known::AGENT_INJECT_TOKEN)?;
    let exit_on_retry_failure = bool_of(ann, known::TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE)?;
    let max_connections_per_host =
        parse_int(s(known::TEMPLATE_MAX_CONNECTIONS_PER_HOST)).map_err(|e| e.to_string())?;
    let lease_renewal_threshold = match ann.get(known::TEMPLATE_LEASE_RENEWAL_THRESHOLD) {
        Some(v) => parse_float(v).map_err(|e| e.to_string())?,
        None => 0.0,
    };
    let enable_quit = bool_of(ann, known::AGENT_ENABLE_QUIT)?;
    let auto_auth_exit_on_err = bool_of(ann, known::AGENT_AUTO_AUTH_EXIT_ON_ERR)?;
    // Only the pod's own annotation: Init has no default for this key.
    let command_style = match ann.pod().get(k::AGENT_COMMAND_STYLE) {
        None => None,
        Some(raw) => Some(AgentCommandStyle::parse(raw).map_err(|_| {
            format!(
                "invalid value {raw:?} for annotation \"{}\": expected auto, native or shell",
                k::AGENT_COMMAND_STYLE
            )
        })?),
    };
    let settings = ann.settings();
    let image = s(known::AGENT_IMAGE);
    let own_image = crate::command::is_own_image(image);
    let native_command = match command_style.unwrap_or(settings.agent_command_style) {
        AgentCommandStyle::Auto => own_image,
        AgentCommandStyle::Native => true,
        AgentCommandStyle::Shell => false,
    };
    let reloads = reloads(
        pod,
        &secrets,
        image,
        native_command,
        pre_populate_only,
        share_process_namespace,
    )?;

    // Only the pod's own annotation: Init has no default for this key (the patch keeps
    // upstream's annotations).
    let metrics = match ann.pod().get(k::AGENT_METRICS) {
        None => ann.settings().agent_metrics,
        Some(raw) => crate::primitives::parse_bool(raw).map_err(|e| {
            format!(
                "invalid value {raw:?} for annotation \"{}\": {e}",
                k::AGENT_METRICS
            )
        })?,
    };

    let own_bool = |key: &str| -> Result<Option<bool>, String> {
        ann.pod()
            .get(key)
            .map(|raw| {
                parse_bool(raw)
                    .map_err(|e| format!("invalid value {raw:?} for annotation \"{key}\": {e}"))
            })
            .transpose()
    };
    let mut notes = Vec::new();
    let native = crate::native::decide(
        own_bool(k::AGENT_NATIVE_SIDECAR)?,
        settings.native_sidecar,
        pre_populate_only,
        native_command,
        !s(known::AGENT_CONFIGMAP).is_empty(),
        &mut notes,
    )?;
    if native && init_patch.is_some() {
        notes.push(format!(
            "{}: ignored with a native sidecar, which has no init container; put the patch in {}",
            k::AGENT_INIT_JSON_PATCH,
            k::AGENT_JSON_PATCH
        ));
    }
    // A native sidecar is one agent: there is nothing to hand over.
    let credential_handoff = handoff(
        ann,
        image,
        native_command,
        pre_populate && !pre_populate_only && !cache_enable && !native,
    )?;
    let (deny_template_errors, deny_template_errors_annotated) =
        match own_bool(k::AGENT_DENY_TEMPLATE_ERRORS)? {
            Some(v) => (v, true),
            None => (settings.deny_template_errors, false),
        };
    let restricted = match own_bool(k::AGENT_RESTRICTED_PROFILE)? {
        Some(v) => v,
        None => settings.restricted_profile.unwrap_or(own_image),
    };
    if restricted && set_security_context && run_as_user == 0 {
        notes.push(format!(
            "{}: the agent runs as root (uid 0), which the restricted Pod Security profile forbids; set {} to a non-zero uid",
            k::AGENT_RESTRICTED_PROFILE,
            k::AGENT_RUN_AS_USER
        ));
    }
    let size_limit = match ann.pod().get(k::SECRET_VOLUME_SIZE_LIMIT) {
        Some(raw) => Some((raw, true)),
        None => Some((settings.secret_volume_size_limit.as_str(), false)),
    }
    .filter(|(raw, _)| !raw.is_empty());
    let secret_volume_size_limit = match size_limit {
        None => None,
        Some((raw, annotated)) => Some(crate::quantity::canonical_quantity(raw).map_err(|e| {
            let source = if annotated {
                format!("annotation \"{}\"", k::SECRET_VOLUME_SIZE_LIMIT)
            } else {
                "flag -secret-volume-size-limit".to_owned()
            };
            format!("invalid quantity {raw:?} for {source}: {e}")
        })?),
    };

    let otel_forward = otel_forward(ann)?;

    Ok(Agent {
        pod,
        annotations: ann,
        sidecar_patch,
        init_patch,
        service_account,
        irsa,
        secrets,
        init_first,
        pre_populate,
        pre_populate_only,
        revoke_on_shutdown,
        revoke_grace,
        tls_skip_verify,
        run_as_user,
        run_as_group,
        share_process_namespace,
        set_security_context,
        cache_enable,
        cache_exit_on_err,
        default_template,
        inject_token,
        exit_on_retry_failure,
        max_connections_per_host,
        lease_renewal_threshold,
        enable_quit,
        auto_auth_exit_on_err,
        native_command,
        credential_handoff,
        reloads,
        metrics,
        native,
        deny_template_errors,
        deny_template_errors_annotated,
        restricted,
        secret_volume_size_limit,
        notes,
        otel_forward,
    })
}

/// The reload annotations, refused where they cannot work: upstream's agent image, no
/// sidecar, or a signal with the process namespace explicitly not shared.
fn reloads(
    pod: &Pod<'_>,
    secrets: &[Secret<'_>],
    image: &str,
    native_command: bool,
    pre_populate_only: bool,
    share_process_namespace: Option<bool>,
) -> Result<crate::reload::Reloads, String> {
    let reloads = crate::reload::plan(pod, secrets, crate::config::destination)?;
    if reloads.env.is_empty() {
        return Ok(reloads);
    }
    if !native_command {
        return Err(format!(
            "the agent-inject-reload-* annotations are implemented by vault-k8s agent only, and agent image {image:?} runs upstream's agent; remove them or use the vault-k8s agent image"
        ));
    }
    if pre_populate_only {
        return Err(format!(
            "the agent-inject-reload-* annotations need the sidecar, but \"{}\" is true",
            k::AGENT_PRE_POPULATE_ONLY
        ));
    }
    if reloads.signals
        && (share_process_namespace == Some(false) || pod.share_process_namespace == Some(false))
    {
        return Err(format!(
            "agent-inject-reload-signal-* needs shareProcessNamespace: true, but the pod or \"{}\" disables it; use agent-inject-reload-http-* instead",
            k::AGENT_SHARE_PROCESS_NAMESPACE
        ));
    }
    Ok(reloads)
}

/// `agent-credential-handoff`: on by default (`-agent-credential-handoff`) where it can work,
/// i.e. this project's agent with both an init agent and a sidecar (with `agent-cache-enable`
/// the persistent cache does the same). Asked for explicitly on a pod whose agent image cannot
/// do it, it is refused rather than ignored.
fn handoff(
    ann: &Annotations<'_>,
    image: &str,
    native: bool,
    applicable: bool,
) -> Result<bool, String> {
    let handle = known::AGENT_CREDENTIAL_HANDOFF;
    let key = handle.name();
    let raw = ann.get(handle).unwrap_or("");
    let on = parse_bool(raw)
        .map_err(|e| format!("invalid value {raw:?} for annotation \"{key}\": {e}"))?;
    if on && !native && ann.pod().get(key).is_some() {
        return Err(format!(
            "annotation \"{key}\" is implemented by vault-k8s agent only, and agent image {image:?} runs upstream's agent; remove the annotation or use the vault-k8s agent image"
        ));
    }
    Ok(on && native && applicable)
}

/// Spec §3.2: the token volume named by the annotation, else the first `serviceaccount` mount.
fn service_account(pod: &Pod<'_>, volume_name: &str) -> Result<ServiceAccount, String> {
    if volume_name.is_empty() {
        let m = pod
            .containers
            .iter()
            .flat_map(|c| c.mounts.iter())
            .find(|m| m.mount_path.contains("serviceaccount"))
            .ok_or("failed to find service account volume mount")?;
        return Ok(ServiceAccount {
            name: m.name.to_owned(),
            mount_path: m.mount_path.to_owned(),
            token_path: "token".to_owned(),
        });
    }
    let mount = pod
        .containers
        .iter()
        .flat_map(|c| c.mounts.iter())
        .find(|m| m.name == volume_name);
    let mount_path = match (mount, pod.volume(volume_name)) {
        (Some(m), Some(_)) => m.mount_path.to_owned(),
        (Some(_), None) => {
            return Err(format!(
                "failed to find volume \"{volume_name}\" in Pod \"{}\" volumes",
                pod.name
            ));
        }
        (None, Some(_)) => "/var/run/secrets/vault.hashicorp.com/serviceaccount".to_owned(),
        (None, None) => {
            return Err(format!(
                "failed to find service account volume \"{volume_name}\""
            ));
        }
    };
    let token_path = pod
        .volume(volume_name)
        .and_then(|v| pod::field(v, "projected"))
        .and_then(|p| pod::field(p, "sources"))
        .and_then(Json::as_array)
        .and_then(|sources| {
            sources
                .iter()
                .filter_map(|s| pod::field(s, "serviceAccountToken"))
                .map(|t| pod::str_field(t, "path"))
                .find(|p| !p.is_empty())
        })
        .ok_or_else(|| {
            format!("failed to find tokenPath for projected volume \"{volume_name}\"")
        })?;
    Ok(ServiceAccount {
        name: volume_name.to_owned(),
        mount_path,
        token_path: token_path.to_owned(),
    })
}

/// Validate: the error is the inner message of `error validating agent configuration: …`.
pub(crate) fn validate(agent: &Agent<'_>) -> Result<(), &'static str> {
    if agent.get(known::AGENT_REQUEST_NAMESPACE).is_empty() {
        return Err("namespace missing from request");
    }
    let sa = &agent.service_account;
    if sa.name.is_empty() || sa.mount_path.is_empty() || sa.token_path.is_empty() {
        return Err("no service account token volume name, mount path or token path found");
    }
    if agent.get(known::AGENT_IMAGE).is_empty() {
        return Err("no Vault image found");
    }
    if agent.configmap().is_empty() {
        let auth_type = agent.get(known::AUTH_TYPE);
        if auth_type.is_empty() {
            return Err("no Vault Auth Type found");
        }
        let config_role = agent
            .annotations
            .pod()
            .get_joined(k::AUTH_CONFIG_PREFIX, "role")
            .unwrap_or("");
        if auth_type == "kubernetes" && agent.get(known::ROLE).is_empty() && config_role.is_empty()
        {
            return Err("no Vault role found");
        }
        if agent.get(known::AUTH_PATH).is_empty() {
            return Err("no Vault Auth Path found");
        }
        if agent.get(known::SERVICE).is_empty() {
            return Err("no Vault address found");
        }
    }
    Ok(())
}
