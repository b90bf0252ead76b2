//! The injected `vault-agent-init` and `vault-agent` containers (spec §3.5–§3.11), as JSON
//! objects in Go's `core/v1` field order.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::InjectorSettings;
use crate::agent::Agent;
use crate::annotations as k;
use crate::pod::{self, Mount};
use crate::quantity::canonical_quantity;
use crate::{command, config, jsonpatch};

pub(crate) const INIT_NAME: &str = "vault-agent-init";
pub(crate) const SIDECAR_NAME: &str = "vault-agent";

const ARG_NORMAL: &str = "echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json";
const ARG_CM_INIT: &str =
    "touch /home/vault/.vault-token && vault agent -config=/vault/configs/config-init.hcl";
const ARG_CM_SIDE: &str =
    "touch /home/vault/.vault-token && vault agent -config=/vault/configs/config.hcl";

/// Names of the volumes the patch adds.
pub(crate) const VOL_HOME_INIT: &str = "home-init";
pub(crate) const VOL_HOME_SIDECAR: &str = "home-sidecar";
pub(crate) const VOL_SECRETS: &str = "vault-secrets";
pub(crate) const VOL_CONFIG: &str = "vault-config";
pub(crate) const VOL_EXTRA: &str = "extra-secrets";
pub(crate) const VOL_TLS: &str = "vault-tls-secrets";
pub(crate) const VOL_CACHE: &str = "vault-agent-cache";
/// Where the agents mount [`VOL_CACHE`].
pub(crate) const CACHE_PATH: &str = "/vault/agent-cache";
/// The agent's credential handoff directory variable (`vk_agent::HANDOFF_DIR_ENV`).
pub(crate) const HANDOFF_DIR_ENV: &str = "VAULT_K8S_AGENT_HANDOFF_DIR";

/// Go's `VolumeMount` JSON (`name`, `readOnly`, `mountPath`).
pub(crate) fn mount(name: &str, mount_path: &str, read_only: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".to_owned(), Value::String(name.to_owned()));
    if read_only {
        m.insert("readOnly".to_owned(), Value::Bool(true));
    }
    m.insert("mountPath".to_owned(), Value::String(mount_path.to_owned()));
    Value::Object(m)
}

/// The secrets mounts M (§3.4): the main secrets volume, then one per distinct custom path.
pub(crate) fn secrets_mounts(agent: &Agent<'_>) -> Vec<Value> {
    let global = agent.get(k::SECRET_VOLUME_PATH);
    let mut out = vec![mount(VOL_SECRETS, global, false)];
    for (i, path) in custom_paths(agent).iter().enumerate() {
        out.push(mount(&format!("{VOL_SECRETS}-custom-{i}"), path, false));
    }
    out
}

/// Distinct per-secret mount paths that differ from the global one, first occurrence wins.
pub(crate) fn custom_paths<'a>(agent: &'a Agent<'_>) -> Vec<&'a str> {
    let global = agent.get(k::SECRET_VOLUME_PATH);
    let mut out: Vec<&str> = Vec::new();
    for s in &agent.secrets {
        if s.mount_path != global && !out.contains(&s.mount_path) {
            out.push(s.mount_path);
        }
    }
    out
}

/// A copied mount, re-encoded in Go's `VolumeMount` field order.
fn copy_mount(m: &Mount<'_>) -> Value {
    let mut out = Map::new();
    out.insert("name".to_owned(), Value::String(m.name.to_owned()));
    if pod::field(m.raw, "readOnly").and_then(Value::as_bool) == Some(true) {
        out.insert("readOnly".to_owned(), Value::Bool(true));
    }
    if let Some(v) = pod::field(m.raw, "recursiveReadOnly") {
        out.insert("recursiveReadOnly".to_owned(), v.clone());
    }
    out.insert(
        "mountPath".to_owned(),
        Value::String(m.mount_path.to_owned()),
    );
    for key in ["subPath", "mountPropagation", "subPathExpr"] {
        let v = pod::str_field(m.raw, key);
        if !v.is_empty() {
            out.insert(key.to_owned(), Value::String(v.to_owned()));
        }
    }
    Value::Object(out)
}

