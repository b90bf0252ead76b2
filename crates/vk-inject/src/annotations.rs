//! Annotation keys (spec §2.2–§2.4) and the Init stage: filling absent keys with injector
//! defaults in an in-memory copy (presence, not emptiness, decides).

use std::collections::BTreeMap;

use crate::InjectorSettings;
use crate::jsonpatch::{self, Operation};
use crate::pod::Pod;

pub const PREFIX: &str = "vault.hashicorp.com/";

macro_rules! keys {
    ($($(#[$doc:meta])* $name:ident = $suffix:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = concat!("vault.hashicorp.com/", $suffix);)*
    };
}

keys! {
    AGENT_INJECT = "agent-inject";
    AGENT_INJECT_STATUS = "agent-inject-status";
    AGENT_IMAGE = "agent-image";
    AGENT_REQUEST_NAMESPACE = "agent-request-namespace";
    SERVICE = "service";
    PROXY_ADDRESS = "proxy-address";
    AUTH_TYPE = "auth-type";
    AUTH_PATH = "auth-path";
    NAMESPACE = "namespace";
    ROLE = "role";
    AUTH_MIN_BACKOFF = "auth-min-backoff";
    AUTH_MAX_BACKOFF = "auth-max-backoff";
    AGENT_AUTO_AUTH_EXIT_ON_ERR = "agent-auto-auth-exit-on-err";
    AGENT_CONFIGMAP = "agent-configmap";
    AGENT_EXTRA_SECRET = "agent-extra-secret";
    AGENT_COPY_VOLUME_MOUNTS = "agent-copy-volume-mounts";
    AGENT_INJECT_CONTAINERS = "agent-inject-containers";
    AGENT_INIT_FIRST = "agent-init-first";
    AGENT_PRE_POPULATE = "agent-pre-populate";
    AGENT_PRE_POPULATE_ONLY = "agent-pre-populate-only";
    AGENT_INJECT_DEFAULT_TEMPLATE = "agent-inject-default-template";
    AGENT_INJECT_TOKEN = "agent-inject-token";
    SECRET_VOLUME_PATH = "secret-volume-path";
    PRESERVE_SECRET_CASE = "preserve-secret-case";
    AGENT_LIMITS_CPU = "agent-limits-cpu";
    AGENT_LIMITS_MEM = "agent-limits-mem";
    AGENT_LIMITS_EPHEMERAL = "agent-limits-ephemeral";
    AGENT_REQUESTS_CPU = "agent-requests-cpu";
    AGENT_REQUESTS_MEM = "agent-requests-mem";
    AGENT_REQUESTS_EPHEMERAL = "agent-requests-ephemeral";
    AGENT_REVOKE_ON_SHUTDOWN = "agent-revoke-on-shutdown";
    AGENT_REVOKE_GRACE = "agent-revoke-grace";
    TLS_SKIP_VERIFY = "tls-skip-verify";
    TLS_SECRET = "tls-secret";
    TLS_SERVER_NAME = "tls-server-name";
    CA_CERT = "ca-cert";
    CA_KEY = "ca-key";
    CLIENT_CERT = "client-cert";
    CLIENT_KEY = "client-key";
    CLIENT_MAX_RETRIES = "client-max-retries";
    CLIENT_TIMEOUT = "client-timeout";
    GO_MAX_PROCS = "go-max-procs";
    LOG_LEVEL = "log-level";
    LOG_FORMAT = "log-format";
    AGENT_RUN_AS_USER = "agent-run-as-user";
    AGENT_RUN_AS_GROUP = "agent-run-as-group";
    AGENT_RUN_AS_SAME_USER = "agent-run-as-same-user";
    AGENT_SET_SECURITY_CONTEXT = "agent-set-security-context";
    AGENT_SHARE_PROCESS_NAMESPACE = "agent-share-process-namespace";
    AGENT_SERVICE_ACCOUNT_TOKEN_VOLUME_NAME = "agent-service-account-token-volume-name";
    AGENT_CACHE_ENABLE = "agent-cache-enable";
    AGENT_CACHE_USE_AUTO_AUTH_TOKEN = "agent-cache-use-auto-auth-token";
    AGENT_CACHE_LISTENER_PORT = "agent-cache-listener-port";
    AGENT_CACHE_EXIT_ON_ERR = "agent-cache-exit-on-err";
    AGENT_ENABLE_QUIT = "agent-enable-quit";
    TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE = "template-config-exit-on-retry-failure";
    TEMPLATE_STATIC_SECRET_RENDER_INTERVAL = "template-static-secret-render-interval";
    TEMPLATE_MAX_CONNECTIONS_PER_HOST = "template-max-connections-per-host";
    TEMPLATE_LEASE_RENEWAL_THRESHOLD = "template-lease-renewal-threshold";
    AGENT_DISABLE_IDLE_CONNECTIONS = "agent-disable-idle-connections";
    AGENT_DISABLE_KEEP_ALIVES = "agent-disable-keep-alives";
    AGENT_JSON_PATCH = "agent-json-patch";
    AGENT_INIT_JSON_PATCH = "agent-init-json-patch";

    /// Per-secret families (suffix = raw secret name).
    SECRET_PREFIX = "agent-inject-secret-";
    TEMPLATE_PREFIX = "agent-inject-template-";
    TEMPLATE_FILE_PREFIX = "agent-inject-template-file-";
    FILE_PREFIX = "agent-inject-file-";
    PERMS_PREFIX = "agent-inject-perms-";
    COMMAND_PREFIX = "agent-inject-command-";
    LEFT_DELIM_PREFIX = "agent-template-left-delim-";
    RIGHT_DELIM_PREFIX = "agent-template-right-delim-";
    SECRET_VOLUME_PATH_PREFIX = "secret-volume-path-";
    ERROR_ON_MISSING_KEY_PREFIX = "error-on-missing-key-";
    PRESERVE_SECRET_CASE_PREFIX = "preserve-secret-case-";

    /// Prefix families.
    AUTH_CONFIG_PREFIX = "auth-config-";
    TELEMETRY_PREFIX = "agent-telemetry-";
}

/// Default of `secret-volume-path`.
pub const DEFAULT_SECRET_VOLUME_PATH: &str = "/vault/secrets";

/// The annotation map after Init plus the JSON patches it decoded.
#[derive(Debug)]
pub(crate) struct Initialized {
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) sidecar_patch: Option<Vec<Operation>>,
    pub(crate) init_patch: Option<Vec<Operation>>,
}

fn go_bool(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Init: returns the inner message of `error adding default annotations: …` on failure.
pub(crate) fn init(
    pod: &Pod<'_>,
    namespace: &str,
    settings: &InjectorSettings,
) -> Result<Initialized, String> {
    if settings.vault_address.is_empty() {
        return Err("address for Vault required".to_owned());
    }
    if settings.vault_auth_path.is_empty() {
        return Err("Vault Auth Path required".to_owned());
    }
    if namespace.is_empty() {
        return Err("kubernetes namespace required".to_owned());
    }
    let mut ann = pod.annotations.clone();
    let mut default = |key: &str, value: &str| {
        if !ann.contains_key(key) {
            ann.insert(key.to_owned(), value.to_owned());
        }
    };
    let or = |v: &str, fallback: &'static str| -> String {
        if v.is_empty() {
            fallback.to_owned()
        } else {
            v.to_owned()
        }
    };

    default(SERVICE, &settings.vault_address);
    default(
        AGENT_IMAGE,
        &or(&settings.vault_image, crate::DEFAULT_AGENT_IMAGE),
    );
    default(AGENT_REQUEST_NAMESPACE, namespace);
    default(PROXY_ADDRESS, &settings.proxy_address);
    default(AUTH_TYPE, &or(&settings.vault_auth_type, "kubernetes"));
    default(AUTH_PATH, &settings.vault_auth_path);
    default(NAMESPACE, &settings.vault_namespace);
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name).collect();
    default(AGENT_INJECT_CONTAINERS, &names.join(","));
    default(AGENT_LIMITS_CPU, &settings.cpu_limit);
    default(AGENT_LIMITS_MEM, &settings.memory_limit);
    default(AGENT_LIMITS_EPHEMERAL, &settings.ephemeral_limit);
    default(AGENT_REQUESTS_CPU, &settings.cpu_request);
    default(AGENT_REQUESTS_MEM, &settings.memory_request);
    default(AGENT_REQUESTS_EPHEMERAL, &settings.ephemeral_request);
    default(SECRET_VOLUME_PATH, DEFAULT_SECRET_VOLUME_PATH);
    default(
        AGENT_REVOKE_ON_SHUTDOWN,
        go_bool(settings.revoke_on_shutdown),
    );
    default(AGENT_REVOKE_GRACE, "5");
    default(LOG_LEVEL, "info");
    default(LOG_FORMAT, "standard");
    default(AGENT_SERVICE_ACCOUNT_TOKEN_VOLUME_NAME, "");
    // The security-context default flips to true when the user asked for any run-as setting.
    let run_as_given = [
        AGENT_RUN_AS_USER,
        AGENT_RUN_AS_SAME_USER,
        AGENT_RUN_AS_GROUP,
    ]
    .iter()
    .any(|k| pod.annotations.contains_key(*k));
    default(AGENT_RUN_AS_USER, &or(&settings.run_as_user, "100"));
    default(AGENT_RUN_AS_GROUP, &or(&settings.run_as_group, "1000"));
    default(AGENT_RUN_AS_SAME_USER, go_bool(settings.run_as_same_user));
    default(
        AGENT_SET_SECURITY_CONTEXT,
        go_bool(settings.set_security_context || run_as_given),
    );
    default(AGENT_CACHE_ENABLE, "false");
    default(AGENT_CACHE_USE_AUTO_AUTH_TOKEN, "true");
    default(AGENT_CACHE_LISTENER_PORT, "8200");
    default(AGENT_CACHE_EXIT_ON_ERR, "false");
    default(AGENT_INJECT_DEFAULT_TEMPLATE, &settings.default_template);
    default(
        TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE,
        go_bool(settings.exit_on_retry_failure),
    );
    default(
        TEMPLATE_STATIC_SECRET_RENDER_INTERVAL,
        &settings.static_secret_render_interval,
    );
    default(
        TEMPLATE_MAX_CONNECTIONS_PER_HOST,
        &settings.max_connections_per_host.to_string(),
    );
    if !settings.auth_min_backoff.is_empty() {
        default(AUTH_MIN_BACKOFF, &settings.auth_min_backoff);
    }
    if !settings.auth_max_backoff.is_empty() {
        default(AUTH_MAX_BACKOFF, &settings.auth_max_backoff);
    }
    default(
        AGENT_DISABLE_IDLE_CONNECTIONS,
        &settings.disable_idle_connections,
    );
    default(AGENT_DISABLE_KEEP_ALIVES, &settings.disable_keep_alives);

    for (key, what) in [(AUTH_MIN_BACKOFF, "min"), (AUTH_MAX_BACKOFF, "max")] {
        if let Some(v) = ann.get(key).filter(|v| !v.is_empty()) {
            crate::primitives::parse_duration(v)
                .map_err(|e| format!("error parsing {what} backoff as duration: {e}"))?;
        }
    }
    let sidecar_patch = take_patch(&mut ann, AGENT_JSON_PATCH)?;
    let init_patch = take_patch(&mut ann, AGENT_INIT_JSON_PATCH)?;
    Ok(Initialized {
        annotations: ann,
        sidecar_patch,
        init_patch,
    })
}

/// A present-but-empty patch annotation is deleted; a non-empty one must decode.
fn take_patch(
    ann: &mut BTreeMap<String, String>,
    key: &str,
) -> Result<Option<Vec<Operation>>, String> {
    match ann.get(key) {
        None => Ok(None),
        Some(v) if v.is_empty() => {
            ann.remove(key);
            Ok(None)
        }
        Some(v) => jsonpatch::decode(v)
            .map(Some)
            .map_err(|e| format!("error parsing JSON patch for annotation {key}: {e}")),
    }
}
