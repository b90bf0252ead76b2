//! Set-up shared by the agent's process tests (faults, faults_injected, the TokenReview fault):
//! the agent example as a process with its log in a file, a reader thread that checks every
//! read of the destination files, and the check that nothing secret reached a log.
//! Each test binary uses part of it.
#![allow(dead_code)]

mod agent;
mod reader;

#[allow(unused_imports)]
pub(crate) use agent::{Agent, agent_command, strip_ansi};
#[allow(unused_imports)]
pub(crate) use reader::{Check, Reader};

/// Fails when any of `secrets` (trimmed) appears in the agent's `log`
/// ([`vk_test_utils::secret_scan`]); the message never shows the value.
pub(crate) fn assert_not_logged(log: &str, secrets: &[&str]) {
    vk_test_utils::secret_scan::assert_absent_unlabelled(secrets, &[("agent log", log)]);
}

/// How many lines of `log` contain `needle`.
pub(crate) fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}
