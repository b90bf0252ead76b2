//! `cargo xtask image`: builds the OCI images from the declarative definitions in `images/`,
//! without a container engine, deterministically (two builds of one commit give the same
//! digests). `cargo xtask image check` runs the result under podman/skopeo/umoci.
//!
//! ```text
//! cargo xtask image [build] [--dev|--dev-only] [--binary PATH] [--out DIR] [--opt-level z] [--refresh-rootfs]
//! cargo xtask image check [--dev] [--out DIR]
//! ```

pub(crate) mod check;
pub(crate) mod meta;
pub(crate) mod oci;
pub(crate) mod rootfs;
pub(crate) mod sbom;
pub(crate) mod tar;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::{ImageAction, ImageBuildArgs};
use meta::BuildMeta;
use tar::{Entry, Kind};

pub(crate) const MUSL: &str = "x86_64-unknown-linux-musl";

/// Labels naming the upstream releases the image is a drop-in for (what `vault-k8s version`
/// prints in its second and third lines).
pub(crate) const LABEL_COMPAT_VAULT_K8S: &str = "io.vault-k8s.compatible.vault-k8s";
pub(crate) const LABEL_COMPAT_VAULT_AGENT: &str = "io.vault-k8s.compatible.vault-agent";

/// Options of the build.
#[derive(Default)]
pub(crate) struct Opts {
    pub(crate) runtime: bool,
    pub(crate) dev: bool,
    pub(crate) binary: Option<PathBuf>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) opt_level: Option<String>,
    pub(crate) refresh_rootfs: bool,
}

pub(crate) fn run(action: Option<ImageAction>, top: &ImageBuildArgs) -> Result<()> {
    let args = match &action {
        Some(ImageAction::Check(args)) => return check::run(args),
        Some(ImageAction::Build(args)) => args,
        None => top,
    };
    build(&Opts::from(args)).map(|_| ())
}

impl From<&ImageBuildArgs> for Opts {
    /// The runtime image unless `--dev-only`; the dev image with `--dev` or `--dev-only`.
    fn from(args: &ImageBuildArgs) -> Opts {
        Opts {
            runtime: !args.dev_only,
            dev: args.dev || args.dev_only,
            binary: args.binary.clone(),
            out: args.out.clone(),
            opt_level: args.opt_level.clone(),
            refresh_rootfs: args.refresh_rootfs,
        }
    }
}

pub(crate) fn default_out() -> PathBuf {
    meta::root().join("dist").join("images")
}

/// Builds the static release binary (or checks the given one) and returns its path.
pub(crate) fn binary(given: Option<&Path>, opt_level: Option<&str>) -> Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => {
            let mut cmd = Command::new(meta::cargo());
            cmd.current_dir(meta::root()).args([
                "build",
                "--release",
                "--locked",
                "--target",
                MUSL,
                "-p",
                "vault-k8s",
            ]);
            if let Some(l) = opt_level {
                // Quoted as a TOML string when it is not a number ("z", "s").
                let v = if l.parse::<u8>().is_ok() {
                    l.to_string()
                } else {
                    format!("\"{l}\"")
                };
                cmd.arg("--config")
                    .arg(format!("profile.release.opt-level={v}"));
            }
            eprintln!("image: {}", meta::show(&cmd));
            meta::status(&mut cmd).context(
                "building the static binary failed; it needs the musl target (`rustup target add x86_64-unknown-linux-musl`) \
                 and musl-tools (`apt-get install -y musl-tools`)",
            )?;
            meta::target_dir()
                .join(MUSL)
                .join("release")
                .join("vault-k8s")
        }
    };
    meta::check_static_elf(&path)?;
    Ok(path)
}

/// What `build` produced for one image (also written as `<name>.json`).
pub(crate) struct Built {
    pub(crate) name: String,
    pub(crate) files: Vec<PathBuf>,
}

pub(crate) fn build(o: &Opts) -> Result<Vec<Built>> {
    let m = meta::build_meta()?;
    let bin = binary(o.binary.as_deref(), o.opt_level.as_deref())?;
    let out = o.out.clone().unwrap_or_else(default_out);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut built = Vec::new();
    let mut defs = Vec::new();
    if o.runtime {
        defs.push("runtime.json");
    }
    if o.dev {
        defs.push("dev.json");
    }
    for d in defs {
        built.push(build_one(
            &meta::root().join("images").join(d),
            &bin,
            &out,
            &m,
            o.refresh_rootfs,
        )?);
    }
    Ok(built)
}

