//! The Kubernetes edge: the only crate that talks to the API server (kube-rs with rustls/ring).
//!
//! Owns: the client (inferred from `KUBECONFIG`, `~/.kube/config` or the in-cluster service
//! account), per-call timeouts and retries, typed errors that name the verb, resource and object
//! (and the missing RBAC rule on 403), the webhook `caBundle`, the shared certificate Secret,
//! upstream's ConfigMap lock check and leader election on a `coordination.k8s.io/v1` Lease.
//! Must never: generate certificates or decide when to rotate them (that is `vk-server::autotls`
//! and `vk-injector::autotls`), or install a crypto provider (the binary does that once).

// Errors carry the call they come from (about 150 bytes); they only occur after a network
// round trip, so moving them is negligible next to the call itself.
#![allow(clippy::result_large_err)]

mod call;
mod client;
mod error;
mod leader;
mod secret;
mod upstream;
mod webhook;

pub use call::{Call, CallPolicy};
pub use client::KubeClient;
pub use error::KubeError;
pub use leader::{LeaderElector, LeaseSettings};
pub use secret::{CERT_SECRET_NAME, CertSecret};
pub use upstream::UPSTREAM_LOCK_NAME;
