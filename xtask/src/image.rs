//! `cargo xtask image`: builds the OCI images from the declarative definitions in `images/`,
//! without a container engine, deterministically (two builds of one commit give the same
//! digests). `cargo xtask image check` runs the result under podman/skopeo/umoci.
//!
//! ```text
//! cargo xtask image [build] [--dev|--dev-only] [--arch amd64|arm64]... [--binary PATH] [--binary-arm64 PATH]
//!                   [--out DIR] [--opt-level z] [--refresh-rootfs]
//! cargo xtask image check [--dev] [--out DIR]
//! cargo xtask image qemu [--binary PATH] [--binary-arm64 PATH]
//! ```

pub(crate) mod arch;
pub(crate) mod check;
pub(crate) mod compress;
pub(crate) mod meta;
pub(crate) mod oci;
pub(crate) mod qemu;
pub(crate) mod rootfs;
pub(crate) mod sbom;
pub(crate) mod tar;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::cli::{ImageAction, ImageBuildArgs};
use arch::Arch;
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
    /// The platforms to build (empty: all of them).
    pub(crate) arches: Vec<Arch>,
    /// A prebuilt linux/amd64 binary.
    pub(crate) binary: Option<PathBuf>,
    /// A prebuilt linux/arm64 binary.
    pub(crate) binary_arm64: Option<PathBuf>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) opt_level: Option<String>,
    pub(crate) refresh_rootfs: bool,
}

impl Opts {
    pub(crate) fn arches(&self) -> Vec<Arch> {
        let mut a = if self.arches.is_empty() {
            arch::ALL.to_vec()
        } else {
            self.arches.clone()
        };
        a.sort();
        a.dedup();
        a
    }

    /// The static binary of every platform: the given ones, the others built.
    pub(crate) fn binaries(&self) -> Result<Vec<(Arch, PathBuf)>> {
        self.arches()
            .into_iter()
            .map(|a| {
                let given = match a {
                    Arch::Amd64 => self.binary.as_deref(),
                    Arch::Arm64 => self.binary_arm64.as_deref(),
                };
                Ok((a, arch::binary(a, given, self.opt_level.as_deref())?))
            })
            .collect()
    }
}

pub(crate) fn run(action: Option<ImageAction>, top: &ImageBuildArgs) -> Result<()> {
    let args = match &action {
        Some(ImageAction::Check(args)) => return check::run(args),
        Some(ImageAction::Qemu(args)) => return qemu::run(args),
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
            arches: args.arch.clone(),
            binary: args.binary.clone(),
            binary_arm64: args.binary_arm64.clone(),
            out: args.out.clone(),
            opt_level: args.opt_level.clone(),
            refresh_rootfs: args.refresh_rootfs,
        }
    }
}

pub(crate) fn default_out() -> PathBuf {
    meta::root().join("dist").join("images")
}

/// What `build` produced for one image (also written as `<name>.json`).
pub(crate) struct Built {
    pub(crate) name: String,
    pub(crate) files: Vec<PathBuf>,
}

pub(crate) fn build(o: &Opts) -> Result<Vec<Built>> {
    let m = meta::build_meta()?;
    let bins = o.binaries()?;
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
            &bins,
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
    let def: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    // A misspelt key would otherwise just fall back to its default.
    if let Some(obj) = def.as_object()
        && let Some(unknown) = obj.keys().find(|k| !DEFINITION_KEYS.contains(&k.as_str()))
    {
        bail!(
            "{}: unknown key {unknown:?}; the keys an image definition may have are {}",
            path.display(),
            DEFINITION_KEYS.join(", ")
        );
    }
    Ok(def)
}

