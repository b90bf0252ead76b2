//! `vault-k8s version`: the version line upstream prints, the upstream releases this binary is
//! compatible with, then build details.

use std::process::ExitCode;

/// `v<crate version>`, upstream's version format.
pub(crate) const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

pub(crate) fn run() -> ExitCode {
    // The first line is exactly upstream's; scripts that parse it keep working. The
    // compatibility lines come from [package.metadata.compatible] in bins/vault-k8s/Cargo.toml
    // (see build.rs).
    super::write_stdout(&format!(
        "vault-k8s {VERSION}\ncompatible with vault-k8s: v{}\ncompatible with Vault Agent: v{}\n\
         git revision: {}\nbuild date: {}\ntarget: {}\n",
        env!("VK_COMPAT_VAULT_K8S"),
        env!("VK_COMPAT_VAULT_AGENT"),
        env!("VK_GIT_REVISION"),
        env!("VK_BUILD_DATE"),
        env!("VK_TARGET"),
    ))
}
