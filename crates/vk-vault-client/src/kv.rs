//! KV v2 path handling (spec §5.3): mount detection, path shims, the "no secret exists" rule.

use serde::Deserialize;

use crate::client::{VaultClient, split_path};
use crate::error::VaultError;
use crate::response::{RawResponse, rfc3339_unix_nanos};

/// What `sys/internal/ui/mounts/<path>` says about the mount holding a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Mount path with a trailing `/` (namespace prefix removed), e.g. `secret/`.
    pub path: String,
    /// Engine type, e.g. `kv`, `pki`.
    pub kind: String,
    /// `options.version` (`"2"` for KV v2).
    pub version: Option<String>,
}

impl MountInfo {
    /// `type = kv` with `options.version = "2"`.
    pub fn is_kv_v2(&self) -> bool {
        self.kind == "kv" && self.version.as_deref() == Some("2")
    }
}

#[derive(Deserialize)]
struct MountWire {
    data: Option<MountData>,
}

#[derive(Deserialize)]
struct MountData {
    #[serde(default)]
    path: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    options: Option<std::collections::HashMap<String, String>>,
}

/// Joins path pieces with single `/`, dropping empty pieces (like Go's `path.Join` for the
/// relative paths Vault uses).
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn remainder<'a>(path: &'a str, mount: &str) -> Option<&'a str> {
    let m = mount.trim_end_matches('/');
    if path == m {
        return Some("");
    }
    path.strip_prefix(m)?.strip_prefix('/')
}

/// Read/write shim for a KV v2 mount: `secret/x` → `secret/data/x`; the mount itself →
/// `<mount>/data`; paths already under `data/`, `metadata/` or `subkeys/` are unchanged.
/// A path outside `mount` is returned unchanged.
pub fn shim_read_path(mount: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    match remainder(path, mount) {
        None => path.to_string(),
        Some("") => join(&[mount, "data"]),
        Some(rest)
            if rest.starts_with("data/")
                || rest.starts_with("metadata/")
                || rest.starts_with("subkeys/") =>
        {
            path.to_string()
        }
        Some(rest) => join(&[mount, "data", rest]),
    }
}

/// List shim for a KV v2 mount: paths not already under `<mount>/metadata` become
/// `<mount>/metadata/<rest>`.
pub fn shim_list_path(mount: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    match remainder(path, mount) {
        None => path.to_string(),
        Some(rest) if rest == "metadata" || rest.starts_with("metadata/") => path.to_string(),
        Some(rest) => join(&[mount, "metadata", rest]),
    }
}

/// KV v2 write body: the key/values wrapped in `{"data": …}`.
pub fn shim_write_data(data: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "data": data })
}

/// The result of [`VaultClient::read_secret`].
#[derive(Debug, Clone)]
pub struct SecretRead {
    /// The path actually read (after the KV v2 shim, without the query).
    pub path: String,
    /// `true` when the mount is KV v2.
    pub kv_v2: bool,
    /// The response.
    pub response: RawResponse,
}

fn now_unix_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
        .unwrap_or(0)
}

impl VaultClient {
    /// `GET sys/internal/ui/mounts/<path>`: the mount holding `path`, or `None` on 404 (old
    /// servers, or no mount). Cached per mount until the token changes.
    pub async fn mount_info(&self, path: &str) -> Result<Option<MountInfo>, VaultError> {
        let (path, _) = split_path(path)?;
        if let Some(hit) = self.cached_mount(&path) {
            return Ok(Some(hit));
        }
        if self.mounts_primed() {
            return self.lookup_mount(&path).await;
        }
        let _first = self.first_mount_lookup().await;
        // Another caller may have looked up this path's mount while this one waited.
        if let Some(hit) = self.cached_mount(&path) {
            return Ok(Some(hit));
        }
        let result = self.lookup_mount(&path).await;
        self.set_mounts_primed();
        result
    }

    fn cached_mount(&self, path: &str) -> Option<MountInfo> {
        self.mounts()
            .values()
            .find(|m| remainder(path, &m.path).is_some())
            .cloned()
    }

    async fn lookup_mount(&self, path: &str) -> Result<Option<MountInfo>, VaultError> {
        let resp = self.read(&format!("sys/internal/ui/mounts/{path}")).await?;
        if resp.is_not_found() {
            return Ok(None);
        }
        let wire: MountWire =
            serde_json::from_str(&resp.body).map_err(|source| VaultError::Decode {
                method: "GET",
                path: format!("sys/internal/ui/mounts/{path}"),
                source,
            })?;
        let Some(data) = wire.data else {
            return Ok(None);
        };
        let mut mount = data.path;
        if let Some(ns) = self.namespace()
            && let Some(stripped) = mount.strip_prefix(ns)
        {
            mount = stripped.to_string();
        }
        if !mount.ends_with('/') {
            mount.push('/');
        }
        let info = MountInfo {
            path: mount.clone(),
            kind: data.kind,
            version: data.options.and_then(|o| o.get("version").cloned()),
        };
        self.mounts().insert(mount, info.clone());
        Ok(Some(info))
    }

