//! What `/health/ready` reports. File mode is ready from the start (as upstream, which only
//! listens once it has a certificate); with self-generated certificates the wiring passes a
//! source that turns ready once the serving certificate slot is filled.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

/// A readiness source: ready, or not ready with a short reason for the probe's response body.
#[derive(Clone, Default)]
pub struct Readiness(Source);

#[derive(Clone, Default)]
enum Source {
    #[default]
    Always,
    Watch {
        ready: watch::Receiver<bool>,
        reason: Arc<str>,
    },
    Check(Arc<dyn Fn() -> Result<(), String> + Send + Sync>),
}

impl Readiness {
    /// Always ready (file mode, tests).
    pub fn always() -> Self {
        Self(Source::Always)
    }

    /// Ready while `ready` holds true; otherwise not ready because of `reason`
    /// (e.g. "no serving certificate yet"). A closed channel keeps its last value.
    pub fn from_watch(ready: watch::Receiver<bool>, reason: impl Into<String>) -> Self {
        Self(Source::Watch {
            ready,
            reason: Arc::from(reason.into()),
        })
    }

    /// Ready once `slot` holds a serving certificate (auto-TLS mode).
    pub fn serving_certificate(slot: &vk_server::ReloadingCert) -> Self {
        Self::from_watch(slot.loaded(), "no serving certificate yet")
    }

    /// Ready when `check` returns `Ok`; its `Err` text is the reason. It runs on every probe,
    /// so it must be cheap and must not block.
    pub fn from_fn(check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self(Source::Check(Arc::new(check)))
    }

    /// `Ok` when ready, else the reason.
    pub fn check(&self) -> Result<(), String> {
        match &self.0 {
            Source::Always => Ok(()),
            Source::Watch { ready, reason } => {
                if *ready.borrow() {
                    Ok(())
                } else {
                    Err(reason.to_string())
                }
            }
            Source::Check(check) => check(),
        }
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0 {
            Source::Always => "always",
            Source::Watch { .. } => "watch",
            Source::Check(_) => "check",
        };
        f.debug_tuple("Readiness").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_report_their_state_and_reason() {
        assert_eq!(Readiness::default().check(), Ok(()));
        let (tx, rx) = watch::channel(false);
        let readiness = Readiness::from_watch(rx, "no serving certificate yet");
        assert_eq!(
            readiness.check(),
            Err("no serving certificate yet".to_owned())
        );
        tx.send_replace(true);
        assert_eq!(readiness.check(), Ok(()));
        drop(tx);
        assert_eq!(readiness.check(), Ok(()), "last value kept");
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = flag.clone();
        let readiness = Readiness::from_fn(move || {
            if seen.load(std::sync::atomic::Ordering::SeqCst) {
                Ok(())
            } else {
                Err("waiting".to_owned())
            }
        });
        assert_eq!(readiness.check(), Err("waiting".to_owned()));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(readiness.clone().check(), Ok(()));
    }

    #[test]
    fn serving_certificate_follows_the_slot() {
        let slot = vk_server::ReloadingCert::empty();
        let readiness = Readiness::serving_certificate(&slot);
        assert_eq!(
            readiness.check(),
            Err("no serving certificate yet".to_owned())
        );
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["svc.ns.svc".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        slot.install(cert.pem(), key.serialize_pem())
            .expect("install");
        assert_eq!(readiness.check(), Ok(()));
    }
}
