//! Annotation keys (spec §2.2–§2.4) and the Init stage: filling absent keys with injector
//! defaults (presence, not emptiness, decides) through a lookup view that copies nothing.

use std::borrow::Cow;

use crate::InjectorSettings;
use crate::jsonpatch::{self, Operation};
use crate::key_table;
use crate::pod::{Pod, PodAnnotations};

pub const PREFIX: &str = "vault.hashicorp.com/";

macro_rules! keys {
    ($($(#[$doc:meta])* $name:ident = $suffix:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = concat!("vault.hashicorp.com/", $suffix);)*

        /// Every key above, in order (their index is their `key_table` id).
        pub(crate) const ALL_KEYS: &[&str] = &[$($name),*];

        /// A [`Known`] handle for every key above, under the same name.
        // Not every key is read through the view (prefixes, pod-only keys), hence the allow.
        #[allow(dead_code)]
        pub(crate) mod known {
            use super::Known;
            $(pub(crate) const $name: Known = Known::of(super::$name);)*

            /// Every handle, in the order of `ALL_KEYS`.
            #[cfg(test)]
            pub(crate) const ALL: &[Known] = &[$($name),*];
        }
    };
}

/// A known annotation key with its `key_table` id, found at compile time: reading a constant
/// key through [`Annotations::get`] is then an array index. Looking the id up on every read
/// (hash plus comparison, ~140 times per admission) cost ~23k of the ~152k instructions
/// `mutate` spent on the benchmark's `webapp` pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Known {
    name: &'static str,
    id: u8,
}

impl Known {
    /// The handle of `name`, for the const items of the `known` module only (hence private),
    /// where a name missing from the table panics at compile time, i.e. fails the build.
    const fn of(name: &'static str) -> Known {
        match key_table::const_id(name) {
            // `key_table::build` asserts fewer than 128 keys, so the id fits.
            Some(id) => Known { name, id: id as u8 },
            None => panic!("not a known annotation key"),
        }
    }

    /// The full annotation name (for messages).
    pub(crate) const fn name(self) -> &'static str {
        self.name
    }

    fn id(self) -> usize {
        usize::from(self.id)
    }
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
    /// Not upstream: `auto`, `native` or `shell`, overriding `-agent-command-style` for this pod.
    AGENT_COMMAND_STYLE = "agent-command-style";
    /// Not upstream: `false` turns off the init → sidecar credential handoff for this pod
    /// (default: `-agent-credential-handoff`).
    AGENT_CREDENTIAL_HANDOFF = "agent-credential-handoff";
    /// Not upstream: `true`/`false`, overriding `-agent-metrics` for this pod.
    AGENT_METRICS = "agent-metrics";
    /// Not upstream (name of upstream's proposal): run one agent as a native sidecar.
    AGENT_NATIVE_SIDECAR = "agent-native-sidecar";
    /// Not upstream: a template that does not parse denies the pod instead of warning.
    AGENT_DENY_TEMPLATE_ERRORS = "agent-deny-template-errors";
    /// Not upstream: restricted Pod Security fields on the injected containers.
    AGENT_RESTRICTED_PROFILE = "agent-restricted-profile";
    /// Not upstream: `sizeLimit` of the in-memory secrets volumes.
    SECRET_VOLUME_SIZE_LIMIT = "secret-volume-size-limit";
    /// Not upstream: `true`/`false`, overriding `-agent-otel-forward` for this pod: set the
    /// injector's own OpenTelemetry variables on the agent containers.
    AGENT_OTEL_FORWARD = "agent-otel-forward";

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
    /// Not upstream (`reload.rs`): `"SIGNAL PROCESS"` sent after the secret's file is rewritten.
    RELOAD_SIGNAL_PREFIX = "agent-inject-reload-signal-";
    /// Not upstream (`reload.rs`): `"[METHOD] URL"` called after the secret's file is rewritten.
    RELOAD_HTTP_PREFIX = "agent-inject-reload-http-";

    /// Prefix families.
    AUTH_CONFIG_PREFIX = "auth-config-";
    TELEMETRY_PREFIX = "agent-telemetry-";
}

/// Default of `secret-volume-path`.
pub const DEFAULT_SECRET_VOLUME_PATH: &str = "/vault/secrets";

