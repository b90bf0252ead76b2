//! `cargo xtask notices`: the third-party license notices of the `vault-k8s` binary, one text file.
//!
//! The crate set comes from `cargo metadata`: every package reachable from the `vault-k8s` package
//! through normal (not dev, not build-script) dependencies on the release target, which is what is
//! compiled into the binary. For each one the file lists name, version, license expression and
//! repository, and the license files shipped in the crate's package (`LICENSE*`, `LICENCE*`,
//! `COPYING*`, `NOTICE*`, `UNLICENSE`). Identical texts are printed once, with the crates that
//! ship them, which keeps the file small enough for the images.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::util;

/// The package whose binary the notices describe.
const ROOT_PACKAGE: &str = "vault-k8s";
/// The release binary's target (the images ship the static musl build).
const RELEASE_TARGET: &str = "x86_64-unknown-linux-musl";
/// Where the images carry the notices and the project's own LICENSE (see docs/images.md).
const IMAGE_NOTICES: &str = "/usr/share/doc/vault-k8s/THIRD_PARTY_LICENSES";
const IMAGE_LICENSE: &str = "/usr/share/doc/vault-k8s/LICENSE";

/// Writes the notices to `output` (default `dist/THIRD_PARTY_LICENSES`) and returns that path.
pub(crate) fn run(output: Option<&Path>) -> anyhow::Result<PathBuf> {
    let out = output.map_or_else(
        || util::workspace_root().join("dist/THIRD_PARTY_LICENSES"),
        Path::to_path_buf,
    );
    let text = generate()?;
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(&out, &text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("notices: wrote {} ({} bytes)", out.display(), text.len());
    Ok(out)
}

/// The files every image carries: (path in the image, contents). The notices are regenerated
/// into `out/THIRD_PARTY_LICENSES` so they always match the locked dependency set.
pub(crate) fn image_files(out: &Path) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let notices = run(Some(&out.join("THIRD_PARTY_LICENSES")))?;
    let license = util::workspace_root().join("LICENSE");
    Ok(vec![
        (
            IMAGE_NOTICES,
            fs::read(&notices).with_context(|| format!("reading {}", notices.display()))?,
        ),
        (
            IMAGE_LICENSE,
            fs::read(&license).with_context(|| format!("reading {}", license.display()))?,
        ),
    ])
}

/// One third-party crate compiled into the binary.
struct Crate {
    name: String,
    version: String,
    license: String,
    repository: String,
    /// (file name, text) of each license file in the package.
    files: Vec<(String, String)>,
}

fn generate() -> anyhow::Result<String> {
    let json = util::output(util::cargo().args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--filter-platform",
        RELEASE_TARGET,
    ]))
    .context("`cargo metadata` failed")?;
    let metadata: Value = serde_json::from_str(&json).context("parsing `cargo metadata` output")?;
    let (version, crates) = compiled_crates(&metadata)?;
    Ok(render(&version, &crates))
}

/// The third-party packages reachable from [`ROOT_PACKAGE`] through normal dependencies.
fn compiled_crates(metadata: &Value) -> anyhow::Result<(String, Vec<Crate>)> {
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .context("cargo metadata: no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata: no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let Some(root) = packages
        .iter()
        .find(|(id, p)| members.contains(*id) && p["name"] == ROOT_PACKAGE)
        .map(|(id, _)| *id)
    else {
        bail!("cargo metadata: no workspace package `{ROOT_PACKAGE}`");
    };
    let mut seen = BTreeSet::from([root]);
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            // Proc macros (and what only they use) run in the compiler, not in the binary.
            if let Some(dep_id) = dep["pkg"].as_str().filter(|_| normal)
                && !packages.get(dep_id).is_some_and(|p| is_proc_macro(p))
                && seen.insert(dep_id)
            {
                stack.push(dep_id);
            }
        }
    }
    let mut crates = Vec::new();
    for id in seen.into_iter().filter(|id| !members.contains(id)) {
        let p = packages[id];
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().unwrap_or(Path::new("."));
        crates.push(Crate {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
            license: p["license"].as_str().map_or_else(
                || "(no SPDX expression; see the files below)".to_owned(),
                str::to_owned,
            ),
            repository: p["repository"].as_str().unwrap_or("").to_owned(),
            files: license_files(dir)?,
        });
    }
    crates.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    let version = packages[root]["version"].as_str().unwrap_or("?").to_owned();
    Ok((version, crates))
}

