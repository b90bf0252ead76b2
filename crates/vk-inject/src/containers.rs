//! The injected `vault-agent-init` and `vault-agent` containers (spec §3.5–§3.11), written
//! straight to JSON text in Go's `core/v1` field order (`container_env.rs` writes their `env`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::InjectorSettings;
use crate::agent::Agent;
use crate::annotations::known;
use crate::jsontree::Json;
use crate::jsonw::{Arr, Obj};
use crate::pod::{self, Mount};
use crate::quantity::canonical_quantity_cow;
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

/// Go's `VolumeMount` members (`name`, `readOnly`, `mountPath`).
pub(crate) fn mount(o: &mut Obj<'_>, name: &str, mount_path: &str, read_only: bool) {
    o.str("name", name);
    if read_only {
        o.bool("readOnly", true);
    }
    o.str("mountPath", mount_path);
}

/// [`mount`] of a volume this crate names at a path it chooses (no escaping scan, see
/// `jsonw::push_static`).
fn static_mount(o: &mut Obj<'_>, name: &'static str, mount_path: &'static str, read_only: bool) {
    o.str_static("name", name);
    if read_only {
        o.bool("readOnly", true);
    }
    o.str_static("mountPath", mount_path);
}

/// The secrets mounts M (§3.4) as (volume name, mount path).
pub(crate) type SecretsMounts<'a> = [(Cow<'static, str>, &'a str)];

/// The secrets mounts M: the main secrets volume, then one per distinct custom path. Listed
/// once per admission and shared by the volumes, the app's mounts and both agents.
pub(crate) fn secrets_mounts<'a>(agent: &'a Agent<'_>) -> Vec<(Cow<'static, str>, &'a str)> {
    let global = agent.get(known::SECRET_VOLUME_PATH);
    let mut out = vec![(Cow::Borrowed(VOL_SECRETS), global)];
    for (i, path) in custom_paths(agent).into_iter().enumerate() {
        out.push((Cow::Owned(format!("{VOL_SECRETS}-custom-{i}")), path));
    }
    out
}

/// Distinct per-secret mount paths that differ from the global one, first occurrence wins.
fn custom_paths<'a>(agent: &'a Agent<'_>) -> Vec<&'a str> {
    let global = agent.get(known::SECRET_VOLUME_PATH);
    let mut out: Vec<&str> = Vec::new();
    for s in &agent.secrets {
        if s.mount_path != global && !out.contains(&s.mount_path) {
            out.push(s.mount_path);
        }
    }
    out
}

/// A copied mount, re-encoded in Go's `VolumeMount` field order.
fn copy_mount(o: &mut Obj<'_>, m: &Mount<'_>) {
    o.str("name", m.name);
    if pod::field(m.raw, "readOnly").and_then(Json::as_bool) == Some(true) {
        o.bool("readOnly", true);
    }
    if let Some(v) = pod::field(m.raw, "recursiveReadOnly") {
        o.json("recursiveReadOnly", v);
    }
    o.str("mountPath", m.mount_path);
    for key in ["subPath", "mountPropagation", "subPathExpr"] {
        o.str_nonempty(key, pod::str_field(m.raw, key));
    }
}

/// Mounts after the home/SA pair: IRSA, M, extra secret, copied, config map, TLS, cache.
fn shared_mounts(a: &mut Arr<'_>, agent: &Agent<'_>, secrets: &SecretsMounts<'_>) {
    if let Some((name, path)) = &agent.irsa {
        a.obj(|o| mount(o, name, path, true));
    }
    for (name, path) in secrets {
        a.obj(|o| mount(o, name, path, false));
    }
    if !agent.get(known::AGENT_EXTRA_SECRET).is_empty() {
        a.obj(|o| static_mount(o, VOL_EXTRA, "/vault/custom", true));
    }
    let copy_from = agent.get(known::AGENT_COPY_VOLUME_MOUNTS);
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
                    a.obj(|o| copy_mount(o, m));
                }
            }
        }
    }
    if !agent.configmap().is_empty() {
        a.obj(|o| static_mount(o, VOL_CONFIG, "/vault/configs", true));
    }
    if !agent.get(known::TLS_SECRET).is_empty() {
        a.obj(|o| static_mount(o, VOL_TLS, "/vault/tls", true));
    }
    if agent.cache_volume() {
        a.obj(|o| static_mount(o, VOL_CACHE, CACHE_PATH, false));
    }
}

/// The canonical quantities of `resources`: limits then requests, each cpu, memory, ephemeral
/// storage (`None` when not set). Both agents get the same ones, so they are parsed once.
pub(crate) type Resources<'a> = [[Option<Cow<'a, str>>; 3]; 2];

