//! `cargo xtask tidy`: dependency rules that keep the architecture honest (docs/ARCHITECTURE.md).
//!
//! 1. The pure crates (`PURE_CRATES`) reach no async, network, TLS or telemetry crate
//!    through normal dependencies, however indirectly.
//! 2. `anyhow` is a normal dependency only of `bins/*`, `xtask` and the dev-only `vk-test-utils`
//!    (libraries use typed errors; test code may use anyhow).
//! 3. `vk-test-utils` is never a normal dependency.
//! 4. A dependency used by two or more workspace crates is declared once, in `[workspace.dependencies]`.
//! 5. The pure-crate list written in docs/ARCHITECTURE.md and docs/development.md equals `PURE_CRATES`,
//!    and each pure crate links the shared clippy configuration that bans I/O calls.
//!
//! It reads `cargo metadata` (the resolved graph) and, for rule 4, the members' `Cargo.toml` files, because
//! metadata does not say whether a dependency was inherited with `workspace = true`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::util;

mod pure_docs;

/// The dev-only crate: never a normal dependency, and, being test code, free to use anyhow.
const TEST_UTILS: &str = "vk-test-utils";

/// Crates that must stay free of I/O machinery.
const PURE_CRATES: &[&str] = &[
    "vk-inject",
    "vk-template",
    "vk-agent-config",
    "vk-lease",
    "vk-go",
];

/// Packages whose presence means a crate can do async, network, TLS or telemetry I/O.
const FORBIDDEN_IN_PURE: &[&str] = &[
    "tokio",
    "hyper",
    "hyper-util",
    "axum",
    "tower",
    "reqwest",
    "ureq",
    "hyper-rustls",
    "vk-http",
    "kube",
    "kube-client",
    "vk-kube",
    "rustls",
    "tokio-rustls",
    "ring",
    "prometheus",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry-proto",
    "tracing-opentelemetry",
    "mio",
    "socket2",
];

pub(crate) fn run() -> anyhow::Result<()> {
    let root = util::workspace_root();
    let json = util::output(util::cargo().args(["metadata", "--format-version", "1"]))?;
    let metadata: Value =
        serde_json::from_str(&json).context("cargo metadata printed invalid JSON")?;
    let graph = Graph::from_metadata(&metadata)?;

    let mut problems = Vec::new();
    problems.extend(pure_crate_problems(&graph));
    problems.extend(direct_dependency_problems(&graph, &root));
    problems.extend(workspace_dependency_problems(&graph)?);
    problems.extend(pure_docs::problems(&root, PURE_CRATES));

    if problems.is_empty() {
        println!(
            "tidy: ok ({} workspace crates; pure: {}; {} forbidden packages checked)",
            graph.members.len(),
            PURE_CRATES.join(", "),
            FORBIDDEN_IN_PURE.len()
        );
        return Ok(());
    }
    for p in &problems {
        eprintln!("tidy: {p}");
    }
    bail!(
        "{} dependency rule(s) broken; see docs/ARCHITECTURE.md (Invariants) for why they exist",
        problems.len()
    )
}

// === The graph, as read from `cargo metadata` ===

/// A direct dependency as declared in a manifest.
struct Declared {
    /// Name as written in the manifest (the rename if there is one).
    key: String,
    /// Name of the package it points to.
    package: String,
    /// `None` for normal, `Some("dev")`, `Some("build")`.
    kind: Option<String>,
}

struct Member {
    name: String,
    manifest: PathBuf,
    declared: Vec<Declared>,
}

struct Graph {
    /// Package id → package name, for every package in the resolve.
    names: HashMap<String, String>,
    /// Package id → ids reached through a normal (non-dev, non-build) edge.
    normal_edges: HashMap<String, Vec<String>>,
    /// Workspace members, by package id.
    members: BTreeMap<String, Member>,
}

