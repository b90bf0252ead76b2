//! The pure Kubernetes side of running one container of a pod: finding the container,
//! resolving its env (literal values with `$(VAR)` expansion against earlier entries,
//! `valueFrom.fieldRef` through the downward API), its command line, its user and group, its
//! volume mounts, and the files a projected volume holds (downward API items, the
//! service-account token's path). No I/O here: the parent module turns the result into host
//! directories, mounts and a process.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

pub(super) fn find_container<'a>(pod: &'a Value, name: &str) -> Result<&'a Value> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod["spec"][*k].as_array().into_iter().flatten())
        .find(|c| c["name"] == name)
        .ok_or_else(|| anyhow!("pod has no container or init container named {name:?}"))
}

/// The value of a downward-API `fieldPath` for the sandbox's pod (IPs are 127.0.0.1).
pub(super) fn field_ref(pod: &Value, field: &str) -> Result<String> {
    let meta = &pod["metadata"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let keyed = |prefix: &str, map: &Value| -> Option<String> {
        let key = field.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(s(&map[key]))
    };
    Ok(match field {
        "metadata.name" => s(&meta["name"]),
        "metadata.namespace" => {
            let ns = s(&meta["namespace"]);
            if ns.is_empty() { "default".into() } else { ns }
        }
        "metadata.uid" => s(&meta["uid"]),
        "spec.nodeName" => {
            let n = s(&pod["spec"]["nodeName"]);
            if n.is_empty() { "node-1".into() } else { n }
        }
        "spec.serviceAccountName" => s(&pod["spec"]["serviceAccountName"]),
        "status.hostIP" | "status.podIP" | "status.hostIPs" | "status.podIPs" => "127.0.0.1".into(),
        _ => {
            if let Some(v) = keyed("metadata.labels['", &meta["labels"]) {
                v
            } else if let Some(v) = keyed("metadata.annotations['", &meta["annotations"]) {
                v
            } else {
                bail!("fieldRef {field:?} is not supported by the pod sandbox")
            }
        }
    })
}

/// The container's env in order, values resolved (literal with `$(VAR)` expansion against the
/// earlier entries, or `valueFrom.fieldRef`).
pub(super) fn container_env(pod: &Value, c: &Value) -> Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = Vec::new();
    for (i, e) in c["env"].as_array().into_iter().flatten().enumerate() {
        let name = e["name"]
            .as_str()
            .ok_or_else(|| anyhow!("env[{i}] has no name"))?
            .to_string();
        let value = if let Some(v) = e["value"].as_str() {
            let lookup = |var: &str| {
                env.iter()
                    .rev()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.clone())
            };
            expand(v, &lookup)
        } else if let Some(from) = e.get("valueFrom") {
            match from["fieldRef"]["fieldPath"].as_str() {
                Some(field) => field_ref(pod, field)?,
                None => bail!("env {name}: valueFrom {from} is not supported by the pod sandbox"),
            }
        } else {
            String::new()
        };
        env.push((name, value));
    }
    Ok(env)
}

/// Kubernetes variable expansion: `$(VAR)` → value when defined (else kept), `$$` → `$`.
pub(super) fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let var = &inner[..end];
                    match lookup(var) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(var);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// An absolute path with `.`/`..` resolved lexically.
pub(super) fn clean_abs(p: &str) -> Result<PathBuf> {
    let path = Path::new(p);
    anyhow::ensure!(path.is_absolute(), "mount path must be absolute");
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The container's command line: `command` then `args`, each with `$(VAR)` expanded against
/// `env` (the last definition of a name wins).
pub(super) fn container_argv(c: &Value, env: &[(String, String)]) -> Vec<String> {
    let lookup = |var: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .map(|s| expand(s, &lookup))
            .collect()
    };
    let mut argv = strings(&c["command"]);
    argv.extend(strings(&c["args"]));
    argv
}

/// One entry of a container's `volumeMounts`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VolumeMount {
    /// The pod volume it mounts.
    pub(super) volume: String,
    /// Where it appears in the container (absolute, `.`/`..` resolved).
    pub(super) mount_path: PathBuf,
    /// `subPath` within the volume, if any.
    pub(super) sub_path: Option<String>,
    pub(super) read_only: bool,
}