/// Mounts after the home/SA pair: IRSA, M, extra secret, copied, config map, TLS, cache.
fn shared_mounts(agent: &Agent<'_>, out: &mut Vec<Value>) {
    if let Some((name, path)) = &agent.irsa {
        out.push(mount(name, path, true));
    }
    out.extend(secrets_mounts(agent));
    if !agent.get(k::AGENT_EXTRA_SECRET).is_empty() {
        out.push(mount(VOL_EXTRA, "/vault/custom", true));
    }
    let copy_from = agent.get(k::AGENT_COPY_VOLUME_MOUNTS);
    if !copy_from.is_empty() {
        let pod = agent.pod;
        let source = pod
            .containers
            .iter()
            .chain(pod.init_containers.iter())
            .find(|c| c.name == copy_from);
        if let Some(c) = source {
            for m in &c.mounts {
                if !m.mount_path.to_lowercase().contains("serviceaccount") {
                    out.push(copy_mount(m));
                }
            }
        }
    }
    if !agent.configmap().is_empty() {
        out.push(mount(VOL_CONFIG, "/vault/configs", true));
    }
    if !agent.get(k::TLS_SECRET).is_empty() {
        out.push(mount(VOL_TLS, "/vault/tls", true));
    }
    if agent.cache_volume() {
        out.push(mount(VOL_CACHE, CACHE_PATH, false));
    }
}

fn env_value(name: &str, value: &str) -> Value {
    let mut m = Map::new();
    m.insert("name".to_owned(), Value::String(name.to_owned()));
    if !value.is_empty() {
        m.insert("value".to_owned(), Value::String(value.to_owned()));
    }
    Value::Object(m)
}

