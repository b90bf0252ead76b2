//! The JSON Patch document (spec §3.12), in upstream's exact op order, including its "original
//! pod arrays" group rule (Appendix A Q2, replicated). Values are written as JSON text.

use crate::agent::Agent;
use crate::annotations::known;
use crate::containers::{self, INIT_NAME, Role, SecretsMounts};
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

/// Appends items to the array at `base`, each written once straight into its op's value (the
/// per-item buffers this replaced were copied again and cloned per container: 14 allocations
/// and ~6k instructions per admission, webapp bench). `target_empty` describes the array in the *original* request, not as
/// modified by earlier ops: when it was empty the first item creates the array.
struct Group<'o> {
    ops: &'o mut Vec<PatchOp>,
    base: &'o str,
    create: bool,
}

impl<'o> Group<'o> {
    fn new(ops: &'o mut Vec<PatchOp>, target_empty: bool, base: &'o str) -> Self {
        Self {
            ops,
            base,
            create: target_empty,
        }
    }

    /// The path of the next item's op, and whether its value is the new array.
    fn next_path(&mut self) -> (String, bool) {
        let create = std::mem::take(&mut self.create);
        let mut path = String::with_capacity(self.base.len() + 2);
        path.push_str(self.base);
        if !create {
            path.push_str("/-");
        }
        (path, create)
    }

