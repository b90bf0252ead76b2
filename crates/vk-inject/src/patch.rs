//! The JSON Patch document (spec §3.12), in upstream's exact op order, including its "original
//! pod arrays" group rule (Appendix A Q2, replicated).

use serde_json::{Value, json};

use crate::agent::Agent;
use crate::annotations as k;
use crate::containers::{self, INIT_NAME, Role};
use crate::primitives::split_comma;
use crate::{InjectorSettings, PatchOp, PatchOpKind};

fn add(path: String, value: Value) -> PatchOp {
    PatchOp {
        op: PatchOpKind::Add,
        path,
        value: Some(value),
    }
}

/// Appends `items` to the array at `base`. `target_empty` describes the array in the *original*
/// request, not as modified by earlier ops: when it was empty the first item creates the array.
fn group(ops: &mut Vec<PatchOp>, target_empty: bool, base: &str, items: Vec<Value>) {
    for (i, item) in items.into_iter().enumerate() {
        if i == 0 && target_empty {
            ops.push(add(base.to_owned(), Value::Array(vec![item])));
        } else {
            ops.push(add(format!("{base}/-"), item));
        }
    }
}

fn memory_volume(name: &str) -> Value {
    json!({"name": name, "emptyDir": {"medium": "Memory"}})
}

/// A secrets volume: in memory, with the optional `sizeLimit` (`secret-volume-size-limit`).
fn secrets_volume(name: &str, size_limit: Option<&str>) -> Value {
    match size_limit {
        None => memory_volume(name),
        Some(limit) => json!({"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": limit}}),
    }
}

