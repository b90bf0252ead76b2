//! Test fixtures for vault-k8s (dev-only: use it from `[dev-dependencies]`).
//!
//! Every fixture is a real component: [`bao::DevServer`] runs OpenBao's `bao server -dev`,
//! [`kube_api::KubeApi`] answers like the Kubernetes API server (TokenReview with real signature
//! checks, and an object store with resourceVersions, patches, list/watch, discovery and RBAC
//! denial that kubectl and vk-kube work against),
//! [`certs`] makes a real PKI, and [`pod_sandbox`] runs one container of a pod the way a kubelet
//! would (command, env, volume mounts at their real paths) in a private mount namespace, and
//! [`postgres::Postgres`] runs a PostgreSQL cluster for the `database` secrets engine, and
//! [`otlp::OtlpReceiver`] runs a real OTLP receiver (rotel) and parses the spans it received;
//! [`recording_proxy::RecordingProxy`] forwards HTTP/1.1 and records what the client sent.
//! [`admission`] builds AdmissionReview requests and applies a webhook's JSON Patch, [`http`]
//! is a small blocking HTTP(S) client pinned to a test CA, and [`util`] has ports, polling and
//! kill-on-drop child processes. Everything listens on 127.0.0.1 and is stopped on drop.

pub mod admission;
pub mod agent_example;
pub mod approle;
pub mod bao;
pub mod bao_file;
pub mod certs;
pub mod fault_proxy;
pub mod http;
pub mod jwt;
pub mod kube_api;
pub mod otlp;
pub mod pod_sandbox;
pub mod postgres;
pub mod recording_proxy;
pub mod secret_scan;
pub mod util;

pub use agent_example::agent_example;
pub use approle::AppRole;
pub use bao::{DevServer, bao_binary};
pub use bao_file::FileServer;
pub use certs::{Leaf, TestCa, TlsFiles};
pub use fault_proxy::{Fault, FaultProxy};
pub use jwt::JwtSigner;
pub use kube_api::{
    ApiRequest, KubeApi, ServiceAccountIssuer, TokenOptions, configure_kubernetes_auth,
};
pub use otlp::{OtlpReceiver, ReceivedSpan, rotel_binary};
pub use pod_sandbox::{PodSandbox, SandboxProcess, SandboxRun};
pub use postgres::Postgres;
pub use recording_proxy::{RecordedRequest, RecordingProxy};
pub use util::{
    ChildGuard, TimedOutput, eventually, fixture, fixtures_dir, free_port, shared_dir,
    workspace_root,
};