/// The annotations as Init leaves them, without materialising the defaults: a key the pod
/// carries wins (presence, not emptiness, decides), otherwise the injector default applies.
/// Only keys with a default exist beyond the pod's own, and none of them starts with a
/// per-secret or prefix-family prefix, so family scans read the pod's annotations alone.
///
/// Every known key (the constants above) is resolved once, when Init builds the view, into
/// a slot addressed by its `key_table` id; other keys are looked up in the pod's annotations.
#[derive(Debug)]
pub(crate) struct Annotations<'p> {
    pod: &'p PodAnnotations<'p>,
    settings: &'p InjectorSettings,
    /// Comma-joined container names; borrowed when the pod has at most one container.
    container_names: Cow<'p, str>,
    /// `max_connections_per_host` formatted once (empty when the pod sets the key).
    max_connections: String,
    resolved: [Slot<'p>; key_table::COUNT],
}

/// The post-Init value of one known key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot<'p> {
    /// Neither the pod nor a default sets it.
    Absent,
    /// A value borrowed from the pod, the settings or the request.
    Str(&'p str),
    /// [`Annotations::container_names`].
    ContainerNames,
    /// [`Annotations::max_connections`].
    MaxConnections,
}

impl<'p> Annotations<'p> {
    /// The post-Init value of the known key `key`, if Init would have it in the map.
    pub(crate) fn get(&self, key: Known) -> Option<&str> {
        self.slot(key.id())
    }

    /// [`Self::get`] for a key named at run time: known keys by their id, any other key in
    /// the pod's annotations.
    #[cfg(test)]
    pub(crate) fn get_named(&self, key: &str) -> Option<&str> {
        match key_table::id(key) {
            Some(id) => self.slot(id),
            None => self.pod.get(key),
        }
    }

    fn slot(&self, id: usize) -> Option<&str> {
        match self.resolved[id] {
            Slot::Absent => None,
            Slot::Str(v) => Some(v),
            Slot::ContainerNames => Some(&self.container_names),
            Slot::MaxConnections => Some(&self.max_connections),
        }
    }

    /// The injector settings behind the defaults (for keys Init does not default).
    pub(crate) fn settings(&self) -> &'p InjectorSettings {
        self.settings
    }

    /// The pod's own annotations (for family scans and per-secret lookups).
    pub(crate) fn pod(&self) -> &'p PodAnnotations<'p> {
        self.pod
    }
}

/// The defaults Init inserts for keys the pod lacks (a key missing here has no default).
fn defaults<'p>(
    s: &'p InjectorSettings,
    namespace: &'p str,
    set_security_context: bool,
) -> [(Known, Slot<'p>); 37] {
    // The handles (ids found at compile time), shadowing the `&str` names.
    use known::*;
    let or =
        |v: &'p str, fallback: &'static str| Slot::Str(if v.is_empty() { fallback } else { v });
    let str = Slot::Str;
    let bool = |b: bool| Slot::Str(go_bool(b));
    // The backoff defaults exist only when the flags were given.
    let given = |v: &'p str| {
        if v.is_empty() {
            Slot::Absent
        } else {
            Slot::Str(v)
        }
    };
    [
        (SERVICE, str(&s.vault_address)),
        (AGENT_IMAGE, or(&s.vault_image, crate::DEFAULT_AGENT_IMAGE)),
        (AGENT_REQUEST_NAMESPACE, str(namespace)),
        (PROXY_ADDRESS, str(&s.proxy_address)),
        (AUTH_TYPE, or(&s.vault_auth_type, "kubernetes")),
        (AUTH_PATH, str(&s.vault_auth_path)),
        (NAMESPACE, str(&s.vault_namespace)),
        (AGENT_INJECT_CONTAINERS, Slot::ContainerNames),
        (AGENT_LIMITS_CPU, str(&s.cpu_limit)),
        (AGENT_LIMITS_MEM, str(&s.memory_limit)),
        (AGENT_LIMITS_EPHEMERAL, str(&s.ephemeral_limit)),
        (AGENT_REQUESTS_CPU, str(&s.cpu_request)),
        (AGENT_REQUESTS_MEM, str(&s.memory_request)),
        (AGENT_REQUESTS_EPHEMERAL, str(&s.ephemeral_request)),
        (SECRET_VOLUME_PATH, str(DEFAULT_SECRET_VOLUME_PATH)),
        (AGENT_REVOKE_ON_SHUTDOWN, bool(s.revoke_on_shutdown)),
        (AGENT_REVOKE_GRACE, str("5")),
        (LOG_LEVEL, str("info")),
        (LOG_FORMAT, str("standard")),
        (AGENT_SERVICE_ACCOUNT_TOKEN_VOLUME_NAME, str("")),
        (AGENT_RUN_AS_USER, or(&s.run_as_user, "100")),
        (AGENT_RUN_AS_GROUP, or(&s.run_as_group, "1000")),
        (AGENT_RUN_AS_SAME_USER, bool(s.run_as_same_user)),
        (AGENT_SET_SECURITY_CONTEXT, bool(set_security_context)),
        (AGENT_CACHE_ENABLE, str("false")),
        (AGENT_CACHE_USE_AUTO_AUTH_TOKEN, str("true")),
        (AGENT_CACHE_LISTENER_PORT, str("8200")),
        (AGENT_CACHE_EXIT_ON_ERR, str("false")),
        (AGENT_INJECT_DEFAULT_TEMPLATE, str(&s.default_template)),
        (
            TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE,
            bool(s.exit_on_retry_failure),
        ),
        (
            TEMPLATE_STATIC_SECRET_RENDER_INTERVAL,
            str(&s.static_secret_render_interval),
        ),
        (TEMPLATE_MAX_CONNECTIONS_PER_HOST, Slot::MaxConnections),
        (AUTH_MIN_BACKOFF, given(&s.auth_min_backoff)),
        (AUTH_MAX_BACKOFF, given(&s.auth_max_backoff)),
        (
            AGENT_DISABLE_IDLE_CONNECTIONS,
            str(&s.disable_idle_connections),
        ),
        (AGENT_DISABLE_KEEP_ALIVES, str(&s.disable_keep_alives)),
        (AGENT_CREDENTIAL_HANDOFF, bool(s.credential_handoff)),
    ]
}

