//! The Vault/OpenBao HTTP API edge of the `vault-k8s agent`.
//!
//! * [`VaultClient`]: configured from [`ClientConfig`] (the agent's `vault { }` block); the
//!   token is swapped by the auth loop with [`VaultClient::set_token`].
//! * Auth ([`AuthMethod`], [`VaultClient::login`]), the token lifecycle
//!   ([`VaultClient::lookup_self`], [`VaultClient::renew_self`], [`VaultClient::revoke_self`])
//!   and logical calls ([`VaultClient::read`], [`VaultClient::write`], [`VaultClient::list`],
//!   lease renew/revoke) are plain requests on one `vk-http` client (hyper-util +
//!   hyper-rustls, the stack kube already links); bodies are kept verbatim ([`RawResponse`]).
//! * KV v2 handling of the agent's template functions ([`VaultClient::read_secret`],
//!   [`VaultClient::write_secret`], [`VaultClient::list_secrets`], [`kv`] shims).
//! * Errors ([`VaultError`]) carry the HTTP status and Vault's `errors`, and classify themselves
//!   for retry logic ([`ErrorClass`]).
//!
//! The crate never selects a rustls crypto provider: the binary installs ring first.

mod address;
mod auth;
mod client;
mod config;
mod error;
mod forward;
pub mod kv;
mod observe;
mod response;
mod secret;

pub use auth::{AuthMethod, AuthResult, TokenInfo, read_credential_file};
pub use client::VaultClient;
pub use config::{ClientConfig, PemSource};
pub use error::{BoxError, ErrorClass, VaultError, is_transient_status};
pub use forward::{ForwardRequest, ForwardResponse};
pub use kv::{MountInfo, SecretRead, shim_list_path, shim_read_path, shim_write_data};
pub use observe::{RequestObserver, StatusClass};
pub use response::{Envelope, RawResponse};
pub use secret::SecretString;