/// RFC 6901 escaping of one reference token.
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Builds the whole patch; the error is the inner message of `error creating patch for agent: …`.
pub(crate) fn build(
    agent: &Agent<'_>,
    settings: &InjectorSettings,
) -> Result<Vec<PatchOp>, String> {
    let pod = agent.pod;
    // Containers first: their errors decide the deny message (init before sidecar).
    // The config render can only fail identically for both agents, and upstream renders it
    // before checking quantities, so rendering first keeps the first-error order.
    let configs = if agent.configmap().is_empty() {
        crate::config::render(agent)?
    } else {
        crate::config::Rendered {
            init: String::new(),
            sidecar: String::new(),
        }
    };
    // A native sidecar takes the init container's place in `initContainers` (and its
    // position rules); there is no other agent.
    let init = if agent.native {
        Some(containers::build(
            agent,
            settings,
            &configs,
            Role::NativeSidecar,
        )?)
    } else if agent.pre_populate {
        Some(containers::build(agent, settings, &configs, Role::Init)?)
    } else {
        None
    };
    let sidecar = if agent.pre_populate_only || agent.native {
        None
    } else {
        Some(containers::build(agent, settings, &configs, Role::Sidecar)?)
    };
    let injected_init_name = if agent.native {
        containers::SIDECAR_NAME
    } else {
        INIT_NAME
    };

    let mut ops = Vec::with_capacity(16);
    let no_volumes = pod.volumes.is_empty();

    let mut token_volumes = Vec::new();
    if agent.pre_populate && !agent.native {
        token_volumes.push(memory_volume(containers::VOL_HOME_INIT));
    }
    if !agent.pre_populate_only {
        token_volumes.push(memory_volume(containers::VOL_HOME_SIDECAR));
    }
    group(&mut ops, no_volumes, "/spec/volumes", token_volumes);

    let size_limit = agent.secret_volume_size_limit.as_deref();
    let mut secret_volumes = vec![secrets_volume(containers::VOL_SECRETS, size_limit)];
    for i in 0..containers::custom_paths(agent).len() {
        secret_volumes.push(secrets_volume(
            &format!("{}-custom-{i}", containers::VOL_SECRETS),
            size_limit,
        ));
    }
    group(&mut ops, no_volumes, "/spec/volumes", secret_volumes);

    let configmap = agent.configmap();
    if !configmap.is_empty() {
        let v = json!({"name": containers::VOL_CONFIG, "configMap": {"name": configmap}});
        group(&mut ops, no_volumes, "/spec/volumes", vec![v]);
    }
    for (key, name) in [
        (k::AGENT_EXTRA_SECRET, containers::VOL_EXTRA),
        (k::TLS_SECRET, containers::VOL_TLS),
    ] {
        let secret = agent.get(key);
        if !secret.is_empty() {
            let v = json!({"name": name, "secret": {"secretName": secret}});
            group(&mut ops, no_volumes, "/spec/volumes", vec![v]);
        }
    }
    if agent.cache_volume() {
        group(
            &mut ops,
            no_volumes,
            "/spec/volumes",
            vec![memory_volume(containers::VOL_CACHE)],
        );
    }

    let mounts = containers::secrets_mounts(agent);
    let selected = split_comma(agent.get(k::AGENT_INJECT_CONTAINERS));
    for (i, c) in pod.containers.iter().enumerate() {
        if selected.iter().any(|s| s == c.name) {
            group(
                &mut ops,
                c.mounts.is_empty(),
                &format!("/spec/containers/{i}/volumeMounts"),
                mounts.clone(),
            );
        }
    }

    if let Some(init) = init {
        let originals = &pod.init_containers;
        // (name, had no mounts) of each init container in its final position.
        let mut layout: Vec<(String, bool)> = Vec::with_capacity(originals.len() + 1);
        if agent.init_first {
            if !originals.is_empty() {
                ops.push(PatchOp {
                    op: PatchOpKind::Remove,
                    path: "/spec/initContainers".to_owned(),
                    value: None,
                });
            }
            let init_name = crate::pod::str_field(&init, "name").to_owned();
            let init_no_mounts = crate::pod::field(&init, "volumeMounts")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            layout.push((init_name, init_no_mounts));
            let mut items = vec![init];
            items.extend(originals.iter().map(|c| c.raw.clone()));
            group(&mut ops, true, "/spec/initContainers", items);
        } else {
            group(
                &mut ops,
                originals.is_empty(),
                "/spec/initContainers",
                vec![init],
            );
        }
        layout.extend(
            originals
                .iter()
                .map(|c| (c.name.to_owned(), c.mounts.is_empty())),
        );
        for (i, (name, no_mounts)) in layout.iter().enumerate() {
            if name != injected_init_name {
                group(
                    &mut ops,
                    *no_mounts,
                    &format!("/spec/initContainers/{i}/volumeMounts"),
                    mounts.clone(),
                );
            }
        }
        if let Some(share) = agent.share_process_namespace {
            ops.push(add(
                "/spec/shareProcessNamespace".to_owned(),
                Value::Bool(share),
            ));
        }
    }

    // Reload by signal needs the app's processes in view (not upstream; `reload.rs`).
    let shared_already = agent.pre_populate && agent.share_process_namespace.is_some();
    if agent.reloads.signals && !shared_already && pod.share_process_namespace != Some(true) {
        ops.push(add(
            "/spec/shareProcessNamespace".to_owned(),
            Value::Bool(true),
        ));
    }

    if let Some(sidecar) = sidecar {
        group(
            &mut ops,
            pod.containers.is_empty(),
            "/spec/containers",
            vec![sidecar],
        );
    }

    // The map is never empty here (the pod carries `agent-inject`, and Init adds defaults), so
    // the status is always added as a key rather than as a new map.
    let path = format!(
        "/metadata/annotations/{}",
        escape_pointer(k::AGENT_INJECT_STATUS)
    );
    ops.push(add(path, Value::String("injected".to_owned())));
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::escape_pointer;

    #[test]
    fn pointer_escaping_order() {
        assert_eq!(
            escape_pointer("vault.hashicorp.com/agent-inject-status"),
            "vault.hashicorp.com~1agent-inject-status"
        );
        assert_eq!(escape_pointer("a~/b"), "a~0~1b");
    }
}
