//! Helpers shared by the xtask modules.

use std::path::PathBuf;

/// The workspace root (the parent of `xtask/`).
#[allow(dead_code)]
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Where `cargo xtask tools` installs binaries.
#[allow(dead_code)]
pub(crate) fn tools_bin() -> PathBuf {
    workspace_root().join(".tools").join("bin")
}