/// The `volumeMounts` of container `container` (whose JSON is `c`), in order.
pub(super) fn volume_mounts(container: &str, c: &Value) -> Result<Vec<VolumeMount>> {
    c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| {
            let volume = m["name"]
                .as_str()
                .ok_or_else(|| anyhow!("container {container}: volumeMounts[{i}] has no name"))?;
            let mount_path = m["mountPath"].as_str().ok_or_else(|| {
                anyhow!("container {container}: volumeMounts[{i}] has no mountPath")
            })?;
            Ok(VolumeMount {
                volume: volume.to_string(),
                mount_path: clean_abs(mount_path)
                    .with_context(|| format!("container {container}: mountPath {mount_path:?}"))?,
                sub_path: m["subPath"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(String::from),
                read_only: m["readOnly"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// `runAsUser` and `runAsGroup` of the container, else of the pod's `securityContext`.
pub(super) fn run_as(pod: &Value, c: &Value) -> (Option<u64>, Option<u64>) {
    let sc = &c["securityContext"];
    let pod_sc = &pod["spec"]["securityContext"];
    (
        sc["runAsUser"]
            .as_u64()
            .or_else(|| pod_sc["runAsUser"].as_u64()),
        sc["runAsGroup"]
            .as_u64()
            .or_else(|| pod_sc["runAsGroup"].as_u64()),
    )
}

/// The files the `downwardAPI` sources of projected volume `vol` hold: (path in the volume,
/// content). Items without a `path` or `fieldRef.fieldPath` are skipped.
pub(super) fn downward_api_files(pod: &Value, vol: &Value) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for source in vol["projected"]["sources"].as_array().into_iter().flatten() {
        for item in source["downwardAPI"]["items"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(path), Some(field)) = (
                item["path"].as_str(),
                item["fieldRef"]["fieldPath"].as_str(),
            ) else {
                continue;
            };
            files.push((path.to_string(), field_ref(pod, field)?));
        }
    }
    Ok(files)
}

/// (volume name, path in the volume) of every projected `serviceAccountToken` source.
pub(super) fn service_account_token_paths(pod: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for vol in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        for source in vol["projected"]["sources"].as_array().into_iter().flatten() {
            if let Some(path) = source["serviceAccountToken"]["path"].as_str() {
                let name = vol["name"].as_str().unwrap_or_default().to_string();
                out.push((name, path.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let lookup = |v: &str| (v == "A").then(|| "x".to_string());
        assert_eq!(
            expand("$(A)-$(B)-$$(A)-${A}-$", &lookup),
            "x-$(B)-$(A)-${A}-$"
        );
        assert_eq!(expand("$(A", &lookup), "$(A");
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "namespace": "ns1", "uid": "u-1",
                "labels": {"app": "demo"}, "annotations": {"a.b/c": "note"}},
            "spec": {
                "serviceAccountName": "web",
                "securityContext": {"runAsUser": 7, "runAsGroup": 8},
                "volumes": [
                    {"name": "data", "emptyDir": {}},
                    {"name": "sa", "projected": {"sources": [
                        {"serviceAccountToken": {"path": "token"}},
                        {"downwardAPI": {"items": [
                            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}},
                            {"path": "labels/app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
                            {"path": "no-field"}
                        ]}}
                    ]}}
                ],
                "initContainers": [{"name": "init", "securityContext": {"runAsUser": 100}}],
                "containers": [{
                    "name": "c",
                    "command": ["/bin/sh", "-c"],
                    "args": ["echo $(GREETING) $(MISSING) $$(NS)"],
                    "env": [
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                        {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['a.b/c']"}}},
                        {"name": "EMPTY"},
                        {"name": "GREETING", "value": "hello-$(NS)"},
                        {"name": "GREETING", "value": "again-$(GREETING)"}
                    ],
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/vault/./secrets/", "subPath": "s"},
                        {"name": "sa", "readOnly": true, "mountPath": "/var/run/x/../secrets"}
                    ]
                }]
            }
        })
    }

    #[test]
    fn env_resolves_literals_and_field_refs_in_order() {
        let p = pod();
        let c = find_container(&p, "c").unwrap();
        let env = container_env(&p, c).unwrap();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("NS", "ns1"),
                ("NODE", "node-1"),
                ("NOTE", "note"),
                ("EMPTY", ""),
                ("GREETING", "hello-ns1"),
                ("GREETING", "again-hello-ns1"),
            ]
        );
        assert_eq!(
            container_argv(c, &env),
            ["/bin/sh", "-c", "echo again-hello-ns1 $(MISSING) $(NS)"]
        );
        for (field, want) in [
            ("metadata.name", "p"),
            ("metadata.uid", "u-1"),
            ("spec.serviceAccountName", "web"),
            ("status.podIP", "127.0.0.1"),
            ("metadata.labels['missing']", ""),
        ] {
            assert_eq!(field_ref(&p, field).unwrap(), want, "{field}");
        }
        let err = field_ref(&p, "status.phase").unwrap_err();
        assert!(err.to_string().contains("status.phase"), "{err}");
        let mut bad = p.clone();
        bad["spec"]["containers"][0]["env"] =
            json!([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]);
        let err = container_env(&bad, find_container(&bad, "c").unwrap()).unwrap_err();
        assert!(err.to_string().contains("env X"), "{err}");
        assert!(find_container(&p, "init").is_ok());
        assert!(find_container(&p, "nope").is_err());
    }

    #[test]
    fn volumes_mounts_and_projected_files() {
        let p = pod();
        let c = find_container(&p, "c").unwrap();
        let mounts = volume_mounts("c", c).unwrap();
        assert_eq!(
            mounts,
            [
                VolumeMount {
                    volume: "data".into(),
                    mount_path: PathBuf::from("/vault/secrets"),
                    sub_path: Some("s".into()),
                    read_only: false,
                },
                VolumeMount {
                    volume: "sa".into(),
                    mount_path: PathBuf::from("/var/run/secrets"),
                    sub_path: None,
                    read_only: true,
                },
            ]
        );
        let relative = json!({"volumeMounts": [{"name": "data", "mountPath": "rel"}]});
        assert!(volume_mounts("c", &relative).is_err());
        let unnamed = json!({"volumeMounts": [{"mountPath": "/x"}]});
        let err = volume_mounts("c", &unnamed).unwrap_err();
        assert!(
            err.to_string().contains("volumeMounts[0] has no name"),
            "{err}"
        );

        let files = downward_api_files(&p, &p["spec"]["volumes"][1]).unwrap();
        assert_eq!(
            files,
            [
                ("namespace".to_string(), "ns1".to_string()),
                ("labels/app".to_string(), "demo".to_string()),
            ]
        );
        assert_eq!(
            service_account_token_paths(&p),
            [("sa".to_string(), "token".to_string())]
        );
        assert_eq!(run_as(&p, c), (Some(7), Some(8)));
        let init = find_container(&p, "init").unwrap();
        assert_eq!(run_as(&p, init), (Some(100), Some(8)));
    }
}
