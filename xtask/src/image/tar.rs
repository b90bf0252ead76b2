//! A small deterministic tar writer (ustar headers, PAX records for long names).
//!
//! Why hand-written: the images must be byte-for-byte reproducible, so every field that
//! usually leaks the build machine (mtime, uid/gid names, device numbers, order) is fixed
//! here instead of trusting a library's defaults.

use anyhow::{Result, bail};

/// What an entry is.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(String),
    /// A hard link to an earlier entry (path relative to the archive root).
    Hardlink(String),
}

/// One archive member. `path` is relative (no leading `/`), without a trailing `/`.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) path: String,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) kind: Kind,
}

impl Entry {
    pub(crate) fn file(path: &str, mode: u32, data: Vec<u8>) -> Self {
        Self {
            path: clean(path),
            mode,
            uid: 0,
            gid: 0,
            kind: Kind::File(data),
        }
    }
    pub(crate) fn dir(path: &str, mode: u32) -> Self {
        Self {
            path: clean(path),
            mode,
            uid: 0,
            gid: 0,
            kind: Kind::Dir,
        }
    }
}

fn clean(path: &str) -> String {
    path.trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Sort entries in tree order (component by component), so a directory always precedes
/// its children and the order never depends on how the entries were collected.
pub(crate) fn sort_tree_order(entries: &mut [Entry]) {
    entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
}

/// Adds the missing parent directories (mode 0755, root-owned) of every entry.
pub(crate) fn add_parent_dirs(entries: &mut Vec<Entry>) {
    let have: std::collections::BTreeSet<String> = entries.iter().map(|e| e.path.clone()).collect();
    let mut missing = std::collections::BTreeSet::new();
    for e in entries.iter() {
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if !have.contains(parent) {
                missing.insert(parent.to_string());
            }
            p = parent;
        }
    }
    entries.extend(missing.into_iter().map(|p| Entry::dir(&p, 0o755)));
}

/// Serialises `entries` in the given order; every mtime is `mtime`.
pub(crate) fn write(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        if e.path.is_empty() {
            bail!("tar entry with an empty path");
        }
        let name = match e.kind {
            Kind::Dir => format!("{}/", e.path),
            _ => e.path.clone(),
        };
        let (typeflag, size, link) = match &e.kind {
            Kind::File(d) => (b'0', d.len() as u64, ""),
            Kind::Dir => (b'5', 0, ""),
            Kind::Symlink(t) => (b'2', 0, t.as_str()),
            Kind::Hardlink(t) => (b'1', 0, t.as_str()),
        };
        let (prefix, short) = split_name(&name);
        let mut pax = Vec::new();
        if short.is_none() {
            pax_record(&mut pax, "path", &name);
        }
        if link.len() > 100 {
            pax_record(&mut pax, "linkpath", link);
        }
        if !pax.is_empty() {
            // The PAX header's own name only needs to be stable and short.
            let hdr = header(
                "PaxHeaders/entry",
                "",
                0o644,
                0,
                0,
                pax.len() as u64,
                mtime,
                b'x',
                "",
            )?;
            out.extend_from_slice(&hdr);
            push_padded(&mut out, &pax);
        }
        let short_name = short.unwrap_or_else(|| truncate(&name, 100));
        let short_link = truncate(link, 100);
        let hdr = header(
            &short_name,
            prefix.as_deref().unwrap_or(""),
            e.mode,
            e.uid,
            e.gid,
            size,
            mtime,
            typeflag,
            &short_link,
        )?;
        out.extend_from_slice(&hdr);
        if let Kind::File(d) = &e.kind {
            push_padded(&mut out, d);
        }
    }
    // End of archive: two zero blocks.
    out.extend_from_slice(&[0u8; 1024]);
    Ok(out)
}

fn truncate(s: &str, n: usize) -> String {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// ustar can hold `prefix/name` with prefix ≤ 155 and name ≤ 100 bytes.
/// Returns (prefix, name) or (None, None) when a PAX record is needed.
fn split_name(name: &str) -> (Option<String>, Option<String>) {
    if name.len() <= 100 {
        return (None, Some(name.to_string()));
    }
    // Split at a '/' so that both halves fit; a trailing '/' of a dir stays in `name`.
    let bytes = name.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'/' && i <= 155 && name.len() - i - 1 <= 100 && i + 1 < name.len() {
            return (Some(name[..i].to_string()), Some(name[i + 1..].to_string()));
        }
    }
    (None, None)
}

fn pax_record(buf: &mut Vec<u8>, key: &str, value: &str) {
    // The length prefix counts itself, so iterate until it is stable.
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    loop {
        let total = len.to_string().len() + body.len();
        if total == len {
            break;
        }
        len = total;
    }
    buf.extend_from_slice(format!("{len}{body}").as_bytes());
}

fn push_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    let rem = data.len() % 512;
    if rem != 0 {
        out.extend(std::iter::repeat_n(0u8, 512 - rem));
    }
}

#[allow(clippy::too_many_arguments)]
fn header(
    name: &str,
    prefix: &str,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: u64,
    typeflag: u8,
    link: &str,
) -> Result<[u8; 512]> {
    let mut h = [0u8; 512];
    put(&mut h[0..100], name.as_bytes());
    octal(&mut h[100..108], u64::from(mode & 0o7777))?;
    octal(&mut h[108..116], u64::from(uid))?;
    octal(&mut h[116..124], u64::from(gid))?;
    octal(&mut h[124..136], size)?;
    octal(&mut h[136..148], mtime)?;
    h[148..156].copy_from_slice(b"        ");
    h[156] = typeflag;
    put(&mut h[157..257], link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // uname/gname stay empty: numeric ids only, nothing from the build host.
    octal(&mut h[329..337], 0)?;
    octal(&mut h[337..345], 0)?;
    put(&mut h[345..500], prefix.as_bytes());
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn octal(field: &mut [u8], value: u64) -> Result<()> {
    let width = field.len() - 1;
    let s = format!("{value:0width$o}");
    if s.len() > width {
        bail!(
            "tar header field overflow: {value} does not fit in {width} octal digits (file too large?)"
        );
    }
    field[..width].copy_from_slice(s.as_bytes());
    field[width] = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_round_trip_through_pax() {
        let long = format!("usr/share/{}/file", "d".repeat(180));
        let mut e = vec![Entry::file(&long, 0o644, b"x".to_vec())];
        add_parent_dirs(&mut e);
        sort_tree_order(&mut e);
        let t = write(&e, 1).unwrap();
        assert_eq!(t.len() % 512, 0);
        assert!(t.windows(5).any(|w| w == b"path="));
    }

    #[test]
    fn tree_order_puts_dirs_first() {
        let mut e = vec![
            Entry::file("a.c", 0o644, vec![]),
            Entry::file("a/b", 0o644, vec![]),
            Entry::dir("a", 0o755),
        ];
        sort_tree_order(&mut e);
        let names: Vec<_> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["a", "a/b", "a.c"]);
    }
}
