//! Mount mechanics: the `sh` script that, inside a private mount namespace, builds the
//! container's root on a tmpfs, re-creates the host's top-level entries in it, shadows host
//! directories that must gain entries, and bind-mounts volumes and the agent binary at their
//! container paths (see the parent module's docs for the steps).

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

pub(super) struct Mount {
    pub(super) host: PathBuf,
    pub(super) path: PathBuf,
    pub(super) read_only: bool,
    /// A single file (the agent binary) rather than a directory.
    pub(super) file: bool,
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The deepest existing host directory on the way to `path` (symlinks resolved) and the
/// components below it that do not exist.
fn split_existing(path: &Path) -> Result<(PathBuf, Vec<String>)> {
    let mut existing = PathBuf::from("/");
    let mut missing = Vec::new();
    for comp in path.components() {
        let Component::Normal(n) = comp else { continue };
        if !missing.is_empty() {
            missing.push(n.to_string_lossy().into_owned());
            continue;
        }
        let next = existing.join(n);
        match std::fs::metadata(&next) {
            Ok(md) if md.is_dir() => {
                existing = next
                    .canonicalize()
                    .with_context(|| format!("resolving {}", next.display()))?;
            }
            Ok(_) => bail!(
                "{} exists on the host and is not a directory",
                next.display()
            ),
            Err(_) => missing.push(n.to_string_lossy().into_owned()),
        }
    }
    Ok((existing, missing))
}

/// Commands that recreate host directory `dir`'s entries at `target` (already a directory),
/// except the entry named `except`.
fn replicate_entries(
    script: &mut String,
    dir: &Path,
    target: &str,
    except: Option<&str>,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if except == Some(name.as_str()) {
            continue;
        }
        let src = dir.join(&name);
        let dst = format!("{target}/{name}");
        let ft = e.file_type()?;
        if ft.is_symlink() {
            let link = std::fs::read_link(&src)?;
            script.push_str(&format!(
                "ln -s {} {}\n",
                sh_quote(&link.to_string_lossy()),
                sh_quote(&dst)
            ));
        } else if ft.is_dir() {
            script.push_str(&format!(
                "mkdir {d}\nmount --rbind {s} {d}\n",
                d = sh_quote(&dst),
                s = sh_quote(&src.to_string_lossy())
            ));
        } else {
            script.push_str(&format!(
                ": > {d}\nmount --bind {s} {d}\n",
                d = sh_quote(&dst),
                s = sh_quote(&src.to_string_lossy())
            ));
        }
    }
    Ok(())
}

/// Commands that show host file `m.host` at `m.path` inside root `r`. The directory holding it
/// is shadowed by a tmpfs (its other host entries bound back in) so that the file is created
/// there, never on the host, and so that a host file of that name is hidden, not written to.
fn file_mount(script: &mut String, r: &str, m: &Mount, shadowed: &mut Vec<PathBuf>) -> Result<()> {
    let (Some(parent), Some(file_name)) = (m.path.parent(), m.path.file_name()) else {
        bail!("{} cannot hold a file mount", m.path.display());
    };
    let file_name = file_name.to_string_lossy().into_owned();
    let (existing, missing) = split_existing(parent)?;
    if existing == Path::new("/") && missing.is_empty() {
        bail!(
            "{}: the sandbox cannot add a file directly under /",
            m.path.display()
        );
    }
    if shadowed.contains(&existing) {
        bail!(
            "{}: a volume is already mounted in {}, the sandbox cannot add a file there",
            m.path.display(),
            existing.display()
        );
    }
    if existing != Path::new("/") {
        let target = format!("{r}{}", existing.display());
        script.push_str(&format!(
            "mount -t tmpfs -o mode=0755 vk-sandbox-shadow {}\n",
            sh_quote(&target)
        ));
        let except = missing.is_empty().then_some(file_name.as_str());
        replicate_entries(script, &existing, &target, except)?;
        shadowed.push(existing.clone());
    }
    let mut inside = existing;
    for part in &missing {
        inside.push(part);
    }
    let dir = format!("{r}{}", inside.display());
    let target = format!("{dir}/{file_name}");
    script.push_str(&format!(
        "mkdir -p {d}\n: > {t}\nmount --bind {h} {t}\n",
        d = sh_quote(&dir),
        t = sh_quote(&target),
        h = sh_quote(&m.host.to_string_lossy())
    ));
    if m.read_only {
        script.push_str(&format!("mount -o remount,bind,ro {}\n", sh_quote(&target)));
    }
    Ok(())
}

/// The whole script: root tmpfs, host entries, each mount in order, then `exec "$@"`.
pub(super) fn mount_script(root: &Path, mounts: &[Mount], read_only_root: bool) -> Result<String> {
    let r = root.to_string_lossy().into_owned();
    let mut s = String::new();
    s.push_str("# vk-test-utils pod sandbox: runs inside a private mount namespace.\n");
    s.push_str(&format!(
        "mount -t tmpfs -o mode=0755 vk-sandbox-root {}\n",
        sh_quote(&r)
    ));
    replicate_entries(&mut s, Path::new("/"), &r, None)?;
    let mut shadowed: Vec<PathBuf> = Vec::new();
    for m in mounts {
        if m.file {
            file_mount(&mut s, &r, m, &mut shadowed)?;
            continue;
        }
        let (existing, missing) = split_existing(&m.path)?;
        if !missing.is_empty() && existing != Path::new("/") && !shadowed.contains(&existing) {
            let target = format!("{r}{}", existing.display());
            s.push_str(&format!(
                "mount -t tmpfs -o mode=0755 vk-sandbox-shadow {}\n",
                sh_quote(&target)
            ));
            replicate_entries(&mut s, &existing, &target, None)?;
            shadowed.push(existing.clone());
        }
        let mut inside = existing.clone();
        for part in &missing {
            inside.push(part);
        }
        let target = format!("{r}{}", inside.display());
        let host = m.host.to_string_lossy().into_owned();
        s.push_str(&format!(
            "mkdir -p {t}\nmount --bind {h} {t}\n",
            t = sh_quote(&target),
            h = sh_quote(&host)
        ));
        if m.read_only {
            s.push_str(&format!("mount -o remount,bind,ro {}\n", sh_quote(&target)));
        }
    }
    if read_only_root {
        s.push_str(&format!("mount -o remount,ro {}\n", sh_quote(&r)));
    }
    s.push_str("exec \"$@\"\n");
    Ok(s)
}
