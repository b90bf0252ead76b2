//! The current certificate-management problem, if any: logged once when it appears or changes,
//! reported by `/health/ready` until the next successful round.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Health {
    problem: Arc<Mutex<Option<String>>>,
}

impl Health {
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Record a problem; logged only when it differs from the current one.
    pub fn report(&self, problem: String) {
        let mut current = self.problem.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_deref() != Some(problem.as_str()) {
            tracing::error!("{problem}");
            *current = Some(problem);
        }
    }

    pub fn clear(&self) {
        let mut current = self.problem.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = current.take() {
            tracing::info!("certificate management recovered (was: {previous})");
        }
    }
}
