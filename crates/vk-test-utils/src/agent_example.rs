//! The `agent` example of `vk-agent`, which the agent's process-level tests run.
//!
//! `cargo test`/`nextest` without target filters build examples before any test runs, so CI
//! always finds it fresh. `--test NAME` does not build examples, though, and silently testing
//! an old agent is worse than waiting for a build: a binary older than the sources it is built
//! from is rebuilt once per test process. A fresh one is used as is, because a cargo call
//! would wait for the build lock that a running `cargo test` may hold.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

/// Crates whose sources end up in the agent example.
const AGENT_CRATES: [&str; 6] = [
    "vk-agent",
    "vk-agent-config",
    "vk-lease",
    "vk-template",
    "vk-vault-client",
    "vk-telemetry",
];

/// Path of the up-to-date `agent` example next to the calling test binary (same profile).
///
/// # Panics
/// When the example cannot be built: a test cannot go on without the program it tests.
pub fn agent_example() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("path of the running test binary");
        // target/<profile>/deps/<test> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binaries live in target/<profile>/deps");
        let bin = profile_dir.join("examples/agent");
        let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
        let crates = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("vk-test-utils lives in crates/");
        let newest_source = AGENT_CRATES
            .iter()
            .filter_map(|c| newest_mtime(&crates.join(c)))
            .max();
        if built.is_none() || built < newest_source {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            build
                .args(["build", "--quiet", "-p", "vk-agent", "--example", "agent"])
                .current_dir(crates)
                // Inherited from the test's cargo; ring's build script reruns when it changes.
                .env_remove("CARGO_MANIFEST_DIR")
                .stdin(Stdio::null());
            if profile_dir.ends_with("release") {
                build.arg("--release");
            }
            let out = build
                .output()
                .expect("running cargo build for the agent example");
            assert!(
                out.status.success(),
                "building the agent example failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        bin
    })
    .clone()
}

/// The latest modification time of the files of a crate (`Cargo.toml`, `src/`, `examples/`).
fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    fn walk(p: &Path, newest: &mut Option<SystemTime>) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&e.path(), newest);
            }
        } else if let Ok(t) = meta.modified() {
            *newest = (*newest).max(Some(t));
        }
    }
    let mut newest = None;
    for sub in ["Cargo.toml", "src", "examples"] {
        walk(&dir.join(sub), &mut newest);
    }
    newest
}