fn env_field_ref(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// `VAULT_CACERT_BYTES`: the decoded text when the flag is padded standard base64 (CR/LF
/// ignored, as Go's decoder does), else the raw value.
fn cacert_bytes(raw: &str) -> String {
    let cleaned: String = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    match engine.decode(cleaned.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => raw.to_owned(),
    }
}

fn env(agent: &Agent<'_>, settings: &InjectorSettings, config: &str) -> Vec<Value> {
    let mut env = vec![
        env_field_ref("NAMESPACE", "metadata.namespace"),
        env_field_ref("HOST_IP", "status.hostIP"),
        env_field_ref("POD_IP", "status.podIP"),
    ];
    let opt = |env: &mut Vec<Value>, name: &str, key: &str| {
        let v = agent.get(key);
        if !v.is_empty() {
            env.push(env_value(name, v));
        }
    };
    opt(&mut env, "GOMAXPROCS", k::GO_MAX_PROCS);
    opt(&mut env, "VAULT_CLIENT_TIMEOUT", k::CLIENT_TIMEOUT);
    opt(&mut env, "VAULT_MAX_RETRIES", k::CLIENT_MAX_RETRIES);
    opt(&mut env, "VAULT_LOG_LEVEL", k::LOG_LEVEL);
    opt(&mut env, "VAULT_LOG_FORMAT", k::LOG_FORMAT);
    opt(&mut env, "HTTPS_PROXY", k::PROXY_ADDRESS);
    if agent.otel_forward {
        for (name, value) in &settings.agent_otel_env {
            env.push(env_value(name, value));
        }
    }
    if agent.configmap().is_empty() {
        env.push(env_value("VAULT_CONFIG", config));
    } else {
        opt(&mut env, "VAULT_ADDR", k::SERVICE);
        opt(&mut env, "VAULT_CACERT", k::CA_CERT);
        opt(&mut env, "VAULT_CAPATH", k::CA_KEY);
        opt(&mut env, "VAULT_CLIENT_CERT", k::CLIENT_CERT);
        opt(&mut env, "VAULT_CLIENT_KEY", k::CLIENT_KEY);
        env.push(env_value(
            "VAULT_SKIP_VERIFY",
            if agent.tls_skip_verify {
                "true"
            } else {
                "false"
            },
        ));
        opt(&mut env, "VAULT_TLS_SERVER_NAME", k::TLS_SERVER_NAME);
    }
    if !settings.vault_cacert_bytes.is_empty() {
        env.push(env_value(
            "VAULT_CACERT_BYTES",
            &cacert_bytes(&settings.vault_cacert_bytes),
        ));
    }
    if agent.credential_handoff {
        env.push(env_value(HANDOFF_DIR_ENV, CACHE_PATH));
    }
    if agent.is_aws() {
        // Upstream's order is random (map iteration); ours is alphabetical.
        for name in [
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            let found = agent
                .pod
                .containers
                .iter()
                .flat_map(|c| c.env())
                .find(|(n, _)| *n == name);
            if let Some((_, value)) = found {
                env.push(env_value(name, value));
            }
        }
        let region = agent
            .annotations
            .pod()
            .get_joined(k::AUTH_CONFIG_PREFIX, "region")
            .unwrap_or("");
        if !region.is_empty() {
            env.push(env_value("AWS_REGION", region));
        }
    }
    env
}

/// `resources` (§3.9): quantities checked in upstream's order, maps in sorted key order.
fn resources(agent: &Agent<'_>) -> Result<Value, String> {
    let mut out = Map::new();
    for (group, keys) in [
        (
            "limits",
            [
                k::AGENT_LIMITS_CPU,
                k::AGENT_LIMITS_MEM,
                k::AGENT_LIMITS_EPHEMERAL,
            ],
        ),
        (
            "requests",
            [
                k::AGENT_REQUESTS_CPU,
                k::AGENT_REQUESTS_MEM,
                k::AGENT_REQUESTS_EPHEMERAL,
            ],
        ),
    ] {
        let mut parsed: [Option<String>; 3] = [None, None, None];
        for (slot, key) in parsed.iter_mut().zip(keys) {
            let raw = agent.get(key);
            if !raw.is_empty() {
                *slot = Some(canonical_quantity(raw).map_err(|e| e.to_string())?);
            }
        }
        let [cpu, mem, eph] = parsed;
        let mut m = Map::new();
        for (name, v) in [("cpu", cpu), ("ephemeral-storage", eph), ("memory", mem)] {
            if let Some(v) = v {
                m.insert(name.to_owned(), Value::String(v));
            }
        }
        if !m.is_empty() {
            out.insert(group.to_owned(), Value::Object(m));
        }
    }
    Ok(Value::Object(out))
}

fn lifecycle(agent: &Agent<'_>) -> Value {
    if !agent.revoke_on_shutdown {
        return json!({});
    }
    let mut cmd = format!(
        "/bin/sleep {} && /bin/vault token revoke -address={}",
        agent.revoke_grace,
        agent.get(k::SERVICE)
    );
    for (flag, key) in [
        ("ca-cert", k::CA_CERT),
        ("client-cert", k::CLIENT_CERT),
        ("client-key", k::CLIENT_KEY),
    ] {
        let v = agent.get(key);
        if !v.is_empty() {
            cmd.push_str(&format!(" -{flag}={v}"));
        }
    }
    cmd.push_str(" -self");
    json!({"preStop": {"exec": {"command": ["/bin/sh", "-c", cmd]}}})
}

/// Upstream's `command` and `args`, byte for byte (for images with a shell and `vault`).
fn shell_command(plain: bool, init: bool) -> (Value, Value) {
    let arg = match (plain, init) {
        (true, _) => ARG_NORMAL,
        (false, true) => ARG_CM_INIT,
        (false, false) => ARG_CM_SIDE,
    };
    (json!(["/bin/sh", "-ec"]), json!([arg]))
}

/// `vault-k8s agent` without a shell (for this project's image). The agent decodes
/// `VAULT_CONFIG` itself; in config-map mode it reads the mounted file, and its file sink
/// creates the token file, which upstream's command `touch`es first. `revoke_grace` (set when
/// the sidecar revokes on shutdown) adds `-revoke-on-exit -revoke-grace=N`: upstream's
/// `preStop` hook (sleep, then `vault token revoke`) needs a shell our image lacks, so the
/// sidecar itself waits the same grace after SIGTERM and then revokes its token.
fn native_command(plain: bool, init: bool, revoke_grace: Option<u64>) -> (Value, Value) {
    let mut args = vec!["agent".to_owned()];
    match (plain, init) {
        (true, _) => {}
        (false, true) => args.push("-config=/vault/configs/config-init.hcl".to_owned()),
        (false, false) => args.push("-config=/vault/configs/config.hcl".to_owned()),
    }
    if let Some(grace) = revoke_grace {
        args.push("-revoke-on-exit".to_owned());
        args.push(format!("-revoke-grace={grace}"));
    }
    (json!([command::AGENT_BINARY]), json!(args))
}

/// Which injected container to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `vault-agent-init` (renders once and exits).
    Init,
    /// `vault-agent` in `containers`.
    Sidecar,
    /// `vault-agent` in `initContainers` with `restartPolicy: Always` (see [`crate::native`]).
    NativeSidecar,
}

