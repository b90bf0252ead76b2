//! `vault-k8s version`: the version line upstream prints, the upstream releases this binary is
//! compatible with, then build details.

use std::process::ExitCode;

/// `v<crate version>`, upstream's version format.
pub(crate) const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

pub(crate) fn run() -> ExitCode {
    // The first line is exactly upstream's; scripts that parse it keep working.
    println!("vault-k8s {VERSION}");
    // From [package.metadata.compatible] in bins/vault-k8s/Cargo.toml (see build.rs).
    println!(
        "compatible with vault-k8s: v{}",
        env!("VK_COMPAT_VAULT_K8S")
    );
    println!(
        "compatible with Vault Agent: v{}",
        env!("VK_COMPAT_VAULT_AGENT")
    );
    println!("git revision: {}", env!("VK_GIT_REVISION"));
    println!("build date: {}", env!("VK_BUILD_DATE"));
    println!("target: {}", env!("VK_TARGET"));
    ExitCode::SUCCESS
}
