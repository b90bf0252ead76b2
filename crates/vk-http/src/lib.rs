//! The HTTP client of the binary's outgoing calls: the agent's Vault client, the OTLP trace
//! exporter and the injector's Kubernetes API client (`vk-kube`), so the static binary carries
//! one HTTP client stack (hyper-util and hyper-rustls).
//!
//! * [`HttpClient`]: one connection pool; a whole exchange (request, answer, body) is bounded
//!   by one timeout; HTTP/1.1, or HTTP/2 only (prior knowledge on `http://`, ALPN `h2` on
//!   `https://`) for gRPC; [`HttpClient::send_streaming`] hands over a body still arriving
//!   (a Kubernetes watch).
//! * Proxies ([`ProxySetting`]): `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and
//!   their lower-case forms) as curl and Go's client read them: `https://` destinations go
//!   through an HTTP `CONNECT` tunnel, `http://` ones are sent to the proxy in absolute form;
//!   `localhost` and loopback addresses are always reached directly, as Go's client does.
//! * [`system_roots_verifier`]: the system trust store, read at the first TLS handshake
//!   rather than when a client is built, and [`accept_any_verifier`] for `tls_skip_verify`.
//!
//! The crate never selects a rustls crypto provider: callers pass the one the binary installs.

mod client;
mod proxy;
mod roots;
mod server_name;
mod stream;

pub use client::{Answer, HttpClient, HttpClientOptions, HttpError, ProxySetting};
pub use hyper_util::client::proxy::matcher::Matcher as ProxyMatcher;
pub use roots::{accept_any_verifier, system_roots_verifier};
pub use server_name::fixed_name_verifier;
pub use stream::StreamingAnswer;
