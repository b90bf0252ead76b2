//! SPDX 2.3 JSON software bill of materials for an image: the Rust crates linked into the
//! binary (from `cargo metadata` + Cargo.lock checksums) and the Debian packages whose files
//! the image carries.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::meta::{self, BuildMeta};

/// A Debian package recorded in the SBOM.
pub(crate) struct DebPackage {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) arch: String,
}

/// One crate of the binary's normal (linked) dependency graph.
struct Crate {
    name: String,
    version: String,
    license: Option<String>,
    registry: bool,
    checksum: Option<String>,
}

/// Crates linked into `vault-k8s` for the musl target: normal dependencies only (build
/// scripts and proc-macros run at build time and are not in the binary, dev-dependencies are
/// for tests). Proc-macro crates are still listed by cargo as normal deps, so they are
/// filtered by their target kind.
fn linked_crates() -> Result<Vec<Crate>> {
    let md = meta::cargo_metadata(false)?;
    let packages: BTreeMap<&str, &Value> = md["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = md["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata: no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let root = packages
        .iter()
        .find(|(_, p)| p["name"] == "vault-k8s")
        .map(|(id, _)| *id)
        .context("no vault-k8s package")?;
    let is_proc_macro = |p: &Value| {
        p["targets"].as_array().is_some_and(|ts| {
            ts.iter().any(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "proc-macro"))
            })
        })
    };
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .is_some_and(|ks| ks.iter().any(|k| k["kind"].is_null()));
            let Some(dep_id) = dep["pkg"].as_str() else {
                continue;
            };
            if normal && packages.get(dep_id).is_some_and(|p| !is_proc_macro(p)) {
                stack.push(dep_id);
            }
        }
    }
    let checksums = lock_checksums()?;
    let mut out: Vec<Crate> = seen
        .iter()
        .filter(|id| **id != root)
        .filter_map(|id| packages.get(id))
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let version = p["version"].as_str().unwrap_or_default().to_string();
            let checksum = checksums.get(&(name.clone(), version.clone())).cloned();
            Crate {
                license: p["license"].as_str().map(spdx_license),
                registry: p["source"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("registry+")),
                checksum,
                name,
                version,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(out)
}

/// Old crates write `MIT/Apache-2.0`; SPDX wants `MIT OR Apache-2.0`.
fn spdx_license(s: &str) -> String {
    s.split('/').map(str::trim).collect::<Vec<_>>().join(" OR ")
}

/// (name, version) → sha256 of the .crate file, from Cargo.lock.
fn lock_checksums() -> Result<BTreeMap<(String, String), String>> {
    let text =
        std::fs::read_to_string(meta::root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut out = BTreeMap::new();
    for block in text.split("[[package]]") {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(&format!("{k} = \""))
                    .and_then(|r| r.strip_suffix('"'))
                    .map(str::to_string)
            })
        };
        if let (Some(n), Some(v), Some(c)) = (field("name"), field("version"), field("checksum")) {
            out.insert((n, v), c);
        }
    }
    Ok(out)
}

fn spdx_id(prefix: &str, i: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{prefix}-{i}-{clean}")
}

/// Builds the SPDX document. `image_digest` names the image (manifest digest).
pub(crate) fn spdx(
    image_name: &str,
    reference: &str,
    image_digest: &str,
    binary_sha256: &str,
    debs: &[DebPackage],
    m: &BuildMeta,
) -> Result<Vec<u8>> {
    let crates = linked_crates()?;
    let mut packages = vec![
        json!({
            "SPDXID": "SPDXRef-Image",
            "name": image_name,
            "versionInfo": m.version,
            "downloadLocation": "NOASSERTION",
            "primaryPackagePurpose": "CONTAINER",
            "checksums": [{"algorithm": "SHA256", "checksumValue": image_digest.trim_start_matches("sha256:")}],
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                "referenceLocator": format!("pkg:oci/{}@{}?repository_url={}", image_name, image_digest.replace(':', "%3A"), reference.rsplit_once(':').map_or(reference, |r| r.0))}],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }),
        json!({
            "SPDXID": "SPDXRef-Binary",
            "name": "vault-k8s",
            "versionInfo": m.version,
            "downloadLocation": if m.source.is_empty() { "NOASSERTION".to_string() } else { m.source.clone() },
            "sourceInfo": format!("git revision {}", m.revision),
            "primaryPackagePurpose": "APPLICATION",
            "checksums": [{"algorithm": "SHA256", "checksumValue": binary_sha256}],
            "licenseConcluded": m.license,
            "licenseDeclared": m.license,
            "copyrightText": "NOASSERTION",
        }),
    ];
    let mut rels = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"}),
        json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-Binary"}),
    ];
    for (i, c) in crates.iter().enumerate() {
        let id = spdx_id("crate", i, &c.name);
        let mut p = json!({
            "SPDXID": id,
            "name": c.name,
            "versionInfo": c.version,
            "downloadLocation": if c.registry { format!("https://crates.io/api/v1/crates/{}/{}/download", c.name, c.version) } else { "NOASSERTION".to_string() },
            "primaryPackagePurpose": "LIBRARY",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": c.license.clone().unwrap_or_else(|| "NOASSERTION".to_string()),
            "copyrightText": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": format!("pkg:cargo/{}@{}", c.name, c.version)}],
        });
        if let Some(sum) = &c.checksum {
            p["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": sum}]);
        }
        packages.push(p);
        rels.push(json!({"spdxElementId": "SPDXRef-Binary", "relationshipType": "STATIC_LINK", "relatedSpdxElement": id}));
    }
    for (i, d) in debs.iter().enumerate() {
        let id = spdx_id("deb", i, &d.name);
        packages.push(json!({
            "SPDXID": id,
            "name": d.name,
            "versionInfo": d.version,
            "downloadLocation": "NOASSERTION",
            "supplier": "Organization: Debian",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                "referenceLocator": format!("pkg:deb/debian/{}@{}?arch={}", d.name, d.version.replace(':', "%3A"), d.arch)}],
        }));
        rels.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{image_name}-{}", m.version),
        // Unique per image content, yet reproducible: derived from the digest, not a UUID.
        "documentNamespace": format!("https://spdx.invalid/vault-k8s/{image_name}/{}", image_digest.trim_start_matches("sha256:")),
        "creationInfo": {"created": m.created, "creators": ["Tool: vault-k8s-xtask-image"]},
        "packages": packages,
        "relationships": rels,
    });
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}

/// Debian packages installed in a root filesystem (its dpkg database), or on the host when
/// `admindir` is None, restricted to `only` when given.
pub(crate) fn dpkg_packages(
    admindir: Option<&std::path::Path>,
    only: &[String],
) -> Result<Vec<DebPackage>> {
    let mut cmd = std::process::Command::new("dpkg-query");
    if let Some(d) = admindir {
        cmd.arg(format!("--admindir={}", d.display()));
    }
    cmd.args([
        "-W",
        "-f=${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n",
    ]);
    cmd.args(only);
    let out = meta::output(&mut cmd).context("listing Debian packages with dpkg-query")?;
    let mut v: Vec<DebPackage> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            // Only packages that are actually installed ("ii").
            (f.len() == 4 && f[3].starts_with("ii")).then(|| DebPackage {
                name: f[0].into(),
                version: f[1].into(),
                arch: f[2].into(),
            })
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}
