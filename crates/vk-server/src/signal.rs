//! SIGTERM/SIGINT → start draining. Kubernetes stops pods with SIGTERM, so both are handled
//! (upstream only traps SIGINT).

use tokio::signal::unix::{SignalKind, signal};

/// Which signal asked us to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    Terminate,
    Interrupt,
}

/// Resolve on the next SIGTERM or SIGINT. Call it again to wait for a second signal.
pub async fn shutdown_signal() -> std::io::Result<ShutdownSignal> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => Ok(ShutdownSignal::Terminate),
        _ = int.recv() => Ok(ShutdownSignal::Interrupt),
    }
}
