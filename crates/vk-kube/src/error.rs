//! Errors of the Kubernetes edge; each names the call it comes from.

use std::time::Duration;

use crate::api::RequestError;
use crate::call::Call;
use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error(
        "loading the Kubernetes client configuration (KUBECONFIG, ~/.kube/config, or the in-cluster service account)"
    )]
    Config(#[source] ConfigError),
    #[error("loading kubeconfig {path}")]
    Kubeconfig {
        path: std::path::PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
    #[error("building the Kubernetes client from its configuration")]
    Client(#[source] vk_http::HttpError),
    #[error("{call}: forbidden; the injector's service account needs the RBAC rule {rule} (API server: {message})", rule = call.rbac_rule())]
    Forbidden { call: Call, message: String },
    #[error("{call}: not found")]
    NotFound { call: Call },
    #[error("{call}: conflict, the object was created or changed meanwhile ({message})")]
    Conflict { call: Call, message: String },
    #[error("{call}: the API server answered {code} {reason}: {message}")]
    Api {
        call: Call,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{call}: no answer within {timeout:?} ({attempts} attempts)")]
    Timeout {
        call: Call,
        timeout: Duration,
        attempts: u32,
    },
    #[error("{call}: cannot reach the API server ({attempts} attempts)")]
    Transport {
        call: Call,
        attempts: u32,
        #[source]
        source: RequestError,
    },
    #[error("{call}: {problem}")]
    Invalid { call: Call, problem: String },
}

impl KubeError {
    /// The call this error comes from, when it comes from one.
    pub fn call(&self) -> Option<&Call> {
        match self {
            Self::Config(_) | Self::Kubeconfig { .. } | Self::Client(_) => None,
            Self::Forbidden { call, .. }
            | Self::NotFound { call }
            | Self::Conflict { call, .. }
            | Self::Api { call, .. }
            | Self::Timeout { call, .. }
            | Self::Transport { call, .. }
            | Self::Invalid { call, .. } => Some(call),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Map a failed request of `call`; `Err` when it is transient and worth another attempt.
    pub(crate) fn classify(
        call: &Call,
        err: RequestError,
        attempts: u32,
    ) -> Result<Self, RequestError> {
        match err {
            RequestError::Status(status) => match status.code {
                403 => Ok(Self::Forbidden {
                    call: call.clone(),
                    message: status.message,
                }),
                404 => Ok(Self::NotFound { call: call.clone() }),
                409 => Ok(Self::Conflict {
                    call: call.clone(),
                    message: status.message,
                }),
                429 | 500..=599 => Err(RequestError::Status(status)),
                code => Ok(Self::Api {
                    call: call.clone(),
                    code,
                    reason: status.reason,
                    message: status.message,
                }),
            },
            RequestError::Http(_) => Err(err),
            other => Ok(Self::Transport {
                call: call.clone(),
                attempts,
                source: other,
            }),
        }
    }
}
