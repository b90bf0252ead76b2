//! Atomic file writes (spec §2.7, §6.7): temp file in the destination directory, write, fsync,
//! chmod, rename over the destination.
//!
//! A render pass (or the token sinks) writes several files at once with [`write_batch`]: the
//! temp files are written and fsynced concurrently, then renamed in order. fsync is the slow part of a write (a journal commit each), and
//! concurrent fsyncs on one filesystem share commits, so a batch of N files costs about as
//! much as a few single writes instead of 2·N serial fsyncs.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::backoff::Jitter;

/// Default mode of a new template destination (spec §6.7).
pub(crate) const DEFAULT_TEMPLATE_MODE: u32 = 0o644;

/// Threads writing the temp files of one batch. fsync waits on the disk, not the CPU, so a
/// few more than the cores help; more would only add thread start-up and memory.
const WRITERS: usize = 8;

/// Stack of a writer thread: it only opens, writes, fsyncs and chmods.
const WRITER_STACK: usize = 64 * 1024;

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

/// One file of a [`write_batch`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job<'a> {
    pub(crate) path: &'a Path,
    pub(crate) contents: &'a [u8],
    pub(crate) mode: u32,
    /// `chown` of the new file (template `user`/`group`/`uid`/`gid`); `None` keeps ours.
    pub(crate) owner: Option<Owner>,
    /// Keep the previous file as `<path>.bak` (template `backup`).
    pub(crate) backup: bool,
}

/// Numeric owner and group of a written file (`None` leaves that one unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
}

