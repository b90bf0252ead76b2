//! SIGTERM/SIGINT → start draining. Kubernetes stops pods with SIGTERM, so both are handled
//! (upstream only traps SIGINT).

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which signal asked us to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    Terminate,
    Interrupt,
}

/// Installed SIGTERM and SIGINT handlers. Installed once, so a second signal sent while the
/// first is being handled is not lost (and no longer kills the process by default).
#[derive(Debug)]
pub struct ShutdownSignals {
    term: Signal,
    int: Signal,
}

impl ShutdownSignals {
    /// Install the handlers; must run inside a tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolve on the next SIGTERM or SIGINT.
    pub async fn recv(&mut self) -> ShutdownSignal {
        tokio::select! {
            _ = self.term.recv() => ShutdownSignal::Terminate,
            _ = self.int.recv() => ShutdownSignal::Interrupt,
        }
    }
}