/// The post-Init annotations plus the JSON patches Init decoded.
#[derive(Debug)]
pub(crate) struct Initialized<'p> {
    pub(crate) annotations: Annotations<'p>,
    pub(crate) sidecar_patch: Option<Vec<Operation>>,
    pub(crate) init_patch: Option<Vec<Operation>>,
}

fn go_bool(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Init: returns the inner message of `error adding default annotations: …` on failure.
pub(crate) fn init<'p>(
    pod: &'p Pod<'p>,
    namespace: &'p str,
    settings: &'p InjectorSettings,
) -> Result<Initialized<'p>, String> {
    if settings.vault_address.is_empty() {
        return Err("address for Vault required".to_owned());
    }
    if settings.vault_auth_path.is_empty() {
        return Err("Vault Auth Path required".to_owned());
    }
    if namespace.is_empty() {
        return Err("kubernetes namespace required".to_owned());
    }
    let own = &pod.annotations;
    let container_names = match pod.containers.as_slice() {
        [] => Cow::Borrowed(""),
        [only] => Cow::Borrowed(only.name),
        many => {
            let names: Vec<&str> = many.iter().map(|c| c.name).collect();
            Cow::Owned(names.join(","))
        }
    };
    let max_connections = if own.contains_key(TEMPLATE_MAX_CONNECTIONS_PER_HOST) {
        String::new()
    } else {
        settings.max_connections_per_host.to_string()
    };
    // The security-context default flips to true when the user asked for any run-as setting.
    let run_as_given = [
        AGENT_RUN_AS_USER,
        AGENT_RUN_AS_SAME_USER,
        AGENT_RUN_AS_GROUP,
    ]
    .iter()
    .any(|k| own.contains_key(k));
    let mut resolved = [Slot::Absent; key_table::COUNT];
    for (key, value) in own.iter() {
        if let Some(id) = key_table::id(key) {
            resolved[id] = Slot::Str(value);
        }
    }
    let set_security_context = settings.set_security_context || run_as_given;
    // The defaults' handles carry their ids: no lookup per default.
    for (key, default) in defaults(settings, namespace, set_security_context) {
        let slot = &mut resolved[key.id()];
        if *slot == Slot::Absent {
            *slot = default;
        }
    }
    let annotations = Annotations {
        pod: own,
        settings,
        container_names,
        max_connections,
        resolved,
    };

    for (key, what) in [
        (known::AUTH_MIN_BACKOFF, "min"),
        (known::AUTH_MAX_BACKOFF, "max"),
    ] {
        if let Some(v) = annotations.get(key).filter(|v| !v.is_empty()) {
            crate::primitives::parse_duration(v)
                .map_err(|e| format!("error parsing {what} backoff as duration: {e}"))?;
        }
    }
    // Upstream deletes a present-but-empty patch annotation; no later stage reads these keys,
    // so treating empty as absent is the whole effect.
    let sidecar_patch = decode_patch(own, AGENT_JSON_PATCH)?;
    let init_patch = decode_patch(own, AGENT_INIT_JSON_PATCH)?;
    Ok(Initialized {
        annotations,
        sidecar_patch,
        init_patch,
    })
}

