//! Credentials sent on every request: a bearer token (fixed, or from a file re-read every
//! minute, since bound service-account tokens rotate), or basic auth.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderValue;

/// How often a token file is read again (client-go and kube-rs: one minute).
pub(crate) const TOKEN_REFRESH: Duration = Duration::from_secs(60);

/// The `Authorization` of each request.
#[derive(Debug)]
pub(crate) enum Auth {
    None,
    /// A fixed header value (`Bearer …` or `Basic …`), marked sensitive.
    Fixed(HeaderValue),
    File(TokenFile),
}

impl Auth {
    pub(crate) fn bearer(token: &str) -> Result<Self, String> {
        header("Bearer ", token).map(Self::Fixed)
    }

    pub(crate) fn basic(username: &str, password: &str) -> Result<Self, String> {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        header("Basic ", &encoded).map(Self::Fixed)
    }

    /// The header value for the next request.
    pub(crate) fn header(&self) -> Result<Option<HeaderValue>, TokenFileError> {
        match self {
            Self::None => Ok(None),
            Self::Fixed(value) => Ok(Some(value.clone())),
            Self::File(file) => file.header().map(Some),
        }
    }
}

fn header(scheme: &str, credential: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::try_from(format!("{scheme}{credential}"))
        .map_err(|_| "holds characters not allowed in an HTTP header".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// Reading a token file failed.
#[derive(Debug, thiserror::Error)]
#[error("reading the bearer token file {}: {problem}", path.display())]
pub struct TokenFileError {
    pub path: PathBuf,
    pub problem: String,
}

/// A bearer token file, read at most once per refresh period.
#[derive(Debug)]
pub(crate) struct TokenFile {
    path: PathBuf,
    refresh: Duration,
    cached: Mutex<Option<(HeaderValue, Instant)>>,
}

impl TokenFile {
    pub(crate) fn new(path: PathBuf, refresh: Duration) -> Self {
        Self {
            path,
            refresh,
            cached: Mutex::new(None),
        }
    }

    /// Reads the file now, so that a missing or empty file fails when the client is built.
    pub(crate) fn check(&self) -> Result<(), TokenFileError> {
        self.header().map(drop)
    }

    /// The token's header: the cached one within the refresh period, else the file read again.
    /// A failed re-read keeps the last good token (it is likely still valid: the kubelet
    /// rotates the file well before expiry) and is retried after another period; only a first
    /// read that fails is an error.
    pub(crate) fn header(&self) -> Result<HeaderValue, TokenFileError> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((value, read_at)) = cached.as_ref()
            && read_at.elapsed() < self.refresh
        {
            return Ok(value.clone());
        }
        match (self.read(), cached.as_mut()) {
            (Ok(value), _) => {
                *cached = Some((value.clone(), Instant::now()));
                Ok(value)
            }
            (Err(err), Some((value, read_at))) => {
                tracing::warn!(error = %err, "keeping the last bearer token read");
                *read_at = Instant::now();
                Ok(value.clone())
            }
            (Err(err), None) => Err(err),
        }
    }

    fn read(&self) -> Result<HeaderValue, TokenFileError> {
        let fail = |problem: String| TokenFileError {
            path: self.path.clone(),
            problem,
        };
        let text = std::fs::read_to_string(&self.path).map_err(|e| fail(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(fail("the file is empty".to_owned()));
        }
        header("Bearer ", token).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_read_again_after_the_refresh_period() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").expect("write");
        let every_time = TokenFile::new(path.clone(), Duration::ZERO);
        let hourly = TokenFile::new(path.clone(), Duration::from_secs(3600));
        assert_eq!(every_time.header().expect("read"), "Bearer first");
        assert_eq!(hourly.header().expect("read"), "Bearer first");
        std::fs::write(&path, "second").expect("rotate");
        assert_eq!(every_time.header().expect("re-read"), "Bearer second");
        assert_eq!(hourly.header().expect("cached"), "Bearer first");
        assert!(every_time.header().expect("read").is_sensitive());
    }

    #[test]
    fn a_failed_re_read_keeps_the_last_good_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "good").expect("write");
        let file = TokenFile::new(path.clone(), Duration::ZERO);
        assert_eq!(file.header().expect("read"), "Bearer good");
        std::fs::write(&path, "").expect("empty");
        assert_eq!(file.header().expect("kept"), "Bearer good");
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(file.header().expect("kept"), "Bearer good");
        std::fs::write(&path, "rotated").expect("write");
        assert_eq!(file.header().expect("re-read"), "Bearer rotated");
    }

    #[test]
    fn a_missing_or_empty_token_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        let file = TokenFile::new(path.clone(), Duration::ZERO);
        let err = file.check().expect_err("missing").to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        std::fs::write(&path, " \n").expect("write");
        let err = file.check().expect_err("empty").to_string();
        assert!(err.ends_with("the file is empty"), "{err}");
    }

    #[test]
    fn basic_auth_is_base64_of_user_and_password() {
        let Auth::Fixed(value) = Auth::basic("admin", "pw").expect("basic") else {
            panic!("fixed header expected");
        };
        assert_eq!(value, "Basic YWRtaW46cHc=");
    }
}