/// Writes, fsyncs and chmods the temp file of `job`; on failure nothing is left behind.
fn write_temp(job: &Job<'_>) -> io::Result<PathBuf> {
    let tmp = temp_name(job.path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(job.contents)?;
        f.sync_all()?;
        // chown before chmod: a chown by root clears set-id bits the mode may ask for.
        if let Some(o) = job.owner {
            std::os::unix::fs::fchown(&f, o.uid, o.gid)?;
        }
        // Explicit chmod, so the umask does not apply (spec §6.7).
        fs::set_permissions(&tmp, fs::Permissions::from_mode(job.mode))
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The temp files of `jobs`, written by up to [`WRITERS`] threads, in `jobs` order.
fn write_temps(jobs: &[Job<'_>]) -> Vec<io::Result<PathBuf>> {
    let threads = jobs.len().min(WRITERS);
    if threads <= 1 {
        return jobs.iter().map(write_temp).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<io::Result<PathBuf>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            let r = write_temp(job);
            match slots[i].lock() {
                Ok(mut s) => *s = Some(r),
                Err(poisoned) => *poisoned.into_inner() = Some(r),
            }
        }
    };
    std::thread::scope(|scope| {
        // The calling thread works too; a thread that cannot be started leaves its share
        // to the others.
        for _ in 1..threads {
            let _ = std::thread::Builder::new()
                .name("vk-write".into())
                .stack_size(WRITER_STACK)
                .spawn_scoped(scope, work);
        }
        work();
    });
    slots
        .into_iter()
        .map(|s| {
            let r = match s.into_inner() {
                Ok(r) => r,
                Err(poisoned) => poisoned.into_inner(),
            };
            r.unwrap_or_else(|| Err(io::Error::other("temp file was not written")))
        })
        .collect()
}

/// Replaces each job's file with its contents atomically and gives it its mode: readers see
/// either the old or the new file, never a partial one, and no temp file stays behind. Returns
/// one result per job, in order; a failed job does not stop the others.
pub(crate) fn write_batch(jobs: &[Job<'_>]) -> Vec<io::Result<()>> {
    // No fsync of the directory: spec §6.7 does not ask for one and `bao agent` does none
    // (strace). The data is synced before the rename, so after a crash a destination holds
    // the old or the new complete file, never a partial one, and the agent renders again when
    // it starts. A directory fsync is a journal commit of its own, about as slow as all the
    // concurrent file fsyncs of a pass together.
    let temps = write_temps(jobs);
    jobs.iter()
        .zip(temps)
        .map(|(job, tmp)| {
            let tmp = tmp?;
            if job.backup {
                backup(job.path).inspect_err(|_| {
                    let _ = fs::remove_file(&tmp);
                })?;
            }
            fs::rename(&tmp, job.path).inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
        })
        .collect()
}

/// Copies an existing `path` to `<path>.bak` (contents and mode), as consul-template's
/// `backup` does before it replaces a destination; nothing to do for a new file.
fn backup(path: &Path) -> io::Result<()> {
    let mut bak = path.as_os_str().to_owned();
    bak.push(".bak");
    match fs::copy(path, PathBuf::from(bak)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `contents` atomically and gives it `mode` (a batch of one).
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write_batch(&[Job {
        path,
        contents,
        mode,
        owner: None,
        backup: false,
    }])
    .pop()
    .unwrap_or(Ok(()))
}

/// The mode a template destination gets when `contents` must be written (spec §6.7):
/// `perms`, else the existing file's, else 0644. `None` when the file already holds exactly
/// `contents` and is left alone.
pub(crate) fn mode_if_changed(
    path: &Path,
    contents: &[u8],
    perms: Option<u32>,
) -> io::Result<Option<u32>> {
    let existing_mode = match fs::metadata(path) {
        Ok(meta) => {
            if meta.len() == contents.len() as u64 && fs::read(path)? == contents {
                return Ok(None);
            }
            Some(meta.permissions().mode() & 0o7777)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(Some(
        perms.or(existing_mode).unwrap_or(DEFAULT_TEMPLATE_MODE),
    ))
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

    /// Writes `path` when it differs, the way the template engine does.
    fn write_if_changed(path: &Path, contents: &[u8], perms: Option<u32>) -> io::Result<bool> {
        let Some(mode) = mode_if_changed(path, contents, perms)? else {
            return Ok(false);
        };
        create_parents(path)?;
        write_atomic(path, contents, mode)?;
        Ok(true)
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_only_on_change_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.txt");
        assert!(write_if_changed(&p, b"one", None).unwrap());
        assert_eq!(mode(&p), 0o644);
        let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap());
        assert!(!write_if_changed(&p, b"one", None).unwrap());
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap()),
            ino
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(write_if_changed(&p, b"two", None).unwrap());
        assert_eq!(mode(&p), 0o640);
        assert!(write_if_changed(&p, b"three", Some(0o600)).unwrap());
        assert_eq!(mode(&p), 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"three");
        // No temp files left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_batch_writes_every_file_and_reports_each_failure() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let paths: Vec<PathBuf> = (0..20)
            .map(|i| {
                if i == 7 {
                    // Its directory does not exist: this one fails, the others do not.
                    dir.path().join("missing/x")
                } else {
                    [dir.path(), &sub][i % 2].join(format!("f{i}"))
                }
            })
            .collect();
        let contents: Vec<String> = (0..20).map(|i| format!("content {i}")).collect();
        let jobs: Vec<Job<'_>> = paths
            .iter()
            .zip(&contents)
            .enumerate()
            .map(|(i, (path, c))| Job {
                owner: None,
                backup: false,
                path,
                contents: c.as_bytes(),
                mode: if i % 3 == 0 { 0o600 } else { 0o640 },
            })
            .collect();
        let results = write_batch(&jobs);
        assert_eq!(results.len(), 20);
        for (i, (r, p)) in results.iter().zip(&paths).enumerate() {
            if i == 7 {
                assert_eq!(r.as_ref().unwrap_err().kind(), io::ErrorKind::NotFound);
                assert!(!p.exists());
            } else {
                assert!(r.is_ok(), "{i}: {r:?}");
                assert_eq!(fs::read_to_string(p).unwrap(), format!("content {i}"));
                assert_eq!(mode(p), if i % 3 == 0 { 0o600 } else { 0o640 });
            }
        }
        // Only the destinations (and `sub`) remain: no temp files.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 11);
        assert_eq!(fs::read_dir(&sub).unwrap().count(), 9);
    }

    #[test]
    fn missing_parent_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing/out.txt");
        assert!(write_atomic(&p, b"x", 0o644).is_err());
        assert!(!dir.path().join("missing").exists());
    }
}