/// A non-empty patch annotation must decode.
fn decode_patch(ann: &PodAnnotations<'_>, key: &str) -> Result<Option<Vec<Operation>>, String> {
    match ann.get(key) {
        None | Some("") => Ok(None),
        Some(v) => jsonpatch::decode(v)
            .map(Some)
            .map_err(|e| format!("error parsing JSON patch for annotation {key}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each handle's compile-time id is its own key's index in `ALL_KEYS`, one handle per key.
    #[test]
    fn every_handle_names_its_own_key() {
        assert_eq!(known::ALL.len(), ALL_KEYS.len());
        for (i, (handle, name)) in known::ALL.iter().zip(ALL_KEYS).enumerate() {
            assert_eq!(handle.name(), *name);
            assert_eq!(handle.id(), i, "{name}");
            assert_eq!(ALL_KEYS[handle.id()], handle.name());
            assert_eq!(key_table::id(name), Some(handle.id()), "{name}");
        }
        assert_eq!(known::ROLE.name(), ROLE);
        assert_eq!(ALL_KEYS[known::ROLE.id()], ROLE);
    }

    /// Family scans skip the defaults, which is only sound while no defaulted key carries a
    /// family prefix.
    #[test]
    fn no_default_key_has_a_family_prefix() {
        let raw = serde_json::json!({"metadata": {"annotations": {}}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let raw = crate::jsontree::Json::from_value(&raw);
        let pod = Pod::decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        let settings = InjectorSettings {
            vault_address: "https://v".to_owned(),
            auth_min_backoff: "1s".to_owned(),
            auth_max_backoff: "2s".to_owned(),
            ..InjectorSettings::default()
        };
        let init = init(&pod, "ns", &settings).unwrap_or_else(|e| panic!("{e}"));
        let ann = &init.annotations;
        assert_eq!(ann.get(known::AGENT_INJECT_CONTAINERS), Some("a,b"));
        assert_eq!(ann.get(known::TEMPLATE_MAX_CONNECTIONS_PER_HOST), Some("0"));
        assert_eq!(ann.get(known::AUTH_MIN_BACKOFF), Some("1s"));
        assert_eq!(ann.get(known::ROLE), None);
        let families = [
            SECRET_PREFIX,
            TEMPLATE_PREFIX,
            TEMPLATE_FILE_PREFIX,
            FILE_PREFIX,
            PERMS_PREFIX,
            COMMAND_PREFIX,
            LEFT_DELIM_PREFIX,
            RIGHT_DELIM_PREFIX,
            SECRET_VOLUME_PATH_PREFIX,
            ERROR_ON_MISSING_KEY_PREFIX,
            PRESERVE_SECRET_CASE_PREFIX,
            AUTH_CONFIG_PREFIX,
            TELEMETRY_PREFIX,
        ];
        for key in DEFAULTED {
            let name = key.name();
            assert!(ann.get(key).is_some(), "{name} has no default");
            for prefix in families {
                assert!(!name.starts_with(prefix), "{name} starts with {prefix}");
            }
        }
    }

    /// Each default lands in its own key's slot: a pod without annotations reads exactly the
    /// defaults, and a pod value (even an empty one) hides the default.
    #[test]
    fn every_default_is_resolved() {
        let settings = InjectorSettings {
            vault_address: "https://v".to_owned(),
            auth_min_backoff: "1s".to_owned(),
            ..InjectorSettings::default()
        };
        let table = defaults(&settings, "ns", settings.set_security_context);
        let mut seen = [false; key_table::COUNT];
        for (key, _) in &table {
            assert_eq!(ALL_KEYS[key.id()], key.name());
            assert!(!seen[key.id()], "{} defaulted twice", key.name());
            seen[key.id()] = true;
        }

        // No pod annotations: every known key reads its default, or nothing.
        let raw = serde_json::json!({"metadata": {"annotations": {}}, "spec": {"containers": [{"name": "a"}]}});
        let raw = crate::jsontree::Json::from_value(&raw);
        let pod = Pod::decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        let bare = init(&pod, "ns", &settings).unwrap_or_else(|e| panic!("{e}"));
        let ann = &bare.annotations;
        for key in known::ALL {
            let expected = match table.iter().find(|(k, _)| k == key) {
                None | Some((_, Slot::Absent)) => None,
                Some((_, Slot::Str(v))) => Some(*v),
                Some((_, Slot::ContainerNames)) => Some("a"),
                Some((_, Slot::MaxConnections)) => Some("0"),
            };
            assert_eq!(ann.get(*key), expected, "{}", key.name());
        }

        let raw = serde_json::json!({"metadata": {"annotations": {ROLE: "r", SERVICE: "", LOG_LEVEL: "debug", "example.com/other": "o"}}, "spec": {"containers": [{"name": "a"}]}});
        let raw = crate::jsontree::Json::from_value(&raw);
        let pod = Pod::decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        let init = init(&pod, "ns", &settings).unwrap_or_else(|e| panic!("{e}"));
        let ann = &init.annotations;
        assert_eq!(ann.get(known::SERVICE), Some(""));
        assert_eq!(ann.get(known::LOG_LEVEL), Some("debug"));
        assert_eq!(ann.get(known::ROLE), Some("r"));
        assert_eq!(ann.get(known::LOG_FORMAT), Some("standard"));
        assert_eq!(ann.get(known::AGENT_REQUEST_NAMESPACE), Some("ns"));
        assert_eq!(ann.get(known::AGENT_INJECT_CONTAINERS), Some("a"));
        assert_eq!(ann.get(known::AUTH_MIN_BACKOFF), Some("1s"));
        assert_eq!(
            ann.get(known::AUTH_MAX_BACKOFF),
            None,
            "no flag, no default"
        );
        assert_eq!(ann.get(known::AGENT_CREDENTIAL_HANDOFF), Some("true"));
        assert_eq!(ann.get(known::TLS_SECRET), None);
        for (key, _) in &table {
            assert!(
                *key == known::AUTH_MAX_BACKOFF || ann.get(*key).is_some(),
                "{} has no value",
                key.name()
            );
        }
        // A key named at run time reads the same slot as its handle; other keys read the pod.
        for key in known::ALL {
            assert_eq!(ann.get_named(key.name()), ann.get(*key), "{}", key.name());
        }
        assert_eq!(ann.get_named("example.com/other"), Some("o"));
        assert_eq!(ann.get_named("vault.hashicorp.com/unknown"), None);
    }

    /// Every key Init defaults (with both backoff flags set).
    const DEFAULTED: [Known; 36] = {
        use known::*;
        [
            SERVICE,
            AGENT_IMAGE,
            AGENT_REQUEST_NAMESPACE,
            PROXY_ADDRESS,
            AUTH_TYPE,
            AUTH_PATH,
            NAMESPACE,
            AGENT_INJECT_CONTAINERS,
            AGENT_LIMITS_CPU,
            AGENT_LIMITS_MEM,
            AGENT_LIMITS_EPHEMERAL,
            AGENT_REQUESTS_CPU,
            AGENT_REQUESTS_MEM,
            AGENT_REQUESTS_EPHEMERAL,
            SECRET_VOLUME_PATH,
            AGENT_REVOKE_ON_SHUTDOWN,
            AGENT_REVOKE_GRACE,
            LOG_LEVEL,
            LOG_FORMAT,
            AGENT_SERVICE_ACCOUNT_TOKEN_VOLUME_NAME,
            AGENT_RUN_AS_USER,
            AGENT_RUN_AS_GROUP,
            AGENT_RUN_AS_SAME_USER,
            AGENT_SET_SECURITY_CONTEXT,
            AGENT_CACHE_ENABLE,
            AGENT_CACHE_USE_AUTO_AUTH_TOKEN,
            AGENT_CACHE_LISTENER_PORT,
            AGENT_CACHE_EXIT_ON_ERR,
            AGENT_INJECT_DEFAULT_TEMPLATE,
            TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE,
            TEMPLATE_STATIC_SECRET_RENDER_INTERVAL,
            TEMPLATE_MAX_CONNECTIONS_PER_HOST,
            AUTH_MIN_BACKOFF,
            AUTH_MAX_BACKOFF,
            AGENT_DISABLE_IDLE_CONNECTIONS,
            AGENT_DISABLE_KEEP_ALIVES,
        ]
    };
}
