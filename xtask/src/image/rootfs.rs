//! The dev image's Debian root filesystem: `debootstrap --variant=minbase` from the mirror this
//! machine's apt uses, cleaned of host- and time-specific files, cached, then read into
//! tar entries.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::meta;
use super::tar::{Entry, Kind};

/// Returns a cleaned, cached rootfs for a `debootstrap` base definition.
pub(crate) fn debootstrap(base: &Value, epoch: u64, refresh: bool) -> Result<PathBuf> {
    let suite = base["suite"]
        .as_str()
        .context("images/dev.json: base.suite missing")?;
    let variant = base["variant"].as_str().unwrap_or("minbase");
    let include: Vec<&str> = base["include"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mirror = match base["mirror"].as_str() {
        Some(m) => m.to_string(),
        None => apt_mirror()?,
    };
    // The cache key covers every input except the time, so a rebuild of another commit
    // reuses the rootfs (debootstrap costs a minute or two); `--refresh-rootfs` rebuilds.
    let key =
        meta::sha256_hex(format!("{suite}|{variant}|{}|{mirror}", include.join(",")).as_bytes());
    let dir = meta::scratch("dev-rootfs")?.join(&key[..16]);
    let done = dir.with_extension("ok");
    if done.exists() && !refresh {
        eprintln!("image: reusing cached Debian rootfs {}", dir.display());
        return Ok(dir);
    }
    meta::need_tool(
        "debootstrap",
        "install it with `apt-get install -y debootstrap`",
    )?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let _ = std::fs::remove_file(&done);
    eprintln!(
        "image: debootstrap --variant={variant} {suite} from {mirror} (takes a minute or two)"
    );
    let mut cmd = Command::new("debootstrap");
    cmd.arg(format!("--variant={variant}"));
    if !include.is_empty() {
        cmd.arg(format!("--include={}", include.join(",")));
    }
    // SOURCE_DATE_EPOCH pins the "last password change" day that shadow writes.
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string())
        .arg(suite)
        .arg(&dir)
        .arg(&mirror);
    let log = meta::output(&mut cmd).with_context(|| {
        "debootstrap failed. It needs root and a reachable Debian mirror (set base.mirror in images/dev.json to override)".to_string()
    })?;
    let _ = log;
    for pattern in base["remove"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        remove_glob(&dir, pattern)?;
    }
    std::fs::write(&done, mirror.as_bytes())?;
    Ok(dir)
}

/// The first Debian archive URI in this machine's apt sources (deb822 or one-line format).
pub(crate) fn apt_mirror() -> Result<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let uri = if let Some(r) = line.strip_prefix("URIs:") {
                r.split_whitespace().next()
            } else if let Some(r) = line.strip_prefix("deb ") {
                r.split_whitespace().find(|w| w.starts_with("http"))
            } else {
                None
            };
            if let Some(u) = uri {
                let u = u.trim_end_matches('/');
                if u.ends_with("/debian") {
                    return Ok(u.to_string());
                }
            }
        }
    }
    bail!("no Debian mirror found in /etc/apt/sources.list*; set base.mirror in images/dev.json")
}

/// Removes `dir/<pattern>`, where only the last component may hold one `*`.
fn remove_glob(root: &Path, pattern: &str) -> Result<()> {
    let (parent, last) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let pdir = root.join(parent);
    let Ok(rd) = std::fs::read_dir(&pdir) else {
        return Ok(());
    };
    let (pre, suf) = last.split_once('*').unwrap_or((last, ""));
    let exact = !last.contains('*');
    for e in rd {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let hit = if exact {
            name == last
        } else {
            name.len() >= pre.len() + suf.len() && name.starts_with(pre) && name.ends_with(suf)
        };
        if hit {
            let p = e.path();
            let ft = e.file_type()?;
            if ft.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            }
            .with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}

/// Reads a directory tree into tar entries (modes and numeric owners kept, hard links kept
/// as links, device nodes/fifos/sockets dropped: the container runtime provides /dev).
pub(crate) fn read_tree(root: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut inodes: BTreeMap<(u64, u64), String> = BTreeMap::new();
    walk(root, "", &mut out, &mut inodes)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<Entry>,
    inodes: &mut BTreeMap<(u64, u64), String>,
) -> Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let name = name
            .to_str()
            .with_context(|| format!("non-UTF-8 file name in {}", dir.display()))?
            .to_string();
        let path = dir.join(&name);
        let rel_path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let md = std::fs::symlink_metadata(&path)?;
        let ft = md.file_type();
        let base = |kind| Entry {
            path: rel_path.clone(),
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            kind,
        };
        if ft.is_dir() {
            out.push(base(Kind::Dir));
            walk(&path, &rel_path, out, inodes)?;
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&path)?;
            out.push(base(Kind::Symlink(t.to_string_lossy().into_owned())));
        } else if ft.is_file() {
            if md.nlink() > 1 {
                if let Some(first) = inodes.get(&(md.dev(), md.ino())) {
                    out.push(base(Kind::Hardlink(first.clone())));
                    continue;
                }
                inodes.insert((md.dev(), md.ino()), rel_path.clone());
            }
            out.push(base(Kind::File(std::fs::read(&path)?)));
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() || ft.is_socket() {
            continue;
        }
    }
    Ok(())
}