pub(crate) fn load_def(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading image definition {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn strs(v: &Value, key: &str, def: &Path) -> Result<Vec<String>> {
    match &v[key] {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .with_context(|| format!("{}: {key} must hold strings", def.display()))
            })
            .collect(),
        _ => bail!("{}: {key} must be a list of strings", def.display()),
    }
}

fn field<'a>(v: &'a Value, key: &str, def: &Path) -> Result<&'a str> {
    v[key]
        .as_str()
        .with_context(|| format!("{}: `{key}` (a string) is required", def.display()))
}

/// `repository:tag` of an image definition for this version.
pub(crate) fn reference(def: &Value, version: &str) -> String {
    let repo = def["repository"].as_str().unwrap_or("localhost/vault-k8s");
    let tag = def["tag"]
        .as_str()
        .unwrap_or("{version}")
        .replace("{version}", version);
    format!("{repo}:{tag}")
}

fn build_one(
    def_path: &Path,
    bin: &Path,
    out: &Path,
    m: &BuildMeta,
    refresh: bool,
) -> Result<Built> {
    let def = load_def(def_path)?;
    let name = field(&def, "name", def_path)?.to_string();
    let bin_path = field(&def, "binary", def_path)?;
    let reference = reference(&def, &m.version);
    let mut debs_wanted: Vec<String> = Vec::new();
    let mut entries: Vec<Entry> = match def["base"]["kind"].as_str() {
        Some("scratch") => Vec::new(),
        Some("debootstrap") => {
            let dir = rootfs::debootstrap(&def["base"], m.epoch, refresh)?;
            let mut e = rootfs::read_tree(&dir)?;
            // The binary replaces anything at its path.
            e.retain(|x| x.path != bin_path.trim_start_matches('/'));
            e
        }
        other => bail!(
            "{}: base.kind must be \"scratch\" or \"debootstrap\", not {other:?}",
            def_path.display()
        ),
    };
    let bin_data = std::fs::read(bin).with_context(|| format!("reading {}", bin.display()))?;
    let bin_sha = meta::sha256_hex(&bin_data);
    entries.push(Entry::file(bin_path, 0o755, bin_data));
    for f in def["files"].as_array().into_iter().flatten() {
        let path = field(f, "path", def_path)?;
        let mode = u32::from_str_radix(f["mode"].as_str().unwrap_or("0644"), 8)
            .with_context(|| format!("{}: bad mode for {path}", def_path.display()))?;
        if f["dir"].as_bool() == Some(true) {
            entries.push(Entry::dir(path, mode));
        } else if let Some(t) = f["text"].as_str() {
            entries.push(Entry::file(path, mode, t.as_bytes().to_vec()));
        } else if let Some(h) = f["host_file"].as_str() {
            let data = std::fs::read(h).with_context(|| {
                let pkg = f["debian_package"]
                    .as_str()
                    .unwrap_or("the package that provides it");
                format!(
                    "{}: {path} is copied from {h}, which is missing: `apt-get install -y {pkg}`",
                    def_path.display()
                )
            })?;
            entries.push(Entry::file(path, mode, data));
        } else {
            bail!(
                "{}: file {path} needs one of `text`, `host_file` or `dir`",
                def_path.display()
            );
        }
        if let Some(p) = f["debian_package"].as_str() {
            debs_wanted.push(p.to_string());
        }
    }
    tar::add_parent_dirs(&mut entries);
    tar::sort_tree_order(&mut entries);
    check_unique(&entries)?;

    let labels = vec![
        (
            "org.opencontainers.image.title".to_string(),
            def["title"].as_str().unwrap_or(&name).to_string(),
        ),
        (
            "org.opencontainers.image.description".to_string(),
            def["description"].as_str().unwrap_or("").to_string(),
        ),
        (
            "org.opencontainers.image.version".to_string(),
            m.version.clone(),
        ),
        (
            "org.opencontainers.image.revision".to_string(),
            m.revision.clone(),
        ),
        (
            "org.opencontainers.image.source".to_string(),
            m.source.clone(),
        ),
        (
            "org.opencontainers.image.licenses".to_string(),
            m.license.clone(),
        ),
        (
            "org.opencontainers.image.created".to_string(),
            m.created.clone(),
        ),
        (
            "org.opencontainers.image.ref.name".to_string(),
            reference.clone(),
        ),
        (
            LABEL_COMPAT_VAULT_K8S.to_string(),
            m.compatible_vault_k8s.clone(),
        ),
        (
            LABEL_COMPAT_VAULT_AGENT.to_string(),
            m.compatible_vault_agent.clone(),
        ),
    ];
    let cfg = oci::ImageConfig {
        user: field(&def, "user", def_path)?.to_string(),
        entrypoint: strs(&def, "entrypoint", def_path)?,
        cmd: strs(&def, "cmd", def_path)?,
        env: strs(&def, "env", def_path)?,
        workdir: def["workdir"].as_str().unwrap_or("/").to_string(),
        labels,
        created: m.created.clone(),
        created_by: format!(
            "cargo xtask image ({})",
            def_path.file_name().and_then(|s| s.to_str()).unwrap_or("")
        ),
    };
    let level = def["gzip_level"].as_u64().unwrap_or(9) as u32;
    eprintln!(
        "image: assembling {name} ({} entries, gzip level {level})",
        entries.len()
    );
    let img = oci::build(&entries, m.epoch, level, &cfg, &reference)?;

    let layout = out.join(&name);
    oci::write_layout(&img, &layout)?;
    let oci_tar = out.join(format!("{name}.oci.tar"));
    meta::write(&oci_tar, &oci::oci_archive(&img, m.epoch)?)?;
    let docker_tar = out.join(format!("{name}.docker.tar"));
    meta::write(&docker_tar, &oci::docker_archive(&img, m.epoch)?)?;

    let debs = match def["base"]["kind"].as_str() {
        Some("debootstrap") => {
            let dir = rootfs::debootstrap(&def["base"], m.epoch, false)?;
            sbom::dpkg_packages(Some(&dir.join("var/lib/dpkg")), &[])?
        }
        _ if debs_wanted.is_empty() => Vec::new(),
        _ => sbom::dpkg_packages(None, &debs_wanted)?,
    };
    let spdx = out.join(format!("{name}.spdx.json"));
    meta::write(
        &spdx,
        &sbom::spdx(&name, &reference, &img.digest, &bin_sha, &debs, m)?,
    )?;

    let files: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "/{}{}",
                e.path,
                if matches!(e.kind, Kind::Dir) { "/" } else { "" }
            )
        })
        .collect();
    let summary = json!({
        "name": name,
        "reference": reference,
        "digest": img.digest,
        "config_digest": format!("sha256:{}", meta::sha256_hex(&img.config)),
        "layer_digest": format!("sha256:{}", meta::sha256_hex(&img.layer_gz)),
        "compressed_size": img.layer_gz.len() + img.config.len() + img.manifest.len(),
        "uncompressed_size": img.layer_tar.len(),
        "binary_sha256": bin_sha,
        "created": m.created,
        "revision": m.revision,
        "user": cfg.user,
        "entrypoint": cfg.entrypoint,
        "files": if files.len() <= 64 { json!(files) } else { json!(files.len()) },
    });
    let summary_path = out.join(format!("{name}.json"));
    meta::write(&summary_path, &serde_json::to_vec_pretty(&summary)?)?;
    println!(
        "{name}: {reference} {} — compressed {} B, uncompressed layer {} B\n  {}\n  {}\n  {}",
        img.digest,
        summary["compressed_size"],
        img.layer_tar.len(),
        oci_tar.display(),
        docker_tar.display(),
        spdx.display()
    );
    Ok(Built {
        name,
        files: vec![oci_tar, docker_tar, spdx, summary_path],
    })
}

fn check_unique(entries: &[Entry]) -> Result<()> {
    for w in entries.windows(2) {
        if w[0].path == w[1].path {
            bail!(
                "the image would hold /{} twice; fix the image definition",
                w[0].path
            );
        }
    }
    Ok(())
}
