//! The native sidecar's readiness marker (issue [9]). The agent run with `-ready-file=PATH`
//! removes a stale marker at start and writes it after its first full render (every template
//! rendered once); `vault-k8s agent probe -ready-file=PATH`, the container's `startupProbe`
//! (exec, no shell in the image), exits 0 only when the marker is there and well formed.
//!
//! The marker lives on the sidecar's in-memory home volume and holds no secret (a fixed first
//! line and the number of templates). It is mode 0640, so an agent running under an arbitrary
//! uid with group 0 (OpenShift) and the probe (same container, same ids) can both read it.
//! [`decide`] is the pure decision; [`probe`] is the I/O around it.

use std::io;
use std::path::Path;

/// First line of the marker; anything else is not our marker.
const HEADER: &str = "vault-k8s agent: every template rendered";

/// Mode of the marker file.
pub(crate) const MODE: u32 = 0o640;

/// The marker's contents after rendering `templates` templates.
pub(crate) fn contents(templates: usize) -> String {
    format!("{HEADER}\ntemplates={templates}\n")
}

/// Why the probe fails.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("{path}: not written yet (the agent has not rendered every template once)")]
    Missing { path: String },
    #[error("{path}: not a readiness marker of vault-k8s agent")]
    Foreign { path: String },
    #[error("{path}: cannot be read")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Pure: is the marker read from `path` (`None`: it does not exist) a ready one?
pub fn decide(path: &str, marker: Option<&str>) -> Result<(), NotReady> {
    match marker {
        None => Err(NotReady::Missing {
            path: path.to_owned(),
        }),
        Some(text) if text.lines().next() == Some(HEADER) => Ok(()),
        Some(_) => Err(NotReady::Foreign {
            path: path.to_owned(),
        }),
    }
}

/// Reads the marker at `path` and decides.
pub fn probe(path: &Path) -> Result<(), NotReady> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => decide(&name, Some(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => decide(&name, None),
        Err(source) => Err(NotReady::Unreadable { path: name, source }),
    }
}

/// Removes a marker left by an earlier run of the container (a restarted sidecar must render
/// again before it is ready).
pub(crate) fn clear(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_marker_is_ready() {
        assert!(decide("/m", Some(&contents(3))).is_ok());
        assert!(matches!(decide("/m", None), Err(NotReady::Missing { .. })));
        assert!(matches!(
            decide("/m", Some("")),
            Err(NotReady::Foreign { .. })
        ));
        assert!(matches!(
            decide("/m", Some("ready\n")),
            Err(NotReady::Foreign { .. })
        ));
        assert_eq!(
            decide("/m", None).unwrap_err().to_string(),
            "/m: not written yet (the agent has not rendered every template once)"
        );
    }

    #[test]
    fn probe_reads_clear_removes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready");
        assert!(matches!(probe(&path), Err(NotReady::Missing { .. })));
        std::fs::write(&path, contents(1)).unwrap();
        assert!(probe(&path).is_ok());
        clear(&path).unwrap();
        clear(&path).unwrap();
        assert!(matches!(probe(&path), Err(NotReady::Missing { .. })));
    }
}
