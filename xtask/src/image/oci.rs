//! OCI image assembly: one gzip layer, config, manifest, index; written as an OCI layout
//! directory, an oci-archive and a docker-archive. No daemon, no registry.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::arch::Arch;
use super::compress::LayerCompression;
use super::meta::{self, sha256_hex};
use super::tar::{self, Entry};

pub(crate) const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MT_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The image-level settings recorded in the config.
pub(crate) struct ImageConfig {
    pub(crate) user: String,
    pub(crate) entrypoint: Vec<String>,
    pub(crate) cmd: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) workdir: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) created: String,
    pub(crate) created_by: String,
}

/// A finished image held in memory.
pub(crate) struct Image {
    pub(crate) layer_tar: Vec<u8>,
    pub(crate) layer_diff_id: String,
    pub(crate) layer_gz: Vec<u8>,
    pub(crate) config: Vec<u8>,
    pub(crate) manifest: Vec<u8>,
    /// `sha256:<hex>` of the manifest: the image digest a registry would show.
    pub(crate) digest: String,
    /// Full name, e.g. `localhost/vault-k8s:0.1.0`.
    pub(crate) reference: String,
    pub(crate) arch: Arch,
}

/// An image index (a multi-platform image): one manifest per architecture.
pub(crate) struct MultiArch<'a> {
    pub(crate) images: Vec<&'a Image>,
    pub(crate) index: Vec<u8>,
    /// `sha256:<hex>` of the index: what a registry shows for the multi-arch tag.
    pub(crate) digest: String,
    pub(crate) reference: String,
}

pub(crate) fn build(
    entries: &[Entry],
    epoch: u64,
    compression: LayerCompression,
    cfg: &ImageConfig,
    reference: &str,
    arch: Arch,
) -> Result<Image> {
    let layer_tar = tar::write(entries, epoch)?;
    let layer_diff_id = format!("sha256:{}", sha256_hex(&layer_tar));
    let layer_gz = compression.compress(&layer_tar)?;
    let labels: serde_json::Map<String, Value> = cfg
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut c = serde_json::Map::new();
    c.insert("User".into(), json!(cfg.user));
    c.insert("Env".into(), json!(cfg.env));
    c.insert("Entrypoint".into(), json!(cfg.entrypoint));
    if !cfg.cmd.is_empty() {
        c.insert("Cmd".into(), json!(cfg.cmd));
    }
    c.insert("WorkingDir".into(), json!(cfg.workdir));
    c.insert("Labels".into(), Value::Object(labels.clone()));
    let config = json!({
        "created": cfg.created,
        "architecture": arch.oci(),
        "os": "linux",
        "config": Value::Object(c),
        "rootfs": {"type": "layers", "diff_ids": [layer_diff_id]},
        "history": [{"created": cfg.created, "created_by": cfg.created_by}],
    });
    let config = serde_json::to_vec(&config)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": format!("sha256:{}", sha256_hex(&config)), "size": config.len()},
        "layers": [{"mediaType": MT_LAYER, "digest": format!("sha256:{}", sha256_hex(&layer_gz)), "size": layer_gz.len()}],
        "annotations": Value::Object(labels),
    });
    let manifest = serde_json::to_vec(&manifest)?;
    let digest = format!("sha256:{}", sha256_hex(&manifest));
    Ok(Image {
        layer_tar,
        layer_diff_id,
        layer_gz,
        config,
        manifest,
        digest,
        reference: reference.to_string(),
        arch,
    })
}

/// The index over `images` (one per architecture, in the given order).
pub(crate) fn multi_arch<'a>(images: Vec<&'a Image>, annotations: &Value) -> Result<MultiArch<'a>> {
    let reference = images
        .first()
        .map(|i| i.reference.clone())
        .unwrap_or_default();
    let manifests: Vec<Value> = images
        .iter()
        .map(|img| {
            json!({
                "mediaType": MT_MANIFEST,
                "digest": img.digest,
                "size": img.manifest.len(),
                "platform": {"architecture": img.arch.oci(), "os": "linux"},
            })
        })
        .collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": manifests,
        "annotations": annotations,
    }))?;
    let digest = format!("sha256:{}", sha256_hex(&index));
    Ok(MultiArch {
        images,
        index,
        digest,
        reference,
    })
}

fn blob_name(bytes: &[u8]) -> String {
    format!("blobs/sha256/{}", sha256_hex(bytes))
}

