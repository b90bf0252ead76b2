//! `cargo xtask release`: every release artifact into `dist/`, reproducibly:
//! the static binary, the images (+ SBOMs), the packaged chart, SHA256SUMS and
//! `dist/manifest.json` (each artifact with its sha256 and size).
//!
//! ```text
//! cargo xtask release [--binary PATH] [--no-dev] [--opt-level LEVEL] [--out DIR]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::ReleaseArgs;
use crate::image::{self, meta};

pub(crate) fn run(args: &ReleaseArgs) -> Result<()> {
    // A release carries both images; `--no-dev` skips the Debian-based one (debootstrap, minutes)
    // for a quick local run.
    let mut opts = image::Opts {
        runtime: true,
        dev: !args.no_dev,
        binary: args.binary.clone(),
        opt_level: args.opt_level.clone(),
        ..image::Opts::default()
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| meta::root().join("dist"));
    let m = meta::build_meta()?;
    // A release directory holds exactly one release: start empty so nothing stale is listed.
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("emptying {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;

    let bin = image::binary(opts.binary.as_deref(), opts.opt_level.as_deref())?;
    opts.binary = Some(bin.clone());
    let bin_name = format!("vault-k8s-{}-x86_64-unknown-linux-musl", m.version);
    let bin_out = out.join(&bin_name);
    std::fs::copy(&bin, &bin_out).with_context(|| format!("copying {}", bin.display()))?;
    set_mode(&bin_out, 0o755)?;
    let mut artifacts: Vec<(PathBuf, &str)> = vec![(bin_out, "binary")];

    opts.out = Some(out.join("images"));
    for built in image::build(&opts)? {
        for f in built.files {
            let kind = kind_of(&f);
            artifacts.push((f, kind));
        }
        eprintln!("release: image {} done", built.name);
    }
    artifacts.push((crate::chart::package(&out)?, "helm-chart"));

    let mut list = Vec::new();
    let mut sums = String::new();
    artifacts.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in &artifacts {
        let rel = path
            .strip_prefix(&out)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let sha = meta::sha256_file(path)?;
        let size = path.metadata()?.len();
        sums.push_str(&format!("{sha}  {rel}\n"));
        let mut entry = json!({"path": rel, "kind": kind, "sha256": sha, "size": size});
        if *kind == "oci-archive" || *kind == "docker-archive" {
            // The image digest (manifest) and name, from the image summary next to it.
            let summary = path
                .to_string_lossy()
                .replace(".oci.tar", ".json")
                .replace(".docker.tar", ".json");
            let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary)?)?;
            entry["image"] = json!({"reference": s["reference"], "digest": s["digest"], "compressed_size": s["compressed_size"], "uncompressed_size": s["uncompressed_size"]});
        }
        list.push(entry);
    }
    meta::write(&out.join("SHA256SUMS"), sums.as_bytes())?;
    let manifest = json!({
        "name": "vault-k8s",
        "version": m.version,
        "revision": m.revision,
        "created": m.created,
        "source": m.source,
        "license": m.license,
        "artifacts": list,
    });
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    meta::write(&out.join("manifest.json"), &text)?;
    println!(
        "release {} ({}) in {}:",
        m.version,
        m.revision,
        out.display()
    );
    print!("{sums}");
    Ok(())
}

fn kind_of(p: &Path) -> &'static str {
    let n = p.file_name().and_then(|s| s.to_str()).unwrap_or("");
    if n.ends_with(".oci.tar") {
        "oci-archive"
    } else if n.ends_with(".docker.tar") {
        "docker-archive"
    } else if n.ends_with(".spdx.json") {
        "sbom-spdx"
    } else {
        "image-summary"
    }
}

fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", p.display()))
}
