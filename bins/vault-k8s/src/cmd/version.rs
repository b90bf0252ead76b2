//! `vault-k8s version`: the version line upstream prints, then build details.

use std::process::ExitCode;

/// `v<crate version>`, upstream's version format.
pub(crate) const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

pub(crate) fn run() -> ExitCode {
    println!("vault-k8s {VERSION}");
    println!("git revision: {}", env!("VK_GIT_REVISION"));
    println!("build date: {}", env!("VK_BUILD_DATE"));
    println!("target: {}", env!("VK_TARGET"));
    ExitCode::SUCCESS
}
