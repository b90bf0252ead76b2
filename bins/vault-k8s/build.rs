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
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
fn utc_timestamp(secs: i64) -> String {
    vk_go::UtcDateTime::from_unix(secs).rfc3339()
}