/// Builds one agent container.
pub(crate) fn build(
    agent: &Agent<'_>,
    settings: &InjectorSettings,
    configs: &config::Rendered,
    role: Role,
) -> Result<Value, String> {
    let init = role == Role::Init;
    let mut env = env(
        agent,
        settings,
        if init {
            &configs.init
        } else {
            &configs.sidecar
        },
    );
    if !init && !agent.reloads.env.is_empty() {
        env.push(env_value(crate::reload::RELOAD_ENV, &agent.reloads.env));
    }
    let resources = resources(agent)?;
    let sa = &agent.service_account;
    let mut mounts = Vec::with_capacity(8);
    if init {
        mounts.push(mount(VOL_HOME_INIT, "/home/vault", false));
        mounts.push(mount(&sa.name, &sa.mount_path, true));
    } else {
        mounts.push(mount(&sa.name, &sa.mount_path, true));
        mounts.push(mount(VOL_HOME_SIDECAR, "/home/vault", false));
    }
    shared_mounts(agent, &mut mounts);
    let image = agent.get(k::AGENT_IMAGE);
    let style = agent.command_style.unwrap_or(settings.agent_command_style);
    let native = style.is_native_for(image);
    let (command, args) = if native {
        let (command, mut args) = native_command(
            agent.configmap().is_empty(),
            init,
            (agent.revoke_on_shutdown && !init).then_some(agent.revoke_grace),
        );
        if role == Role::NativeSidecar
            && let Value::Array(args) = &mut args
        {
            args.push(Value::String(crate::native::ready_file_arg()));
        }
        (command, args)
    } else {
        shell_command(agent.configmap().is_empty(), init)
    };
    let mut c = Map::new();
    c.insert(
        "name".to_owned(),
        Value::String(if init { INIT_NAME } else { SIDECAR_NAME }.to_owned()),
    );
    c.insert("image".to_owned(), Value::String(image.to_owned()));
    c.insert("command".to_owned(), command);
    c.insert("args".to_owned(), args);
    if agent.metrics && !init {
        c.insert(
            "ports".to_owned(),
            json!([{
                "name": crate::AGENT_METRICS_PORT_NAME,
                "containerPort": crate::AGENT_METRICS_PORT,
                "protocol": "TCP"
            }]),
        );
    }
    c.insert("env".to_owned(), Value::Array(env));
    c.insert("resources".to_owned(), resources);
    if role == Role::NativeSidecar {
        c.insert(
            "restartPolicy".to_owned(),
            Value::String("Always".to_owned()),
        );
    }
    c.insert("volumeMounts".to_owned(), Value::Array(mounts));
    if role == Role::NativeSidecar && agent.pre_populate {
        let destinations: Vec<String> = agent.secrets.iter().map(config::destination).collect();
        c.insert(
            "startupProbe".to_owned(),
            crate::native::startup_probe(native, &destinations),
        );
    }
    if !init {
        // The native sidecar revokes by itself (see `native_command`); upstream's hook would
        // only fail for want of `/bin/sh` and leave a FailedPreStopHook event on every pod.
        let hooks = if native { json!({}) } else { lifecycle(agent) };
        c.insert("lifecycle".to_owned(), hooks);
    }
    if let Some(sc) = crate::security::context(agent) {
        c.insert("securityContext".to_owned(), sc);
    }
    let mut container = Value::Object(c);
    let patch = if init {
        &agent.init_patch
    } else {
        &agent.sidecar_patch
    };
    if let Some(ops) = patch {
        jsonpatch::apply(&mut container, ops)
            .map_err(|e| format!("failed to apply JSON patch: {e}"))?;
        container = normalize(container);
    }
    Ok(container)
}

