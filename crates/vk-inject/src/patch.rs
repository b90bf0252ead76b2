//! The JSON Patch document (spec §3.12), in upstream's exact op order, including its "original
//! pod arrays" group rule (Appendix A Q2, replicated). Values are written as JSON text.

use crate::agent::Agent;
use crate::annotations::{self as k, known};
use crate::containers::{self, INIT_NAME, Role};
use crate::jsonw::{Arr, Obj};
use crate::primitives::split_comma;
use crate::{InjectorSettings, PatchOp, PatchOpKind, PatchValue};

fn add(path: String, json: Vec<u8>) -> PatchOp {
    PatchOp {
        op: PatchOpKind::Add,
        path,
        value: Some(PatchValue::from_json(json)),
    }
}

/// Appends `items` (JSON text) to the array at `base`. `target_empty` describes the array in
/// the *original* request, not as modified by earlier ops: when it was empty the first item
/// creates the array.
fn group(ops: &mut Vec<PatchOp>, target_empty: bool, base: &str, items: Vec<Vec<u8>>) {
    for (i, item) in items.into_iter().enumerate() {
        if i == 0 && target_empty {
            let mut array = Vec::with_capacity(item.len() + 2);
            Arr::write(&mut array, |a| a.raw(&item));
            ops.push(add(base.to_owned(), array));
        } else {
            // Plain concatenation: `format!` costs more here than the rest of the op.
            let mut path = String::with_capacity(base.len() + 2);
            path.push_str(base);
            path.push_str("/-");
            ops.push(add(path, item));
        }
    }
}

/// One JSON object as text.
fn object(f: impl FnOnce(&mut Obj<'_>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    Obj::write(&mut out, f);
    out
}

fn memory_volume(name: &str) -> Vec<u8> {
    secrets_volume(name, None)
}

/// A secrets volume: in memory, with the optional `sizeLimit` (`secret-volume-size-limit`).
fn secrets_volume(name: &str, size_limit: Option<&str>) -> Vec<u8> {
    object(|o| {
        o.str("name", name);
        o.obj("emptyDir", |e| {
            e.str("medium", "Memory");
            if let Some(limit) = size_limit {
                e.str("sizeLimit", limit);
            }
        });
    })
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
    let init_role = if agent.native {
        Some(Role::NativeSidecar)
    } else if agent.pre_populate {
        Some(Role::Init)
    } else {
        None
    };
    let with_sidecar = !(agent.pre_populate_only || agent.native);
    // Quantities are checked only when a container carries them, before either is built.
    let resources = if init_role.is_some() || with_sidecar {
        containers::resources(agent)?
    } else {
        Default::default()
    };
    let init = match init_role {
        Some(role) => Some(containers::build(
            agent, settings, &configs, &resources, role,
        )?),
        None => None,
    };
    let sidecar = if with_sidecar {
        Some(containers::build(
            agent,
            settings,
            &configs,
            &resources,
            Role::Sidecar,
        )?)
    } else {
        None
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
        let v = object(|o| {
            o.str("name", containers::VOL_CONFIG);
            o.obj("configMap", |c| c.str("name", configmap));
        });
        group(&mut ops, no_volumes, "/spec/volumes", vec![v]);
    }
    for (key, name) in [
        (known::AGENT_EXTRA_SECRET, containers::VOL_EXTRA),
        (known::TLS_SECRET, containers::VOL_TLS),
    ] {
        let secret = agent.get(key);
        if !secret.is_empty() {
            let v = object(|o| {
                o.str("name", name);
                o.obj("secret", |s| s.str("secretName", secret));
            });
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

    let mounts: Vec<Vec<u8>> = containers::secrets_mounts(agent)
        .iter()
        .map(|(name, path)| object(|o| containers::mount(o, name, path, false)))
        .collect();
    let selected = split_comma(agent.get(known::AGENT_INJECT_CONTAINERS));
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
            layout.push((init.name, init.no_mounts));
            let mut items = vec![init.json];
            items.extend(originals.iter().map(|c| {
                let mut raw = Vec::with_capacity(512);
                crate::gojson::write_json(&mut raw, c.raw);
                raw
            }));
            group(&mut ops, true, "/spec/initContainers", items);
        } else {
            group(
                &mut ops,
                originals.is_empty(),
                "/spec/initContainers",
                vec![init.json],
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
            let share: &[u8] = if share { b"true" } else { b"false" };
            ops.push(add(
                "/spec/shareProcessNamespace".to_owned(),
                share.to_vec(),
            ));
        }
    }

    // Reload by signal needs the app's processes in view (not upstream; `reload.rs`).
    let shared_already = agent.pre_populate && agent.share_process_namespace.is_some();
    if agent.reloads.signals && !shared_already && pod.share_process_namespace != Some(true) {
        ops.push(add(
            "/spec/shareProcessNamespace".to_owned(),
            b"true".to_vec(),
        ));
    }

    if let Some(sidecar) = sidecar {
        group(
            &mut ops,
            pod.containers.is_empty(),
            "/spec/containers",
            vec![sidecar.json],
        );
    }

    // The map is never empty here (the pod carries `agent-inject`, and Init adds defaults), so
    // the status is always added as a key rather than as a new map.
    let path = format!(
        "/metadata/annotations/{}",
        escape_pointer(k::AGENT_INJECT_STATUS)
    );
    ops.push(add(path, b"\"injected\"".to_vec()));
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