impl Graph {
    fn from_metadata(metadata: &Value) -> anyhow::Result<Graph> {
        let packages = metadata["packages"]
            .as_array()
            .context("cargo metadata has no `packages`")?;
        let member_ids: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .context("cargo metadata has no `workspace_members`")?
            .iter()
            .filter_map(Value::as_str)
            .collect();

        let mut names = HashMap::new();
        let mut members = BTreeMap::new();
        for pkg in packages {
            let id = str_field(pkg, "id")?;
            let name = str_field(pkg, "name")?;
            names.insert(id.to_owned(), name.to_owned());
            if member_ids.contains(id) {
                let declared = pkg["dependencies"]
                    .as_array()
                    .map(|deps| deps.iter().filter_map(declared_from_json).collect())
                    .unwrap_or_default();
                let manifest = PathBuf::from(str_field(pkg, "manifest_path")?);
                members.insert(
                    id.to_owned(),
                    Member {
                        name: name.to_owned(),
                        manifest,
                        declared,
                    },
                );
            }
        }

        let mut normal_edges: HashMap<String, Vec<String>> = HashMap::new();
        let nodes = metadata["resolve"]["nodes"]
            .as_array()
            .context("cargo metadata has no `resolve.nodes`")?;
        for node in nodes {
            let id = str_field(node, "id")?;
            let deps = node["deps"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let normal = deps
                .iter()
                .filter(|d| is_normal_edge(d))
                .filter_map(|d| d["pkg"].as_str().map(str::to_owned))
                .collect();
            normal_edges.insert(id.to_owned(), normal);
        }
        Ok(Graph {
            names,
            normal_edges,
            members,
        })
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// Breadth-first over normal edges; returns the shortest path (as names) to each forbidden package.
    fn forbidden_paths(&self, start: &str, forbidden: &[&str]) -> Vec<Vec<String>> {
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut seen = BTreeSet::from([start]);
        let mut found = Vec::new();
        while let Some(id) = queue.pop_front() {
            if id != start && forbidden.contains(&self.name(id)) {
                let mut path = vec![self.name(id).to_owned()];
                let mut at = id;
                while let Some(&up) = parent.get(at) {
                    path.push(self.name(up).to_owned());
                    at = up;
                }
                path.reverse();
                found.push(path);
                // Keep walking: the path past a forbidden crate would only repeat the same finding.
                continue;
            }
            for next in self.normal_edges.get(id).into_iter().flatten() {
                if seen.insert(next.as_str()) {
                    parent.insert(next.as_str(), id);
                    queue.push_back(next.as_str());
                }
            }
        }
        found
    }
}

fn str_field<'a>(v: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    v[field]
        .as_str()
        .with_context(|| format!("cargo metadata: missing string field `{field}`"))
}

fn declared_from_json(dep: &Value) -> Option<Declared> {
    let package = dep["name"].as_str()?.to_owned();
    let key = dep["rename"]
        .as_str()
        .map_or_else(|| package.clone(), str::to_owned);
    let kind = dep["kind"].as_str().map(str::to_owned);
    Some(Declared { key, package, kind })
}

/// An edge is normal when at least one of its kinds is `null` (a crate can be both a dev and a normal dep).
fn is_normal_edge(dep: &Value) -> bool {
    dep["dep_kinds"]
        .as_array()
        .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
}

// === Rules ===

fn pure_crate_problems(graph: &Graph) -> Vec<String> {
    let mut problems = Vec::new();
    for pure in PURE_CRATES {
        let Some((id, _)) = graph.members.iter().find(|(_, m)| m.name == *pure) else {
            problems.push(format!("pure crate `{pure}` is not a workspace member; update PURE_CRATES in xtask/src/tidy.rs"));
            continue;
        };
        for path in graph.forbidden_paths(id, FORBIDDEN_IN_PURE) {
            let culprit = path.last().cloned().unwrap_or_default();
            problems.push(format!(
                "pure crate `{pure}` reaches `{culprit}` through normal dependencies: {} \
                 (move that code to an I/O crate, or make the dependency a dev-dependency)",
                path.join(" -> ")
            ));
        }
    }
    problems
}

fn direct_dependency_problems(graph: &Graph, root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for member in graph.members.values() {
        let rel = member
            .manifest
            .strip_prefix(root)
            .unwrap_or(&member.manifest);
        let may_use_anyhow =
            rel.starts_with("bins") || rel.starts_with("xtask") || member.name == TEST_UTILS;
        for dep in member.declared.iter().filter(|d| d.kind.is_none()) {
            if dep.package == "anyhow" && !may_use_anyhow {
                problems.push(format!(
                    "`{}` has `anyhow` as a normal dependency; libraries use thiserror enums \
                     (anyhow is for bins/*, xtask, {TEST_UTILS} and dev-dependencies)",
                    member.name
                ));
            }
            if dep.package == TEST_UTILS {
                problems.push(format!(
                    "`{}` has `{TEST_UTILS}` as a normal dependency; it belongs in [dev-dependencies]",
                    member.name
                ));
            }
        }
    }
    problems
}

fn workspace_dependency_problems(graph: &Graph) -> anyhow::Result<Vec<String>> {
    // Which members use each package, in any kind of dependency.
    let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for member in graph.members.values() {
        for dep in &member.declared {
            users
                .entry(dep.package.as_str())
                .or_default()
                .insert(member.name.as_str());
        }
    }
    let shared: BTreeSet<&str> = users
        .into_iter()
        .filter(|(_, u)| u.len() >= 2)
        .map(|(p, _)| p)
        .collect();

    let mut problems = Vec::new();
    for member in graph.members.values() {
        let text = std::fs::read_to_string(&member.manifest)
            .with_context(|| format!("cannot read {}", member.manifest.display()))?;
        let inherited = inherited_dependencies(&text);
        for dep in member
            .declared
            .iter()
            .filter(|d| shared.contains(d.package.as_str()))
        {
            if !inherited.contains(&dep.key) {
                problems.push(format!(
                    "`{}` declares `{}` itself, but it is used by several workspace crates: \
                     add it to [workspace.dependencies] and write `{}.workspace = true`",
                    member.name, dep.key, dep.key
                ));
            }
        }
    }
    Ok(problems)
}

/// Names of the dependencies a manifest inherits from the workspace, in any dependency table.
///
/// A small line scanner is enough: our manifests write `x.workspace = true`, `x = { workspace = true, … }`
/// or a `[dependencies.x]` table with `workspace = true`. It avoids a TOML parser in xtask.
fn inherited_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut inherited = BTreeSet::new();
    let mut in_deps = false;
    // Set inside a `[dependencies.x]` table.
    let mut table_dep: Option<String> = None;
    for raw in manifest.lines() {
        let line = strip_comment(raw).trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_start_matches('[').trim_end_matches(']').trim();
            let (section, dep) = split_dependency_header(header);
            in_deps = section;
            table_dep = dep;
            continue;
        }
        if !in_deps {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        match &table_dep {
            Some(dep) if key == "workspace" && value == "true" => {
                inherited.insert(dep.clone());
            }
            Some(_) => {}
            None => {
                if let Some(name) = key.strip_suffix(".workspace") {
                    if value == "true" {
                        inherited.insert(name.trim().trim_matches('"').to_owned());
                    }
                } else if value.starts_with('{') && value.contains("workspace=true") {
                    inherited.insert(key.to_owned());
                }
            }
        }
    }
    inherited
}