/// `core/v1.Container` fields in declaration order, with whether they are always emitted.
const CONTAINER_FIELDS: &[(&str, bool)] = &[
    ("name", true),
    ("image", false),
    ("command", false),
    ("args", false),
    ("workingDir", false),
    ("ports", false),
    ("envFrom", false),
    ("env", false),
    ("resources", true),
    ("resizePolicy", false),
    ("restartPolicy", false),
    ("restartPolicyRules", false),
    ("volumeMounts", false),
    ("volumeDevices", false),
    ("livenessProbe", false),
    ("readinessProbe", false),
    ("startupProbe", false),
    ("lifecycle", false),
    ("terminationMessagePath", false),
    ("terminationMessagePolicy", false),
    ("imagePullPolicy", false),
    ("securityContext", false),
    ("stdin", false),
    ("stdinOnce", false),
    ("tty", false),
];

/// Upstream decodes the patched JSON back into a `Container` and re-encodes it: unknown fields
/// drop out, zero values are omitted, fields return to declaration order. This mirrors that at
/// the top level (nested objects are kept as written).
fn normalize(v: Value) -> Value {
    let Value::Object(obj) = v else {
        return v;
    };
    let mut out = Map::new();
    for (name, always) in CONTAINER_FIELDS {
        let found = obj.get(*name).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        });
        let zero = match found {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(_) => false,
        };
        match (found, zero) {
            (Some(v), false) => {
                out.insert((*name).to_owned(), v.clone());
            }
            _ if *always => {
                let empty = if *name == "name" {
                    Value::String(String::new())
                } else {
                    Value::Object(Map::new())
                };
                out.insert((*name).to_owned(), empty);
            }
            _ => {}
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn cacert_bytes_decodes_only_valid_base64() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let encoded = STANDARD.encode(pem);
        assert_eq!(cacert_bytes(&encoded), pem);
        let wrapped = format!("{}\r\n{}", &encoded[..8], &encoded[8..]);
        assert_eq!(cacert_bytes(&wrapped), pem);
        assert_eq!(cacert_bytes(pem), pem);
        assert_eq!(cacert_bytes("Zm9v"), "foo");
        assert_eq!(
            cacert_bytes("Zm9"),
            "Zm9",
            "unpadded is not valid standard base64"
        );
    }

    #[test]
    fn normalize_restores_go_order_and_drops_unknown() {
        let v = json!({"securityContext": {"a": 1}, "Name": "x", "bogus": 1, "image": "", "tty": false, "stdin": true});
        assert_eq!(
            serde_json::to_string(&normalize(v)).unwrap_or_default(),
            r#"{"name":"x","resources":{},"securityContext":{"a":1},"stdin":true}"#
        );
    }
}
