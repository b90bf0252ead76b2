//! Helpers shared by the xtask modules: paths, running commands, hashing files.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The git-ignored folder `cargo xtask tools` installs into.
pub(crate) fn tools_dir() -> PathBuf {
    workspace_root().join(".tools")
}

/// Where `cargo xtask tools` installs binaries.
pub(crate) fn tools_bin() -> PathBuf {
    tools_dir().join("bin")
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` (relative to the workspace root) or `target/`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// `PATH` with `.tools/bin` in front, so child processes (tests, helm, bao) find the pinned tools first.
pub(crate) fn path_with_tools() -> std::ffi::OsString {
    let mut parts = vec![tools_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(parts).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// A `cargo` command that uses the same cargo that runs xtask (respects `$CARGO`).
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // `cargo run` gives xtask its own CARGO_MANIFEST_DIR; ring's build script reruns when that
    // variable changes, so passing it on would rebuild ring (and all above it) on every switch
    // between `cargo build` in a shell and `cargo xtask …`.
    cmd.current_dir(workspace_root())
        .env_remove("CARGO_MANIFEST_DIR");
    cmd
}

/// Renders a command the way a person would type it, for logs and error messages.
pub(crate) fn display_cmd(cmd: &Command) -> String {
    // `$CARGO` is a long toolchain path; people type `cargo`.
    let program = Path::new(cmd.get_program());
    let mut out = if std::env::var_os("CARGO").is_some_and(|c| Path::new(&c) == program) {
        "cargo".to_owned()
    } else {
        program.to_string_lossy().into_owned()
    };
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        out.push(' ');
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            out.push('\'');
            out.push_str(&arg.replace('\'', r"'\''"));
            out.push('\'');
        } else {
            out.push_str(&arg);
        }
    }
    out
}

/// Runs a command with inherited stdio and fails, naming the command, if it does not exit 0.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = display_cmd(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{shown}` (is it installed?)"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs a command quietly and returns its stdout; on failure the error carries its stderr.
pub(crate) fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let shown = display_cmd(cmd);
    let out = cmd
        .output()
        .with_context(|| format!("cannot start `{shown}` (is it installed?)"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("`{shown}` failed ({}):\n{}", out.status, stderr.trim_end());
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed invalid UTF-8"))
}

/// Lowercase hex sha256 of a file's contents.
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The first `name` found on `PATH`, if any.
pub(crate) fn which(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name.as_ref()))
        .find(|candidate| candidate.is_file())
}

/// Whether the current process runs as root (apt-get needs it). Reads `/proc` to avoid a libc dependency.
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// A loopback port that was free a moment ago (the server binds it right after).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