/// `resources` (§3.9): quantities checked in upstream's order (limits, then requests; cpu,
/// memory, ephemeral storage), written as maps in sorted key order.
pub(crate) fn resources<'a>(agent: &'a Agent<'_>) -> Result<Resources<'a>, String> {
    let groups = [
        [
            known::AGENT_LIMITS_CPU,
            known::AGENT_LIMITS_MEM,
            known::AGENT_LIMITS_EPHEMERAL,
        ],
        [
            known::AGENT_REQUESTS_CPU,
            known::AGENT_REQUESTS_MEM,
            known::AGENT_REQUESTS_EPHEMERAL,
        ],
    ];
    let mut out: Resources<'_> = Default::default();
    for (slots, keys) in out.iter_mut().zip(groups) {
        for (slot, key) in slots.iter_mut().zip(keys) {
            let raw = agent.get(key);
            if !raw.is_empty() {
                *slot = Some(canonical_quantity_cow(raw).map_err(|e| e.to_string())?);
            }
        }
    }
    Ok(out)
}

fn write_resources(o: &mut Obj<'_>, parsed: &Resources<'_>) {
    for (group, [cpu, mem, eph]) in ["limits", "requests"].into_iter().zip(parsed) {
        if cpu.is_none() && mem.is_none() && eph.is_none() {
            continue;
        }
        o.obj(group, |m| {
            for (name, v) in [("cpu", cpu), ("ephemeral-storage", eph), ("memory", mem)] {
                if let Some(v) = v {
                    m.str(name, v);
                }
            }
        });
    }
}

fn lifecycle(o: &mut Obj<'_>, agent: &Agent<'_>) {
    if !agent.revoke_on_shutdown {
        return;
    }
    let mut cmd = format!(
        "/bin/sleep {} && /bin/vault token revoke -address={}",
        agent.revoke_grace,
        agent.get(known::SERVICE)
    );
    for (flag, key) in [
        ("ca-cert", known::CA_CERT),
        ("client-cert", known::CLIENT_CERT),
        ("client-key", known::CLIENT_KEY),
    ] {
        let v = agent.get(key);
        if !v.is_empty() {
            cmd.push_str(&format!(" -{flag}={v}"));
        }
    }
    cmd.push_str(" -self");
    o.obj("preStop", |p| {
        p.obj("exec", |e| e.strs("command", &["/bin/sh", "-c", &cmd]));
    });
}

/// Upstream's `command` and `args`, byte for byte (for images with a shell and `vault`).
fn shell_command(o: &mut Obj<'_>, plain: bool, init: bool) {
    let arg = match (plain, init) {
        (true, _) => ARG_NORMAL,
        (false, true) => ARG_CM_INIT,
        (false, false) => ARG_CM_SIDE,
    };
    o.arr("command", |a| {
        a.str_static("/bin/sh");
        a.str_static("-ec");
    });
    // Not `str_static`: the commands hold `>` and `&`, which Go escapes.
    o.arr("args", |a| a.str(arg));
}

/// `vault-k8s agent` without a shell (for this project's image). The agent decodes
/// `VAULT_CONFIG` itself; in config-map mode it reads the mounted file, and its file sink
/// creates the token file, which upstream's command `touch`es first. `revoke_grace` (set when
/// the sidecar revokes on shutdown) adds `-revoke-on-exit -revoke-grace=N`: upstream's
/// `preStop` hook (sleep, then `vault token revoke`) needs a shell our image lacks, so the
/// sidecar itself waits the same grace after SIGTERM and then revokes its token. A native
/// sidecar also gets `-ready-file` (its startup probe's marker).
fn native_command(
    o: &mut Obj<'_>,
    plain: bool,
    init: bool,
    revoke_grace: Option<u64>,
    ready_file: bool,
) {
    o.arr("command", |a| a.str_static(command::AGENT_BINARY));
    o.arr("args", |a| {
        a.str_static("agent");
        match (plain, init) {
            (true, _) => {}
            (false, true) => a.str_static("-config=/vault/configs/config-init.hcl"),
            (false, false) => a.str_static("-config=/vault/configs/config.hcl"),
        }
        if let Some(grace) = revoke_grace {
            a.str_static("-revoke-on-exit");
            a.str(&format!("-revoke-grace={grace}"));
        }
        if ready_file {
            a.str(&crate::native::ready_file_arg());
        }
    });
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

/// One injected container: its JSON text, and what the patch's layout rules need to know of
/// it (both can change when an `agent-json-patch` annotation rewrites it).
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) json: Vec<u8>,
    pub(crate) name: String,
    pub(crate) no_mounts: bool,
}

