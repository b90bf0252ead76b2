//! `cargo xtask release`: every release artifact into `dist/`, reproducibly:
//! the static binaries (linux/amd64 and linux/arm64), the images (one multi-arch OCI index per
//! image, a docker-archive and an SBOM per platform), the packaged chart, SHA256SUMS and
//! `dist/manifest.json` (each artifact with its sha256 and size).
//!
//! ```text
//! cargo xtask release [--arch amd64|arm64]... [--binary PATH] [--binary-arm64 PATH] [--no-dev] [--opt-level LEVEL] [--out DIR]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::ReleaseArgs;
use crate::image::arch::Arch;
use crate::image::{self, meta};

pub(crate) fn run(args: &ReleaseArgs) -> Result<()> {
    // A release carries both images; `--no-dev` skips the Debian-based one (debootstrap, minutes)
    // for a quick local run.
    let mut opts = image::Opts {
        runtime: true,
        dev: !args.no_dev,
        arches: args.arch.clone(),
        binary: args.binary.clone(),
        binary_arm64: args.binary_arm64.clone(),
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

    let mut artifacts: Vec<(PathBuf, &str)> = Vec::new();
    let bins = opts.binaries()?;
    for (arch, bin) in &bins {
        match arch {
            Arch::Amd64 => opts.binary = Some(bin.clone()),
            Arch::Arm64 => opts.binary_arm64 = Some(bin.clone()),
        }
        let bin_name = format!("vault-k8s-{}-{}", m.version, arch.triple());
        let bin_out = out.join(&bin_name);
        std::fs::copy(bin, &bin_out).with_context(|| format!("copying {}", bin.display()))?;
        set_mode(&bin_out, 0o755)?;
        artifacts.push((bin_out, "binary"));
    }

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
        if let Some(image) = image_entry(path, kind)? {
            entry["image"] = image;
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

/// What the release manifest says about an image archive: for the oci-archive the index
/// digest and every platform's manifest digest and sizes; for a platform's docker-archive that
/// platform's. Read from the image summary next to it (`<name>.json`).
fn image_entry(path: &Path, kind: &str) -> Result<Option<serde_json::Value>> {
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (stem, arch) = match kind {
        "oci-archive" => (file.trim_end_matches(".oci.tar"), None),
        "docker-archive" => {
            let base = file.trim_end_matches(".docker.tar");
            match base.rsplit_once('-') {
                Some((stem, arch)) => (stem, Some(arch)),
                None => (base, None),
            }
        }
        _ => return Ok(None),
    };
    let summary = path.with_file_name(format!("{stem}.json"));
    let s: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&summary).with_context(|| format!("reading {}", summary.display()))?,
    )?;
    Ok(Some(match arch {
        None => {
            json!({"reference": s["reference"], "index_digest": s["digest"], "platforms": s["platforms"]})
        }
        Some(a) => {
            let p = &s["platforms"][a];
            json!({"reference": s["reference"], "platform": format!("linux/{a}"), "digest": p["digest"], "compressed_size": p["compressed_size"], "uncompressed_size": p["uncompressed_size"]})
        }
    }))
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