    /// The KV v2 mount holding `path`, if it is one. Failures count as "not KV v2" (spec
    /// §5.3): silently without a token, with a warning otherwise.
    pub async fn kv_v2_mount(&self, path: &str) -> Option<MountInfo> {
        match self.mount_info(path).await {
            Ok(Some(m)) if m.is_kv_v2() => Some(m),
            Ok(_) => None,
            Err(e) => {
                if self.token().is_some() {
                    tracing::warn!(path, error = %e, "mount lookup failed; assuming KV v1");
                }
                None
            }
        }
    }

    /// Reads a secret the way a template `secret "<path>"` does: KV v2 shim, `?version=N`
    /// passed through, and `no secret exists at <path>` for a 404 without data or a KV v2
    /// latest version whose `deletion_time` lies in the past.
    pub async fn read_secret(&self, path: &str) -> Result<SecretRead, VaultError> {
        let (plain, query) = split_path(path)?;
        let mount = self.kv_v2_mount(&plain).await;
        let target = match &mount {
            Some(m) => shim_read_path(&m.path, &plain),
            None => plain,
        };
        let full = match &query {
            Some(q) => format!("{target}?{q}"),
            None => target.clone(),
        };
        let response = self.read(&full).await?;
        if response.is_not_found() && !response.has_data() {
            return Err(VaultError::NoSecret { path: target });
        }
        if mount.is_some()
            && let Some(t) = response.kv2_deletion_time()
            && rfc3339_unix_nanos(&t).is_some_and(|deleted| deleted < now_unix_nanos())
        {
            return Err(VaultError::NoSecret { path: target });
        }
        Ok(SecretRead {
            path: target,
            kv_v2: mount.is_some(),
            response,
        })
    }

    /// Writes a secret the way a template `secret "<path>" "k=v"` does: on KV v2 the path is
    /// shimmed and the data wrapped in `{"data": …}`. Returns the write response (empty body
    /// for 204, e.g. KV v1).
    pub async fn write_secret(
        &self,
        path: &str,
        data: &serde_json::Value,
    ) -> Result<RawResponse, VaultError> {
        let (plain, _) = split_path(path)?;
        match self.kv_v2_mount(&plain).await {
            Some(m) => {
                self.write(&shim_read_path(&m.path, &plain), &shim_write_data(data))
                    .await
            }
            None => self.write(&plain, data).await,
        }
    }

    /// Lists the way a template `secrets "<path>"` does (KV v2 list shim). Returns the path
    /// listed and the keys (none when the path does not exist).
    pub async fn list_secrets(&self, path: &str) -> Result<(String, Vec<String>), VaultError> {
        let (plain, _) = split_path(path)?;
        let target = match self.kv_v2_mount(&plain).await {
            Some(m) => shim_list_path(&m.path, &plain),
            None => plain,
        };
        let resp = self.list(&target).await?;
        Ok((target, resp.list_keys()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_shim() {
        assert_eq!(
            shim_read_path("secret/", "secret/simple"),
            "secret/data/simple"
        );
        assert_eq!(
            shim_read_path("secret/", "secret/data/simple"),
            "secret/data/simple"
        );
        assert_eq!(
            shim_read_path("secret/", "secret/metadata/simple"),
            "secret/metadata/simple"
        );
        assert_eq!(
            shim_read_path("secret/", "secret/subkeys/simple"),
            "secret/subkeys/simple"
        );
        assert_eq!(shim_read_path("secret/", "secret"), "secret/data");
        assert_eq!(shim_read_path("secret/", "secret/"), "secret/data");
        assert_eq!(shim_read_path("secret/", "secret/a/b"), "secret/data/a/b");
        assert_eq!(
            shim_read_path("secret/", "secret/dataset"),
            "secret/data/dataset"
        );
        assert_eq!(shim_read_path("secret/", "other/x"), "other/x");
        assert_eq!(shim_read_path("secret/", "secretive/x"), "secretive/x");
        assert_eq!(
            shim_read_path("team/kv/", "team/kv/app"),
            "team/kv/data/app"
        );
    }

    #[test]
    fn list_shim() {
        assert_eq!(
            shim_list_path("secret/", "secret/dir"),
            "secret/metadata/dir"
        );
        assert_eq!(
            shim_list_path("secret/", "secret/metadata/dir"),
            "secret/metadata/dir"
        );
        assert_eq!(shim_list_path("secret/", "secret"), "secret/metadata");
        assert_eq!(shim_list_path("secret/", "secret/"), "secret/metadata");
        assert_eq!(
            shim_list_path("secret/", "secret/data/dir"),
            "secret/metadata/data/dir"
        );
    }

    #[test]
    fn write_wrap() {
        let d = serde_json::json!({"a": "b"});
        assert_eq!(shim_write_data(&d), serde_json::json!({"data": {"a": "b"}}));
    }
}
