//! Build metadata and process helpers shared by `image`, `chart` and `release`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Facts about the commit being packaged. Everything an artifact records comes from here,
/// never from the clock, so two builds of one commit are identical.
#[derive(Clone, Debug)]
pub(crate) struct BuildMeta {
    pub(crate) version: String,
    /// Git commit sha (with `-dirty` when the work tree has uncommitted changes).
    pub(crate) revision: String,
    /// Commit time (or SOURCE_DATE_EPOCH), seconds since the epoch.
    pub(crate) epoch: u64,
    pub(crate) created: String,
    pub(crate) source: String,
    pub(crate) license: String,
    /// Upstream vault-k8s release this binary replaces ([package.metadata.compatible]).
    pub(crate) compatible_vault_k8s: String,
    /// Vault Agent release the agent is compatible with (same table).
    pub(crate) compatible_vault_agent: String,
}

pub(crate) fn root() -> PathBuf {
    crate::util::workspace_root()
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The cargo target directory the main build uses (honours CARGO_TARGET_DIR).
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() { p } else { root().join(p) }
        }
        _ => root().join("target"),
    }
}

/// Scratch space for xtask's own intermediate files.
pub(crate) fn scratch(name: &str) -> Result<PathBuf> {
    let d = target_dir().join("xtask").join(name);
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}

pub(crate) fn build_meta() -> Result<BuildMeta> {
    let md = cargo_metadata(true)?;
    let pkg = md["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "vault-k8s"))
        .context("cargo metadata has no package named vault-k8s")?;
    let version = pkg["version"]
        .as_str()
        .context("vault-k8s has no version")?
        .to_string();
    let license = pkg["license"].as_str().unwrap_or("NOASSERTION").to_string();
    let source = match pkg["repository"].as_str() {
        Some(r) => r.to_string(),
        // bins/vault-k8s does not inherit `repository`; fall back to [workspace.package].
        None => workspace_package_field("repository")?.unwrap_or_default(),
    };
    let compatible = |key: &str| {
        pkg["metadata"]["compatible"][key]
            .as_str()
            .map(str::to_string)
            .with_context(|| {
                format!("bins/vault-k8s/Cargo.toml: [package.metadata.compatible] needs `{key}`")
            })
    };
    let compatible_vault_k8s = compatible("vault-k8s")?;
    let compatible_vault_agent = compatible("vault-agent")?;
    let sha = git(&["rev-parse", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    let revision = if dirty { format!("{sha}-dirty") } else { sha };
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.is_empty() => s
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number"))?,
        _ => git(&["log", "-1", "--format=%ct", "HEAD"])?
            .parse()
            .context("git log gave no commit time")?,
    };
    Ok(BuildMeta {
        version,
        revision,
        epoch,
        created: rfc3339(epoch),
        source,
        license,
        compatible_vault_k8s,
        compatible_vault_agent,
    })
}

/// A string field of `[workspace.package]` in the root Cargo.toml (simple line scan).
fn workspace_package_field(key: &str) -> Result<Option<String>> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).context("reading Cargo.toml")?;
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Ok(Some(v.trim().trim_matches('"').to_string()));
        }
    }
    Ok(None)
}

pub(crate) fn cargo_metadata(no_deps: bool) -> Result<serde_json::Value> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root())
        .args(["metadata", "--format-version", "1", "--locked"]);
    if no_deps {
        cmd.arg("--no-deps");
    } else {
        cmd.args(["--filter-platform", "x86_64-unknown-linux-musl"]);
    }
    let out = output(&mut cmd)?;
    serde_json::from_str(&out).context("parsing cargo metadata output")
}

fn git(args: &[&str]) -> Result<String> {
    output(Command::new("git").current_dir(root()).args(args))
}

/// Runs a command, returns trimmed stdout; on failure the error names the command and its stderr.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}):\n{}{}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs a command with inherited stdout/stderr.
pub(crate) fn status(cmd: &mut Command) -> Result<()> {
    let st = cmd
        .status()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !st.success() {
        bail!("{} failed ({st})", show(cmd));
    }
    Ok(())
}

pub(crate) fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(sha256_hex(&data))
}

pub(crate) fn write(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("writing {}", path.display()))
}

/// Finds a tool on PATH (or `.tools/bin`), or explains how to get it.
pub(crate) fn need_tool(name: &str, hint: &str) -> Result<PathBuf> {
    let local = crate::util::tools_bin().join(name);
    if local.is_file() {
        return Ok(local);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    bail!("`{name}` not found on PATH or in .tools/bin: {hint}")
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) fn rfc3339(secs: u64) -> String {
    vk_go::UtcDateTime::from_unix(i64::try_from(secs).unwrap_or(i64::MAX)).rfc3339()
}

/// Checks that `path` is a static ELF executable for `arch` (no program interpreter).
pub(crate) fn check_static_elf(path: &Path, arch: super::arch::Arch) -> Result<()> {
    let data = std::fs::read(path).with_context(|| format!("reading binary {}", path.display()))?;
    if data.len() < 64 || &data[..4] != b"\x7fELF" || data[4] != 2 {
        bail!("{} is not a 64-bit ELF executable", path.display());
    }
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]);
    if u16_at(0x12) != arch.elf_machine() {
        bail!(
            "{} is not a linux/{} binary (e_machine {:#x}, want {:#x})",
            path.display(),
            arch.oci(),
            u16_at(0x12),
            arch.elf_machine()
        );
    }
    let phoff = u64::from_le_bytes(data[0x20..0x28].try_into()?) as usize;
    let phentsize = usize::from(u16_at(0x36));
    let phnum = usize::from(u16_at(0x38));
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(
            data.get(o..o + 4)
                .context("truncated ELF program headers")?
                .try_into()?,
        );
        if p_type == 3 {
            bail!(
                "{} is dynamically linked (it has an ELF interpreter) and cannot run in the scratch image; \
                 build it with `--target {}`",
                path.display(),
                arch.triple()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
