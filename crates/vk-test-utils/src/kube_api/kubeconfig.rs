//! Kubeconfig files pointing at the endpoint, for `kubectl --kubeconfig` and for vk-kube's
//! client (`KubeClient::from_kubeconfig`, or through `KUBECONFIG`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// Writes `dir/kubeconfig` with one cluster (`server`, `certificate-authority-data`), one
/// token user, and a current context with `namespace`.
pub(super) fn write(
    dir: &Path,
    server: &str,
    ca_pem: &str,
    token: &str,
    namespace: &str,
) -> Result<PathBuf> {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "vk-test", "cluster": {
            "server": server,
            "certificate-authority-data": STANDARD.encode(ca_pem),
        }}],
        "users": [{"name": "vk-test-user", "user": {"token": token}}],
        "contexts": [{"name": "vk-test", "context": {
            "cluster": "vk-test",
            "user": "vk-test-user",
            "namespace": namespace,
        }}],
        "current-context": "vk-test",
        "preferences": {},
    });
    let text = serde_norway::to_string(&doc).context("serializing the kubeconfig")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
