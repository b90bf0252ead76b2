//! Timing decisions of `vault-k8s agent` (spec agent.md §2.1, §2.8, §6.1–§6.6): when to
//! retry a login, when to renew the auth token or a secret lease, when to re-authenticate,
//! when to fetch a secret again, when a `pkiCert` file must be re-issued and how long a
//! failing fetch waits before it is retried.
//!
//! Owns: the formulas and their state machines. Must never: read a clock, draw random
//! numbers, do I/O or depend on async crates — it is a pure library. The async loops of the
//! agent pass `now` (a [`Timestamp`]) and every random draw (a [`Fraction`]) in, and act on
//! the returned decision. That keeps every schedule reproducible in tests.
//!
//! Where Vault 2.0.x and OpenBao differ (§0.3), Vault 2.0.x is implemented.

mod backoff;
mod lifetime;
mod pki;
mod refresh;
mod retry;
mod time;

pub use backoff::{
    AUTH_MAX_BACKOFF, AUTH_MIN_BACKOFF, Backoff, ENGINE_MAX_BACKOFF, ENGINE_MIN_BACKOFF,
};
pub use lifetime::{
    ERROR_BACKOFF_INITIAL, ERROR_BACKOFF_MAX, EndReason, LeaseInfo, LifetimeWatcher, RenewMode,
    WatchAction, grace_period, refetch_at,
};
pub use pki::{CertValidity, PkiDecision, pki_decision, pki_renewal_point};
pub use refresh::{
    DEFAULT_STATIC_SECRET_RENDER_INTERVAL, FetchPlan, RefreshConfig, RefreshError, SecretTiming,
    SleepKind, list_sleep, non_renewable_sleep, plan_after_fetch,
};
pub use retry::{
    DEFAULT_NUM_RETRIES, DEFAULT_RETRY_BACKOFF, DEFAULT_RETRY_MAX_BACKOFF, EngineAction,
    RetryDecision, RetryPolicy, on_engine_failure,
};
pub use time::{DEFAULT_LEASE_RENEWAL_THRESHOLD, Fraction, Threshold, Timestamp, scale};