/// The files of an OCI image layout holding one image, in archive order.
fn layout_entries(img: &Image) -> Result<Vec<Entry>> {
    let top = json!({
        "mediaType": MT_MANIFEST,
        "digest": img.digest,
        "size": img.manifest.len(),
        "platform": {"architecture": img.arch.oci(), "os": "linux"},
        // podman names an image loaded from an oci-archive after this annotation, so it
        // carries the full name (a bare tag would load as `localhost/<tag>:latest`).
        "annotations": {"org.opencontainers.image.ref.name": img.reference},
    });
    layout_with(top, &[], &[img])
}

/// The files of an OCI image layout whose index.json points at the multi-arch index (a nested
/// index, the shape `skopeo copy --all` writes): podman and skopeo pick the host's platform.
fn multi_arch_layout_entries(m: &MultiArch<'_>) -> Result<Vec<Entry>> {
    let top = json!({
        "mediaType": MT_INDEX,
        "digest": m.digest,
        "size": m.index.len(),
        "annotations": {"org.opencontainers.image.ref.name": m.reference},
    });
    layout_with(top, std::slice::from_ref(&m.index), &m.images)
}

fn layout_with(top: Value, extra_blobs: &[Vec<u8>], images: &[&Image]) -> Result<Vec<Entry>> {
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [top],
    });
    let mut e = vec![
        Entry::file(
            "oci-layout",
            0o644,
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        Entry::file("index.json", 0o644, serde_json::to_vec(&index)?),
    ];
    let mut blobs: Vec<&[u8]> = extra_blobs.iter().map(Vec::as_slice).collect();
    for img in images {
        blobs.extend([
            img.config.as_slice(),
            img.manifest.as_slice(),
            img.layer_gz.as_slice(),
        ]);
    }
    for b in blobs {
        let name = blob_name(b);
        // Identical blobs (an equal config or layer on two platforms) are stored once.
        if !e.iter().any(|x| x.path == name) {
            e.push(Entry::file(&name, 0o644, b.to_vec()));
        }
    }
    tar::add_parent_dirs(&mut e);
    tar::sort_tree_order(&mut e);
    Ok(e)
}

/// Writes the layout directory of one image (replacing an old one).
pub(crate) fn write_layout(img: &Image, dir: &Path) -> Result<()> {
    write_entries(&layout_entries(img)?, dir)
}

/// Writes the layout directory of a multi-arch image (replacing an old one).
pub(crate) fn write_multi_arch_layout(m: &MultiArch<'_>, dir: &Path) -> Result<()> {
    write_entries(&multi_arch_layout_entries(m)?, dir)
}

pub(crate) fn multi_arch_oci_archive(m: &MultiArch<'_>, epoch: u64) -> Result<Vec<u8>> {
    tar::write(&multi_arch_layout_entries(m)?, epoch)
}

fn write_entries(entries: &[Entry], dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("removing old layout {}", dir.display()))?;
    }
    for e in entries {
        if let tar::Kind::File(data) = &e.kind {
            meta::write(&dir.join(&e.path), data)?;
        }
    }
    Ok(())
}

/// `docker load` format: manifest.json + config + an uncompressed layer tar (the classic
/// `docker save` shape, which every docker and podman version loads).
pub(crate) fn docker_archive(img: &Image, epoch: u64) -> Result<Vec<u8>> {
    let config_name = format!("{}.json", sha256_hex(&img.config));
    let layer_dir = img.layer_diff_id.trim_start_matches("sha256:").to_string();
    let layer_name = format!("{layer_dir}/layer.tar");
    let manifest =
        json!([{"Config": config_name, "RepoTags": [img.reference], "Layers": [layer_name]}]);
    let (repo, tag) = img
        .reference
        .rsplit_once(':')
        .unwrap_or((&img.reference, "latest"));
    let repositories = json!({repo: {tag: layer_dir}});
    let mut e = vec![
        Entry::file(&config_name, 0o644, img.config.clone()),
        Entry::file(&layer_name, 0o644, img.layer_tar.clone()),
        Entry::file("manifest.json", 0o644, serde_json::to_vec(&manifest)?),
        Entry::file("repositories", 0o644, serde_json::to_vec(&repositories)?),
    ];
    tar::add_parent_dirs(&mut e);
    tar::sort_tree_order(&mut e);
    tar::write(&e, epoch)
}
