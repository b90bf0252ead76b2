//! The Kubernetes edge: the only crate that talks to the API server, with a small REST client of
//! its own on `vk-http` (hyper-util, rustls/ring) and serde structs holding exactly the fields
//! it uses (unknown fields of objects it writes back are kept).
//!
//! Owns: the client configuration (`KUBECONFIG`, `~/.kube/config` or the in-cluster service
//! account, `config`; kubeconfig keys it does not implement are errors naming them), requests
//! and watch streams (`api`, `watch`), per-call timeouts and retries, typed errors that name the verb, resource and object
//! (and the missing RBAC rule on 403), the webhook `caBundle`, the shared certificate Secret,
//! upstream's ConfigMap lock check and leader election on a `coordination.k8s.io/v1` Lease.
//! Must never: generate certificates or decide when to rotate them (that is `vk-server::autotls`
//! and `vk-injector::autotls`), or install a crypto provider (the binary does that once).

// Errors carry the call they come from (about 150 bytes); they only occur after a network
// round trip, so moving them is negligible next to the call itself.
#![allow(clippy::result_large_err)]

mod api;
mod call;
mod client;
#[cfg(test)]
mod client_tests;
mod config;
mod error;
mod leader;
mod objects;
mod secret;
mod upstream;
mod watch;
mod webhook;

pub use api::{ApiStatus, RequestError};
pub use call::{Call, CallPolicy};
pub use client::KubeClient;
pub use config::{ConfigError, TokenFileError};
pub use error::KubeError;
pub use leader::{LeaderElector, LeaseSettings};
pub use secret::{CERT_SECRET_NAME, CertSecret};
pub use upstream::UPSTREAM_LOCK_NAME;
