//! Atomic file writes (spec §2.7, §6.7): temp file in the destination directory, fsync,
//! chmod, rename over the destination, fsync of the directory.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backoff::Jitter;

/// Default mode of a new template destination (spec §6.7).
pub(crate) const DEFAULT_TEMPLATE_MODE: u32 = 0o644;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_name(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let r = (Jitter::new().unit() * f64::from(u32::MAX)) as u32;
    let base = path
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{base}.tmp.{:08x}{n}", r ^ std::process::id()))
}

/// Creates the missing parents of `path` with 0755 (the umask applies).
pub(crate) fn create_parents(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir),
        _ => Ok(()),
    }
}

/// Replaces `path` with `contents` atomically and gives it `mode`. Readers see either the old
/// or the new file, never a partial one.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        // Explicit chmod, so the umask does not apply (spec §6.7).
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Best effort: make the rename durable.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes a template destination when its bytes differ (spec §6.7). The mode is `perms`, else
/// the existing file's, else 0644. Returns whether the file was written.
pub(crate) fn write_if_changed(
    path: &Path,
    contents: &[u8],
    perms: Option<u32>,
    create_dirs: bool,
) -> io::Result<bool> {
    let existing_mode = match fs::metadata(path) {
        Ok(meta) => {
            if meta.len() == contents.len() as u64 && fs::read(path)? == contents {
                return Ok(false);
            }
            Some(meta.permissions().mode() & 0o7777)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if create_dirs {
        create_parents(path)?;
    }
    let mode = perms.or(existing_mode).unwrap_or(DEFAULT_TEMPLATE_MODE);
    write_atomic(path, contents, mode)?;
    Ok(true)
}

/// The sink start-up check (spec §2.7): a temp file can be created and removed next to `path`.
pub(crate) fn check_writable(path: &Path) -> io::Result<()> {
    let tmp = temp_name(path);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    fs::remove_file(&tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_on_change_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.txt");
        assert!(write_if_changed(&p, b"one", None, true).unwrap());
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap());
        assert!(!write_if_changed(&p, b"one", None, true).unwrap());
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap()),
            ino
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(write_if_changed(&p, b"two", None, true).unwrap());
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(write_if_changed(&p, b"three", Some(0o600), true).unwrap());
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&p).unwrap(), b"three");
        // No temp files left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn no_dirs_when_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing/out.txt");
        assert!(write_if_changed(&p, b"x", None, false).is_err());
    }
}
