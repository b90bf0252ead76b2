//! `cargo xtask demo`: the guide's walkthrough, end to end, on this machine.
//!
//! It installs OpenBao's `bao` if missing (the `cargo xtask tools` installer, bao only), builds
//! `vault-k8s` and the walkthrough binary `vk-walkthrough` (from the dev-only `vk-test-utils`,
//! because its TokenReview endpoint is test code and must stay out of the product binary), then
//! replaces itself with the walkthrough: OpenBao dev server, TokenReview endpoint, kubernetes auth,
//! the `webapp` policy, role and secret, the real webhook, and the injected init container run in
//! a pod sandbox, ending with the rendered `/vault/secrets/database-config`.
//!
//! Debug builds. The walkthrough itself takes about a second with either profile, so the build
//! decides. Measured cold on 2 cores, the first release build costs about a quarter less CPU
//! than the first debug build (304 vs 399 CPU-seconds; the dev profile compiles proc-macro
//! dependencies at opt-level 1), but it ends in a serial ~2-minute fat-LTO link of `vault-k8s`
//! that every later change pays again, where a debug relink takes seconds; and the tests and
//! `cargo xtask ci` build the debug profile, so the demo's build is theirs too.
//!
//! `cargo xtask demo --offline` is the render-only preview: no Vault, no root.

mod offline;

use std::os::unix::process::CommandExt as _;

use anyhow::{Context, bail};

use crate::cli::DemoArgs;
use crate::{tools, util};

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<()> {
    if args.offline {
        offline::run()
    } else {
        walkthrough()
    }
}

fn walkthrough() -> anyhow::Result<()> {
    // Checked first so nothing is installed or built for a run that cannot work.
    if !util::is_root() {
        bail!(
            "`cargo xtask demo` needs root: it runs the injected init container in a pod \
             sandbox, which uses a mount namespace, mounts and chroot to put the pod's volumes at \
             /vault/secrets and /home/vault without touching the host. Run it as root (for \
             example `sudo -E cargo xtask demo`), or use `cargo xtask demo --offline` for the \
             render-only preview"
        );
    }
    println!("vault-k8s demo: the guide's walkthrough end to end on this machine.");
    println!("  1. install OpenBao's `bao` into .tools/bin if missing");
    println!("  2. build vault-k8s and the walkthrough (debug profile)");
    println!(
        "  3. run the walkthrough; it says what it does as it goes and cleans up after itself"
    );
    println!();

    let bao = tools::ensure_bao().context("installing OpenBao (the demo's Vault)")?;
    util::run(util::cargo().args([
        "build",
        "-p",
        "vault-k8s",
        "-p",
        "vk-test-utils",
        "--bin",
        "vault-k8s",
        "--bin",
        "vk-walkthrough",
    ]))?;
    let debug = util::target_dir().join("debug");
    let vault_k8s = debug.join("vault-k8s");
    let walkthrough = debug.join("vk-walkthrough");
    println!();
    // exec, not spawn: the walkthrough then receives Ctrl-C itself and stops what it started.
    let err = std::process::Command::new(&walkthrough)
        .arg("--vault-k8s")
        .arg(&vault_k8s)
        .env("VK_BAO", &bao)
        .exec();
    Err(err).with_context(|| format!("cannot run {}", walkthrough.display()))
}
