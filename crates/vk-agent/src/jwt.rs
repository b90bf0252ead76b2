//! The `jwt` auto-auth method's credential (spec §2.3): a JWT read from `config.path`, used
//! as written (not trimmed), removed after reading unless told otherwise, and remembered so a
//! later re-authentication works after the file is gone.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vk_vault_client::SecretString;

use crate::error::AgentError;

/// `jwt_read_period` when the file is removed after reading (upstream's code default).
const READ_PERIOD_REMOVING: Duration = Duration::from_millis(500);
/// `jwt_read_period` when the file stays.
const READ_PERIOD_KEEPING: Duration = Duration::from_secs(60);

/// Where the JWT comes from and the last one read.
#[derive(Debug)]
pub(crate) struct JwtSource {
    role: String,
    path: PathBuf,
    remove_after_reading: bool,
    follow_symlinks: bool,
    read_period: Duration,
    latest: Option<SecretString>,
    last_read: Option<Instant>,
}

impl JwtSource {
    pub(crate) fn new(
        role: String,
        path: PathBuf,
        remove_after_reading: bool,
        follow_symlinks: bool,
        read_period: Option<Duration>,
    ) -> Self {
        let default = if remove_after_reading {
            READ_PERIOD_REMOVING
        } else {
            READ_PERIOD_KEEPING
        };
        Self {
            role,
            path,
            remove_after_reading,
            follow_symlinks,
            read_period: read_period.filter(|d| !d.is_zero()).unwrap_or(default),
            latest: None,
            last_read: None,
        }
    }

    pub(crate) fn role(&self) -> &str {
        &self.role
    }

    /// The JWT to log in with: the file is read again once `jwt_read_period` has passed since
    /// the last read (or when none is known yet); a missing or empty file keeps the last one.
    pub(crate) fn current(&mut self) -> Result<SecretString, AgentError> {
        let fresh = self
            .last_read
            .is_some_and(|t| t.elapsed() < self.read_period);
        let mut failure = None;
        if !(fresh && self.latest.is_some()) {
            failure = self.read_now().err();
        }
        match (&self.latest, failure) {
            (Some(jwt), _) => Ok(jwt.clone()),
            (None, Some(e)) => Err(e),
            (None, None) => Err(AgentError::EmptyCredential {
                path: self.path.clone(),
            }),
        }
    }

    /// Reads the file once; on success remembers the JWT and removes the file if configured.
    fn read_now(&mut self) -> Result<(), AgentError> {
        self.last_read = Some(Instant::now());
        let text = std::fs::read_to_string(&self.path).map_err(|source| {
            if source.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), error = %source, "jwt: cannot read the token file");
            }
            AgentError::Credential {
                path: self.path.clone(),
                source,
            }
        })?;
        if text.is_empty() {
            tracing::warn!(path = %self.path.display(), "jwt: token file is empty; ignored");
            return Err(AgentError::EmptyCredential {
                path: self.path.clone(),
            });
        }
        self.latest = Some(SecretString::new(text));
        if self.remove_after_reading {
            self.remove_file();
        }
        Ok(())
    }

    fn remove_file(&self) {
        // Following symlinks removes the link's target; otherwise the link itself goes.
        let target = if self.follow_symlinks {
            std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
        } else {
            self.path.clone()
        };
        if let Err(e) = std::fs::remove_file(&target) {
            tracing::warn!(path = %target.display(), error = %e, "jwt: cannot remove the token file after reading");
        }
    }

    #[cfg(test)]
    fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vk_agent_config::{Method, MethodConfig};

    /// `config.jwt_read_period` as the agent sees it (`None` when unset).
    fn read_period(method: &Method, file: &str) -> Result<Option<Duration>, AgentError> {
        match crate::auth::method_config(method, file)? {
            MethodConfig::Jwt(c) => Ok(c.jwt_read_period),
            other => panic!("{other:?}"),
        }
    }

    fn method(config: serde_json::Value) -> Method {
        Method {
            kind: "jwt".into(),
            mount_path: "auth/jwt".into(),
            namespace: String::new(),
            wrap_ttl: None,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            exit_on_err: false,
            config: {
                let mut c = config.as_object().cloned().unwrap_or_default();
                c.insert("role".into(), "r".into());
                c.insert("path".into(), "/jwt".into());
                c
            },
        }
    }

    #[test]
    fn read_period_values() {
        let p = |v: serde_json::Value| {
            read_period(
                &method(serde_json::json!({ "jwt_read_period": v })),
                "a.hcl",
            )
        };
        assert_eq!(
            read_period(&method(serde_json::json!({})), "a.hcl").unwrap(),
            None
        );
        assert_eq!(p("2s".into()).unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(p("500ms".into()).unwrap(), Some(Duration::from_millis(500)));
        assert_eq!(p("30".into()).unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(p(5.into()).unwrap(), Some(Duration::from_secs(5)));
        let e = p("soon".into()).unwrap_err().to_string();
        assert!(
            e.contains("auto_auth.method.config.jwt_read_period") && e.contains("a.hcl"),
            "{e}"
        );
        assert!(p(true.into()).is_err());
    }

    #[test]
    fn defaults_follow_removal() {
        let s = JwtSource::new("r".into(), "/x".into(), true, false, None);
        assert_eq!(s.read_period, READ_PERIOD_REMOVING);
        let s = JwtSource::new("r".into(), "/x".into(), false, false, None);
        assert_eq!(s.read_period, READ_PERIOD_KEEPING);
        let s = JwtSource::new("r".into(), "/x".into(), false, false, Some(Duration::ZERO));
        assert_eq!(s.read_period, READ_PERIOD_KEEPING);
    }

    #[test]
    fn as_is_removed_cached_and_empty_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt");
        let mut s = JwtSource::new(
            "r".into(),
            path.clone(),
            true,
            false,
            Some(Duration::from_nanos(1)),
        );
        // Nothing yet: the error names the file.
        let e = s.current().unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        std::fs::write(&path, "a.b.c\n").unwrap();
        assert_eq!(
            s.current().unwrap().expose(),
            "a.b.c\n",
            "used as-is, not trimmed"
        );
        assert!(!path.exists(), "removed after reading");
        // Missing file: the last known JWT.
        assert_eq!(s.current().unwrap().expose(), "a.b.c\n");
        // Empty file: ignored, the last known JWT stays.
        std::fs::write(&path, "").unwrap();
        assert_eq!(s.current().unwrap().expose(), "a.b.c\n");
        // A new JWT replaces it.
        std::fs::write(&path, "d.e.f").unwrap();
        assert_eq!(s.current().unwrap().expose(), "d.e.f");
        assert_eq!(s.path(), path);
    }

    #[test]
    fn symlinks_and_keeping() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::fs::write(&target, "t").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut s = JwtSource::new("r".into(), link.clone(), true, false, None);
        assert_eq!(s.current().unwrap().expose(), "t");
        assert!(
            target.exists() && std::fs::symlink_metadata(&link).is_err(),
            "link removed, target kept"
        );

        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut s = JwtSource::new("r".into(), link.clone(), true, true, None);
        assert_eq!(s.current().unwrap().expose(), "t");
        assert!(!target.exists(), "target removed when following symlinks");

        std::fs::write(&target, "kept").unwrap();
        let mut s = JwtSource::new("r".into(), target.clone(), false, false, None);
        assert_eq!(s.current().unwrap().expose(), "kept");
        assert!(target.exists());
        // Within the read period the file is not read again.
        std::fs::write(&target, "newer").unwrap();
        assert_eq!(s.current().unwrap().expose(), "kept");
    }
}