/// Builds one agent container.
pub(crate) fn build(
    agent: &Agent<'_>,
    settings: &InjectorSettings,
    configs: &config::Rendered,
    resources: &Resources<'_>,
    secrets: &SecretsMounts<'_>,
    role: Role,
) -> Result<Built, String> {
    let init = role == Role::Init;
    let name = if init { INIT_NAME } else { SIDECAR_NAME };
    let image = agent.get(known::AGENT_IMAGE);
    let native = agent.native_command;
    let plain = agent.configmap().is_empty();
    // The base64 `VAULT_CONFIG` is most of the container: size for it, so the buffer is not
    // regrown (and copied) while the container is written.
    let config_len = if init {
        configs.init.len()
    } else {
        configs.sidecar.len()
    };
    let mut out = Vec::with_capacity(4096 + config_len);
    Obj::write(&mut out, |c| {
        c.str_static("name", name);
        c.str("image", image);
        if native {
            native_command(
                c,
                plain,
                init,
                (agent.revoke_on_shutdown && !init).then_some(agent.revoke_grace),
                role == Role::NativeSidecar,
            );
        } else {
            shell_command(c, plain, init);
        }
        if agent.metrics && !init {
            c.arr("ports", |a| {
                a.obj(|p| {
                    p.str_static("name", crate::AGENT_METRICS_PORT_NAME);
                    p.int("containerPort", i64::from(crate::AGENT_METRICS_PORT));
                    p.str_static("protocol", "TCP");
                });
            });
        }
        c.arr("env", |a| {
            let config = if init {
                &configs.init
            } else {
                &configs.sidecar
            };
            let reload = if init { "" } else { &agent.reloads.env };
            crate::container_env::write(a, agent, settings, config, reload);
        });
        c.obj("resources", |o| write_resources(o, resources));
        if role == Role::NativeSidecar {
            c.str_static("restartPolicy", "Always");
        }
        c.arr("volumeMounts", |a| {
            let sa = &agent.service_account;
            if init {
                a.obj(|o| static_mount(o, VOL_HOME_INIT, "/home/vault", false));
                a.obj(|o| mount(o, &sa.name, &sa.mount_path, true));
            } else {
                a.obj(|o| mount(o, &sa.name, &sa.mount_path, true));
                a.obj(|o| static_mount(o, VOL_HOME_SIDECAR, "/home/vault", false));
            }
            shared_mounts(a, agent, secrets);
        });
        if role == Role::NativeSidecar && agent.pre_populate {
            let destinations: Vec<String> = agent.secrets.iter().map(config::destination).collect();
            c.obj("startupProbe", |p| {
                crate::native::startup_probe(p, native, &destinations);
            });
        }
        if !init {
            // The native sidecar revokes by itself (see `native_command`); upstream's hook would
            // only fail for want of `/bin/sh` and leave a FailedPreStopHook event on every pod.
            c.obj("lifecycle", |o| {
                if !native {
                    lifecycle(o, agent);
                }
            });
        }
        crate::security::context(c, agent);
    });
    let patch = if init {
        &agent.init_patch
    } else {
        &agent.sidecar_patch
    };
    let Some(ops) = patch else {
        return Ok(Built {
            json: out,
            name: name.to_owned(),
            no_mounts: false,
        });
    };
    // Rare: the pod rewrites the container. The text goes back through a tree for
    // `jsonpatch` (it decodes to exactly the tree serde_json would have built).
    let mut container: Value = serde_json::from_slice(&out)
        .map_err(|e| format!("internal error: container JSON does not decode: {e}"))?;
    jsonpatch::apply(&mut container, ops)
        .map_err(|e| format!("failed to apply JSON patch: {e}"))?;
    let container = normalize(container);
    let mut json = Vec::with_capacity(out.len());
    crate::gojson::write_value(&mut json, &container);
    let view = Json::from_value(&container);
    let view = view.tree();
    Ok(Built {
        json,
        name: pod::str_field(view, "name").to_owned(),
        no_mounts: pod::array_field(view, "volumeMounts").is_empty(),
    })
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
    use serde_json::json;

    #[test]
    fn normalize_restores_go_order_and_drops_unknown() {
        let v = json!({"securityContext": {"a": 1}, "Name": "x", "bogus": 1, "image": "", "tty": false, "stdin": true});
        assert_eq!(
            serde_json::to_string(&normalize(v)).unwrap_or_default(),
            r#"{"name":"x","resources":{},"securityContext":{"a":1},"stdin":true}"#
        );
    }
}