/// The top-level keys of an image definition (`images/*.json`); `//` is a comment.
const DEFINITION_KEYS: &[&str] = &[
    "//",
    "name",
    "repository",
    "tag",
    "title",
    "description",
    "gzip_level",
    "zopfli_iterations",
    "base",
    "binary",
    "user",
    "entrypoint",
    "cmd",
    "workdir",
    "env",
    "files",
];

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
    bins: &[(Arch, PathBuf)],
    out: &Path,
    m: &BuildMeta,
    refresh: bool,
) -> Result<Built> {
    let def = load_def(def_path)?;
    let name = field(&def, "name", def_path)?.to_string();
    let bin_path = field(&def, "binary", def_path)?;
    let reference = reference(&def, &m.version);
    let mut debs_wanted: Vec<String> = Vec::new();
    let mut bins: Vec<&(Arch, PathBuf)> = bins.iter().collect();
    let mut entries: Vec<Entry> = match def["base"]["kind"].as_str() {
        Some("scratch") => Vec::new(),
        Some("debootstrap") => {
            let dir = rootfs::debootstrap(&def["base"], m.epoch, refresh)?;
            let mut e = rootfs::read_tree(&dir)?;
            // The cached rootfs holds the host's (amd64) Debian packages. An arm64 one needs
            // debootstrap's second stage to run arm64 code, i.e. qemu registered with
            // binfmt_misc, which this build does not assume: say so instead of mixing.
            if bins.iter().any(|(a, _)| *a != Arch::Amd64) {
                eprintln!(
                    "image: {name}: linux/amd64 only (its Debian rootfs is the host's; an arm64 rootfs \
                     needs debootstrap under binfmt_misc emulation)"
                );
                bins.retain(|(a, _)| *a == Arch::Amd64);
            }
            // The binary replaces anything at its path.
            e.retain(|x| x.path != bin_path.trim_start_matches('/'));
            e
        }
        other => bail!(
            "{}: base.kind must be \"scratch\" or \"debootstrap\", not {other:?}",
            def_path.display()
        ),
    };
    // The project's LICENSE and the third-party notices of the binary (`cargo xtask notices`).
    for (path, data) in crate::notices::image_files(out)? {
        entries.push(Entry::file(path, 0o644, data));
    }
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
    ensure!(
        !bins.is_empty(),
        "{}: no platform to build for",
        def_path.display()
    );

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
    let compression = compress::LayerCompression::from_definition(&def)
        .with_context(|| format!("{}", def_path.display()))?;
    let debs = match def["base"]["kind"].as_str() {
        Some("debootstrap") => {
            let dir = rootfs::debootstrap(&def["base"], m.epoch, false)?;
            sbom::dpkg_packages(Some(&dir.join("var/lib/dpkg")), &[])?
        }
        _ if debs_wanted.is_empty() => Vec::new(),
        _ => sbom::dpkg_packages(None, &debs_wanted)?,
    };

    // One image per platform: the same tree with that platform's binary.
    let mut images = Vec::new();
    let mut files_out = Vec::new();
    let mut platforms = serde_json::Map::new();
    let mut tree: Vec<String> = Vec::new();
    for (arch, bin) in bins.iter().copied() {
        let bin_data = std::fs::read(bin).with_context(|| format!("reading {}", bin.display()))?;
        let bin_sha = meta::sha256_hex(&bin_data);
        let bin_size = bin_data.len();
        let mut entries = entries.clone();
        entries.push(Entry::file(bin_path, 0o755, bin_data));
        tar::add_parent_dirs(&mut entries);
        tar::sort_tree_order(&mut entries);
        check_unique(&entries)?;
        eprintln!(
            "image: assembling {name} linux/{} ({} entries, {compression})",
            arch.oci(),
            entries.len()
        );
        let img = oci::build(&entries, m.epoch, compression, &cfg, &reference, *arch)?;
        // Per platform: a single-image layout (what `umoci unpack` takes), a docker-archive
        // (`docker load`, `kind load image-archive`) and the SBOM.
        let tag = format!("{name}-{}", arch.oci());
        oci::write_layout(&img, &out.join(&tag))?;
        let docker_tar = out.join(format!("{tag}.docker.tar"));
        meta::write(&docker_tar, &oci::docker_archive(&img, m.epoch)?)?;
        let spdx = out.join(format!("{tag}.spdx.json"));
        meta::write(
            &spdx,
            &sbom::spdx(&name, &reference, &img.digest, &bin_sha, &debs, m)?,
        )?;
        let compressed = img.layer_gz.len() + img.config.len() + img.manifest.len();
        println!(
            "{name} linux/{}: {} — binary {bin_size} B, compressed {compressed} B, uncompressed layer {} B",
            arch.oci(),
            img.digest,
            img.layer_tar.len()
        );
        platforms.insert(
            arch.oci().to_string(),
            json!({
                "digest": img.digest,
                "config_digest": format!("sha256:{}", meta::sha256_hex(&img.config)),
                "layer_digest": format!("sha256:{}", meta::sha256_hex(&img.layer_gz)),
                "compressed_size": compressed,
                "uncompressed_size": img.layer_tar.len(),
                "binary_sha256": bin_sha,
                "binary_size": bin_size,
                "docker_archive": docker_tar.file_name().and_then(|n| n.to_str()),
            }),
        );
        tree = entries
            .iter()
            .map(|e| {
                format!(
                    "/{}{}",
                    e.path,
                    if matches!(e.kind, Kind::Dir) { "/" } else { "" }
                )
            })
            .collect();
        files_out.extend([docker_tar, spdx]);
        images.push(img);
    }
    let annotations = json!({
        "org.opencontainers.image.ref.name": reference,
        "org.opencontainers.image.version": m.version,
        "org.opencontainers.image.revision": m.revision,
        "org.opencontainers.image.created": m.created,
    });
    let index = oci::multi_arch(images.iter().collect(), &annotations)?;
    oci::write_multi_arch_layout(&index, &out.join(&name))?;
    let oci_tar = out.join(format!("{name}.oci.tar"));
    meta::write(&oci_tar, &oci::multi_arch_oci_archive(&index, m.epoch)?)?;

    let first = &images[0];
    let summary = json!({
        "name": name,
        "reference": reference,
        // The index digest: what a registry shows for the (multi-arch) tag.
        "digest": index.digest,
        "platforms": platforms,
        // The first platform's (linux/amd64 unless only arm64 was built).
        "compressed_size": first.layer_gz.len() + first.config.len() + first.manifest.len(),
        "uncompressed_size": first.layer_tar.len(),
        "created": m.created,
        "revision": m.revision,
        "user": cfg.user,
        "entrypoint": cfg.entrypoint,
        "files": if tree.len() <= 64 { json!(tree) } else { json!(tree.len()) },
    });
    let summary_path = out.join(format!("{name}.json"));
    meta::write(&summary_path, &serde_json::to_vec_pretty(&summary)?)?;
    println!(
        "{name}: {reference} index {} ({})\n  {}",
        index.digest,
        bins.iter()
            .map(|(a, _)| format!("linux/{}", a.oci()))
            .collect::<Vec<_>>()
            .join(", "),
        oci_tar.display()
    );
    let mut files = vec![oci_tar];
    files.extend(files_out);
    files.push(summary_path);
    Ok(Built { name, files })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_load_and_a_misspelt_key_is_named() {
        for def in ["runtime.json", "dev.json"] {
            load_def(&meta::root().join("images").join(def)).expect(def);
        }
        let dir = std::env::temp_dir().join(format!("vk-image-def-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("typo.json");
        std::fs::write(&path, r#"{"name": "x", "zopfli_iteration": 5}"#).unwrap();
        let err = load_def(&path).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("unknown key \"zopfli_iteration\""), "{err}");
        assert!(err.contains("zopfli_iterations"), "{err}");
    }
}
