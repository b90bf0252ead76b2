//! Graceful shutdown on SIGTERM / SIGINT.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A handle that says whether shutdown was requested.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>, std::sync::Arc<watch::Sender<bool>>);

impl Shutdown {
    /// Installs the signal handlers (must run inside the runtime).
    pub(crate) fn install() -> std::io::Result<Self> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (tx, rx) = watch::channel(false);
        let tx = std::sync::Arc::new(tx);
        let held = tx.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "shutdown requested");
            let _ = tx.send(true);
            // Keep the sender alive so receivers do not see a closed channel as a signal.
            std::future::pending::<()>().await;
        });
        Ok(Self(rx, held))
    }

    /// A function that requests shutdown as SIGTERM does (`/agent/v1/quit`).
    pub(crate) fn requester(&self) -> Box<dyn Fn() + Send + Sync> {
        let tx = self.1.clone();
        Box::new(move || {
            let _ = tx.send(true);
        })
    }

    pub(crate) fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Sleeps for `d`; returns `true` if shutdown was requested meanwhile.
    pub(crate) async fn sleep(&mut self, d: Duration) -> bool {
        if self.requested() {
            return true;
        }
        let signalled = tokio::select! {
            () = tokio::time::sleep(d) => None,
            r = self.0.wait_for(|v| *v) => Some(r.is_ok()),
        };
        signalled.unwrap_or_else(|| self.requested())
    }
}
