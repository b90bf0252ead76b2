//! Records the git revision, the build date (the commit time, so a rebuild of the same commit
//! is byte-identical) and the target triple for `vault-k8s version`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    // SOURCE_DATE_EPOCH wins when a packager sets it; otherwise the commit time.
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|epoch| epoch.trim().parse::<i64>().ok())
        .map(utc_timestamp)
        .or_else(|| {
            git(&[
                "log",
                "-1",
                "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                "--format=%cd",
            ])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=VK_GIT_REVISION={revision}");
    println!("cargo:rustc-env=VK_BUILD_DATE={date}");
    println!("cargo:rustc-env=VK_TARGET={target}");
    let manifest =
        std::fs::read_to_string("Cargo.toml").expect("reading bins/vault-k8s/Cargo.toml");
    for (key, env) in [
        ("vault-k8s", "VK_COMPAT_VAULT_K8S"),
        ("vault-agent", "VK_COMPAT_VAULT_AGENT"),
    ] {
        let value = compatible(&manifest, key).unwrap_or_else(|| {
            panic!(
                "bins/vault-k8s/Cargo.toml: [package.metadata.compatible] needs `{key} = \"X.Y.Z\"`"
            )
        });
        println!("cargo:rustc-env={env}={value}");
    }
    static_link_args();
    // Re-run when HEAD moves (new commit or checkout), not on every source edit.
    // Only paths that exist: cargo treats a missing one as changed and would rebuild every time
    // (a fresh clone or worktree may have no `packed-refs`).
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for watched in ["HEAD", "refs/heads", "packed-refs"] {
            let path = std::path::Path::new(&git_dir).join(watched);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.toml");
}

/// `key = "value"` of `[package.metadata.compatible]` (a line scan: build scripts here take no
/// dependencies, and the section is two flat string keys).
fn compatible(manifest: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[package.metadata.compatible]";
        } else if in_section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
fn utc_timestamp(secs: i64) -> String {
    vk_go::UtcDateTime::from_unix(secs).rfc3339()
}

/// Link options for the static musl binary (the one the images ship); other targets link as
/// cargo does by default.
fn static_link_args() {
    let cfg = |key: &str| std::env::var(key).unwrap_or_default();
    if cfg("CARGO_CFG_TARGET_ENV") != "musl" {
        return;
    }
    // x86_64 musl links a static PIE (ASLR), which carries half a megabyte of relative
    // relocations; packed as RELR they take a few kilobytes, and the musl startup code Rust
    // ships (1.2.4 and later) applies them before `main`. aarch64 musl links a non-PIE static
    // executable, which has no such relocations (and zig's linker does not take the flag).
    if cfg("CARGO_CFG_TARGET_ARCH") == "x86_64" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    // The release profile sets panic = "abort" (Cargo.toml), so nothing unwinds and the unwind
    // tables (about 1 MB, a tenth of the binary) would only serve backtraces: leave them out.
    // A panic still prints its message and aborts; RUST_BACKTRACE then prints an empty
    // backtrace. Build scripts cannot see the profile's panic strategy, only its name.
    if cfg("PROFILE") == "release" {
        let script = std::path::Path::new(&cfg("CARGO_MANIFEST_DIR"))
            .join("link")
            .join("no-unwind-tables.ld");
        println!("cargo:rerun-if-changed={}", script.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