/// For a table header: is it a dependency table, and if it is `[…dependencies.x]`, which dependency.
fn split_dependency_header(header: &str) -> (bool, Option<String>) {
    const TABLES: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];
    // `target.'cfg(unix)'.dependencies` ends like a plain table, so compare the last one or two parts.
    let parts: Vec<&str> = header
        .split('.')
        .map(|p| p.trim().trim_matches('"'))
        .collect();
    match parts.as_slice() {
        [.., last] if TABLES.contains(last) => (true, None),
        [.., table, dep] if TABLES.contains(table) && !header.starts_with("workspace.") => {
            (true, Some((*dep).to_owned()))
        }
        _ => (false, None),
    }
}

fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pure → mid → tokio (normal); pure → helper (dev only) → hyper; mid → cc (build) → ring.
    fn synthetic() -> Value {
        let edge =
            |pkg: &str, kind: Value| serde_json::json!({"pkg": pkg, "dep_kinds": [{"kind": kind}]});
        serde_json::json!({
            "workspace_members": ["pure-id"],
            "packages": [
                {"id": "pure-id", "name": "vk-inject", "manifest_path": "/ws/crates/vk-inject/Cargo.toml",
                 "dependencies": [{"name": "mid", "kind": null, "rename": null},
                                  {"name": "helper", "kind": "dev", "rename": null}]},
                {"id": "mid-id", "name": "mid", "manifest_path": "/reg/mid/Cargo.toml", "dependencies": []},
                {"id": "tokio-id", "name": "tokio", "manifest_path": "/reg/tokio/Cargo.toml", "dependencies": []},
                {"id": "helper-id", "name": "helper", "manifest_path": "/reg/helper/Cargo.toml", "dependencies": []},
                {"id": "hyper-id", "name": "hyper", "manifest_path": "/reg/hyper/Cargo.toml", "dependencies": []},
                {"id": "cc-id", "name": "cc", "manifest_path": "/reg/cc/Cargo.toml", "dependencies": []},
                {"id": "ring-id", "name": "ring", "manifest_path": "/reg/ring/Cargo.toml", "dependencies": []}
            ],
            "resolve": {"nodes": [
                {"id": "pure-id", "deps": [edge("mid-id", Value::Null), edge("helper-id", "dev".into())]},
                {"id": "mid-id", "deps": [edge("tokio-id", Value::Null), edge("cc-id", "build".into())]},
                {"id": "helper-id", "deps": [edge("hyper-id", Value::Null)]},
                {"id": "cc-id", "deps": [edge("ring-id", Value::Null)]},
                {"id": "tokio-id", "deps": []},
                {"id": "hyper-id", "deps": []},
                {"id": "ring-id", "deps": []}
            ]}
        })
    }

    #[test]
    fn walk_follows_normal_edges_only_and_reports_the_path() {
        let graph = Graph::from_metadata(&synthetic()).unwrap();
        let paths = graph.forbidden_paths("pure-id", FORBIDDEN_IN_PURE);
        // hyper hides behind a dev edge and ring behind a build edge: neither is reachable.
        assert_eq!(
            paths,
            vec![vec![
                "vk-inject".to_owned(),
                "mid".to_owned(),
                "tokio".to_owned()
            ]]
        );
    }

    #[test]
    fn pure_crate_problem_names_the_path() {
        let graph = Graph::from_metadata(&synthetic()).unwrap();
        let problems = pure_crate_problems(&graph);
        assert_eq!(problems.len(), PURE_CRATES.len(), "{problems:?}");
        assert!(
            problems[0].contains("vk-inject -> mid -> tokio"),
            "{}",
            problems[0]
        );
        // The other pure crates are absent from the synthetic workspace: reported, not ignored.
        assert!(
            problems[1..]
                .iter()
                .all(|p| p.contains("is not a workspace member")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_edge_that_is_both_dev_and_normal_counts_as_normal() {
        let dep = serde_json::json!({"pkg": "x", "dep_kinds": [{"kind": "dev"}, {"kind": null}]});
        assert!(is_normal_edge(&dep));
        let dev = serde_json::json!({"pkg": "x", "dep_kinds": [{"kind": "dev"}]});
        assert!(!is_normal_edge(&dev));
    }

    #[test]
    fn manifest_scanner_finds_inherited_dependencies() {
        let manifest = r#"
[package]
name = "demo"
edition.workspace = true

[dependencies]
serde.workspace = true
thiserror = { workspace = true }   # comment
regex = "1"
tokio = { version = "1", features = ["rt"] }

[dev-dependencies]
tempfile = { workspace = true, features = ["x"] }

[target.'cfg(unix)'.dependencies]
libc.workspace = true

[build-dependencies.cc]
workspace = true
"#;
        let found = inherited_dependencies(manifest);
        let want: BTreeSet<String> = ["serde", "thiserror", "tempfile", "libc", "cc"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn shared_dependency_declared_locally_is_reported() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.toml");
        let b = dir.join("b.toml");
        std::fs::write(&a, "[dependencies]\nregex.workspace = true\n").unwrap();
        std::fs::write(&b, "[dependencies]\nregex = \"1\"\n").unwrap();
        let dep = |package: &str| Declared {
            key: package.to_owned(),
            package: package.to_owned(),
            kind: None,
        };
        let member = |name: &str, manifest: &Path| Member {
            name: name.to_owned(),
            manifest: manifest.to_owned(),
            declared: vec![dep("regex")],
        };
        let graph = Graph {
            names: HashMap::new(),
            normal_edges: HashMap::new(),
            members: BTreeMap::from([
                ("a".to_owned(), member("a", &a)),
                ("b".to_owned(), member("b", &b)),
            ]),
        };
        let problems = workspace_dependency_problems(&graph).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("`b` declares `regex` itself"),
            "{}",
            problems[0]
        );
    }
}
