//! The client and the one place where calls get their timeout and retries.

use std::future::Future;

use crate::api::{ApiClient, RequestError};
use crate::call::{Call, CallPolicy};
use crate::config::ClusterConfig;
use crate::error::KubeError;

/// A Kubernetes API client; cheap to clone.
#[derive(Clone)]
pub struct KubeClient {
    pub(crate) api: ApiClient,
    pub(crate) policy: CallPolicy,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl KubeClient {
    /// A client configured as `kubectl` finds its configuration: `KUBECONFIG` (its files
    /// merged), else `~/.kube/config` when it exists, else the in-cluster service account.
    pub async fn infer(user_agent: &str) -> Result<Self, KubeError> {
        let config = crate::config::infer().map_err(KubeError::Config)?;
        Self::from_config(config, user_agent)
    }

    /// A client from a kubeconfig file (its current context), e.g. for tools and tests that
    /// must not touch the process environment.
    pub async fn from_kubeconfig(
        path: &std::path::Path,
        user_agent: &str,
    ) -> Result<Self, KubeError> {
        let config =
            crate::config::from_kubeconfig(path).map_err(|source| KubeError::Kubeconfig {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
        Self::from_config(config, user_agent)
    }

    pub(crate) fn from_config(config: ClusterConfig, user_agent: &str) -> Result<Self, KubeError> {
        let api = ApiClient::new(config, user_agent).map_err(KubeError::Client)?;
        Ok(Self {
            api,
            policy: CallPolicy::STANDARD,
        })
    }

    /// The same client with another timeout/retry policy.
    pub fn with_policy(&self, policy: CallPolicy) -> Self {
        Self {
            api: self.api.clone(),
            policy,
        }
    }

    /// Run `attempt` under the policy: a timeout per attempt, retries with doubling backoff on
    /// transient failures (transport errors, 429, 5xx, timeouts); other errors are final.
    pub(crate) async fn run<T, F, Fut>(&self, call: Call, mut attempt: F) -> Result<T, KubeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let policy = self.policy;
        let attempts = policy.attempts.max(1);
        let mut last: Option<RequestError> = None;
        for n in 0..attempts {
            if n > 0 {
                tokio::time::sleep(policy.backoff(n - 1)).await;
            }
            match tokio::time::timeout(policy.timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => match KubeError::classify(&call, err, n + 1) {
                    Ok(final_error) => return Err(final_error),
                    Err(transient) => {
                        tracing::debug!(%call, error = %transient, attempt = n + 1, "transient Kubernetes API error");
                        last = Some(transient);
                    }
                },
                Err(_elapsed) => {
                    tracing::debug!(%call, attempt = n + 1, "Kubernetes API call timed out");
                    last = None;
                }
            }
        }
        Err(match last {
            Some(RequestError::Status(status)) => KubeError::Api {
                call,
                code: status.code,
                reason: status.reason,
                message: status.message,
            },
            Some(source) => KubeError::Transport {
                call,
                attempts,
                source,
            },
            None => KubeError::Timeout {
                call,
                timeout: policy.timeout,
                attempts,
            },
        })
    }
}