    /// One item written by `f` as an object.
    fn object(&mut self, f: impl FnOnce(&mut Obj<'_>)) {
        let (path, create) = self.next_path();
        let mut json = Vec::with_capacity(96);
        if create {
            Arr::write(&mut json, |a| a.obj(f));
        } else {
            Obj::write(&mut json, f);
        }
        self.ops.push(add(path, json));
    }

    /// One item that is already JSON text (an injected container, a copied init container).
    fn json(&mut self, mut json: Vec<u8>) {
        let (path, create) = self.next_path();
        if create {
            // In place: the containers are sized with room to spare, so this moves the text
            // instead of allocating and copying a second buffer of several KiB.
            json.insert(0, b'[');
            json.push(b']');
        }
        self.ops.push(add(path, json));
    }
}

/// A secrets volume: in memory, with the optional `sizeLimit` (`secret-volume-size-limit`).
fn secrets_volume(o: &mut Obj<'_>, name: &str, size_limit: Option<&str>) {
    o.str("name", name);
    o.obj("emptyDir", |e| {
        e.str_static("medium", "Memory");
        if let Some(limit) = size_limit {
            e.str("sizeLimit", limit);
        }
    });
}

/// The pointer of the status annotation, `/metadata/annotations/` and the escaped key (a
/// constant: escaping it per admission cost ~1.5k instructions; a test pins it).
const STATUS_PATH: &str = "/metadata/annotations/vault.hashicorp.com~1agent-inject-status";

/// The secrets mounts M as volume mount objects, into the array at `base`.
fn add_secrets_mounts(
    ops: &mut Vec<PatchOp>,
    target_empty: bool,
    base: &str,
    mounts: &SecretsMounts<'_>,
) {
    let mut group = Group::new(ops, target_empty, base);
    for (name, path) in mounts {
        group.object(|o| containers::mount(o, name, path, false));
    }
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
    let mounts = containers::secrets_mounts(agent);
    let init = match init_role {
        Some(role) => Some(containers::build(
            agent, settings, &configs, &resources, &mounts, role,
        )?),
        None => None,
    };
    let sidecar = if with_sidecar {
        Some(containers::build(
            agent,
            settings,
            &configs,
            &resources,
            &mounts,
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

    let volumes = "/spec/volumes";
    {
        let mut tokens = Group::new(&mut ops, no_volumes, volumes);
        if agent.pre_populate && !agent.native {
            tokens.object(|o| secrets_volume(o, containers::VOL_HOME_INIT, None));
        }
        if !agent.pre_populate_only {
            tokens.object(|o| secrets_volume(o, containers::VOL_HOME_SIDECAR, None));
        }
    }

    let size_limit = agent.secret_volume_size_limit.as_deref();
    {
        let mut secrets = Group::new(&mut ops, no_volumes, volumes);
        for (name, _) in &mounts {
            secrets.object(|o| secrets_volume(o, name, size_limit));
        }
    }

    let configmap = agent.configmap();
    if !configmap.is_empty() {
        Group::new(&mut ops, no_volumes, volumes).object(|o| {
            o.str_static("name", containers::VOL_CONFIG);
            o.obj("configMap", |c| c.str("name", configmap));
        });
    }
    for (key, name) in [
        (known::AGENT_EXTRA_SECRET, containers::VOL_EXTRA),
        (known::TLS_SECRET, containers::VOL_TLS),
    ] {
        let secret = agent.get(key);
        if !secret.is_empty() {
            Group::new(&mut ops, no_volumes, volumes).object(|o| {
                o.str_static("name", name);
                o.obj("secret", |s| s.str("secretName", secret));
            });
        }
    }
    if agent.cache_volume() {
        Group::new(&mut ops, no_volumes, volumes)
            .object(|o| secrets_volume(o, containers::VOL_CACHE, None));
    }

    let selected = split_comma(agent.get(known::AGENT_INJECT_CONTAINERS));
    for (i, c) in pod.containers.iter().enumerate() {
        if selected.iter().any(|s| s == c.name) {
            add_secrets_mounts(
                &mut ops,
                c.mounts.is_empty(),
                &mounts_path("/spec/containers/", i),
                &mounts,
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
            let mut group = Group::new(&mut ops, true, "/spec/initContainers");
            group.json(init.json);
            for c in originals {
                let mut raw = Vec::with_capacity(512);
                crate::gojson::write_json(&mut raw, c.raw);
                group.json(raw);
            }
        } else {
            Group::new(&mut ops, originals.is_empty(), "/spec/initContainers").json(init.json);
        }
        layout.extend(
            originals
                .iter()
                .map(|c| (c.name.to_owned(), c.mounts.is_empty())),
        );
        for (i, (name, no_mounts)) in layout.iter().enumerate() {
            if name != injected_init_name {
                add_secrets_mounts(
                    &mut ops,
                    *no_mounts,
                    &mounts_path("/spec/initContainers/", i),
                    &mounts,
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
        Group::new(&mut ops, pod.containers.is_empty(), "/spec/containers").json(sidecar.json);
    }

    // The map is never empty here (the pod carries `agent-inject`, and Init adds defaults), so
    // the status is always added as a key rather than as a new map.
    ops.push(add(STATUS_PATH.to_owned(), b"\"injected\"".to_vec()));
    Ok(ops)
}

/// `{list}{i}/volumeMounts` (`list` ends with a slash), without `format!`.
fn mounts_path(list: &str, i: usize) -> String {
    let mut path = String::with_capacity(list.len() + 32);
    path.push_str(list);
    push_decimal(&mut path, i);
    path.push_str("/volumeMounts");
    path
}

fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotations as k;

    /// RFC 6901 escaping of one reference token.
    fn escape_pointer(key: &str) -> String {
        key.replace('~', "~0").replace('/', "~1")
    }

    #[test]
    fn constant_paths() {
        assert_eq!(
            STATUS_PATH,
            format!(
                "/metadata/annotations/{}",
                escape_pointer(k::AGENT_INJECT_STATUS)
            )
        );
        for i in [0, 7, 10, 123] {
            assert_eq!(
                mounts_path("/spec/containers/", i),
                format!("/spec/containers/{i}/volumeMounts")
            );
        }
    }

    #[test]
    fn pointer_escaping_order() {
        assert_eq!(
            escape_pointer("vault.hashicorp.com/agent-inject-status"),
            "vault.hashicorp.com~1agent-inject-status"
        );
        assert_eq!(escape_pointer("a~/b"), "a~0~1b");
    }
}