fn is_proc_macro(package: &Value) -> bool {
    package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "proc-macro"))
        })
}

fn is_license_file(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING", "NOTICE", "UNLICENSE"]
        .iter()
        .any(|prefix| upper.starts_with(prefix))
}

fn license_files(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_license_file(&name) || !entry.file_type()?.is_file() {
            continue;
        }
        let bytes = fs::read(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        files.push((name, String::from_utf8_lossy(&bytes).trim_end().to_owned()));
    }
    files.sort();
    Ok(files)
}

fn render(version: &str, crates: &[Crate]) -> String {
    // Unique texts in first-seen order, each with the crates (and file names) that ship it.
    let mut texts: Vec<(&str, Vec<String>)> = Vec::new();
    let mut refs: Vec<Vec<usize>> = Vec::new();
    for c in crates {
        let mut mine = Vec::new();
        for (file, text) in &c.files {
            let index = match texts.iter().position(|(t, _)| t == text) {
                Some(i) => i,
                None => {
                    texts.push((text, Vec::new()));
                    texts.len() - 1
                }
            };
            texts[index]
                .1
                .push(format!("{} {} ({file})", c.name, c.version));
            mine.push(index + 1);
        }
        refs.push(mine);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "Third-party software in vault-k8s {}\n\n\
         vault-k8s is licensed under the Mozilla Public License 2.0 (see LICENSE in its source).\n\
         The binary includes the {} Rust crates listed below. Each entry gives the crate's license\n\
         as declared in its Cargo.toml and the license texts its package ships, printed once each\n\
         in the second part. Generated by `cargo xtask notices` from `cargo metadata`.\n\n",
        version,
        crates.len()
    ));
    out.push_str("== Crates ==\n\n");
    for (c, mine) in crates.iter().zip(&refs) {
        let texts = if mine.is_empty() {
            "no license file in the package; the license named applies".to_owned()
        } else {
            mine.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "{} {}\n  license: {}\n",
            c.name, c.version, c.license
        ));
        if !c.repository.is_empty() {
            out.push_str(&format!("  source: {}\n", c.repository));
        }
        out.push_str(&format!("  texts: {texts}\n\n"));
    }
    out.push_str("== License texts ==\n");
    for (i, (text, users)) in texts.iter().enumerate() {
        out.push_str(&format!(
            "\n---- #{} ({}) ----\n\n{text}\n",
            i + 1,
            users.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_file_names() {
        for yes in [
            "LICENSE",
            "LICENSE-MIT",
            "license-apache",
            "COPYING",
            "NOTICE",
            "UNLICENSE",
            "LICENCE.txt",
        ] {
            assert!(is_license_file(yes), "{yes}");
        }
        for no in ["README.md", "Cargo.toml", "src"] {
            assert!(!is_license_file(no), "{no}");
        }
    }

    #[test]
    fn identical_texts_are_printed_once() {
        let mit = ("LICENSE-MIT".to_owned(), "MIT text".to_owned());
        let crates = vec![
            Crate {
                name: "a".into(),
                version: "1.0.0".into(),
                license: "MIT".into(),
                repository: String::new(),
                files: vec![mit.clone()],
            },
            Crate {
                name: "b".into(),
                version: "2.0.0".into(),
                license: "MIT".into(),
                repository: "https://x".into(),
                files: vec![mit],
            },
            Crate {
                name: "c".into(),
                version: "0.1.0".into(),
                license: "ISC".into(),
                repository: String::new(),
                files: vec![],
            },
        ];
        let text = render("0.1.0", &crates);
        assert_eq!(text.matches("MIT text").count(), 1, "{text}");
        assert!(
            text.contains("---- #1 (a 1.0.0 (LICENSE-MIT), b 2.0.0 (LICENSE-MIT)) ----"),
            "{text}"
        );
        assert!(
            text.contains("c 0.1.0\n  license: ISC\n  texts: no license file"),
            "{text}"
        );
        assert!(text.contains("source: https://x"), "{text}");
    }
}
