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
    // The static musl binary is a static PIE (ASLR); its half-megabyte of relative relocations
    // packs into a few kilobytes as RELR, which the musl startup code Rust ships (1.2.4 and
    // later) applies before `main`. Only the final link changes; nothing else is rebuilt.
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
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
