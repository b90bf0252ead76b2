//! Validation of the self-generated certificate mode (spec §5.4.1): `-tls-auto`,
//! `-tls-auto-hosts`, `-use-leader-elector`, `NAMESPACE`, `POD_NAME` and the documented knobs.

use std::time::Duration;

use vk_server::autotls::{AutoTlsError, AutoTlsHosts};

/// Environment knobs for the leader Lease timings (documented in docs/configuration.md).
pub const ENV_LEASE_DURATION: &str = "VK_LEADER_LEASE_DURATION";
pub const ENV_RENEW_DEADLINE: &str = "VK_LEADER_RENEW_DEADLINE";
pub const ENV_RETRY_PERIOD: &str = "VK_LEADER_RETRY_PERIOD";
/// Test-only knobs that shorten certificate lifetimes so rotation can be exercised.
pub const ENV_TEST_CA_LIFETIME: &str = "VK_TEST_AUTO_TLS_CA_LIFETIME";
pub const ENV_TEST_LEAF_LIFETIME: &str = "VK_TEST_AUTO_TLS_LEAF_LIFETIME";

/// Self-generated certificates, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoTlsConfig {
    /// `-tls-auto`: the MutatingWebhookConfiguration whose entries get the CA bundle; `None`
    /// when empty (certificates are generated but nothing is published).
    pub webhook_config: Option<String>,
    /// `-tls-auto-hosts`, parsed (IP or DNS SANs); never empty.
    pub hosts: AutoTlsHosts,
    /// `NAMESPACE` (default `default`): where the Lease and the certificate Secret live.
    pub namespace: String,
    /// `Some` with `-use-leader-elector`.
    pub leader: Option<LeaderConfig>,
    /// Test-only lifetime overrides; `None` = the production defaults.
    pub ca_lifetime: Option<Duration>,
    pub leaf_lifetime: Option<Duration>,
}

/// Leader election settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderConfig {
    /// `POD_NAME`: our identity in the Lease.
    pub pod_name: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// A bad auto-TLS setting; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum AutoTlsConfigError {
    #[error("AGENT_INJECT_TLS_AUTO_HOSTS / -tls-auto-hosts")]
    Hosts(#[source] AutoTlsError),
    #[error(
        "POD_NAME is not set; -use-leader-elector (AGENT_INJECT_USE_LEADER_ELECTOR) needs the pod's own name, \
         e.g. env POD_NAME from the downward API (valueFrom.fieldRef.fieldPath: metadata.name)"
    )]
    NoPodName,
    #[error("{name}={value:?} is not a duration like 500ms, 2s or 1h")]
    BadDuration { name: &'static str, value: String },
    #[error(
        "leader election timings must satisfy {ENV_RETRY_PERIOD} < {ENV_RENEW_DEADLINE} < {ENV_LEASE_DURATION} \
         (got {retry:?}, {renew:?}, {lease:?})"
    )]
    LeaseTimings {
        retry: Duration,
        renew: Duration,
        lease: Duration,
    },
}

impl AutoTlsConfig {
    pub(crate) fn resolve(
        tls_auto: &str,
        hosts: &str,
        use_leader_elector: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AutoTlsConfigError> {
        let hosts = AutoTlsHosts::parse(hosts).map_err(AutoTlsConfigError::Hosts)?;
        let namespace = env("NAMESPACE")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let leader = if use_leader_elector {
            let pod_name = env("POD_NAME")
                .filter(|v| !v.is_empty())
                .ok_or(AutoTlsConfigError::NoPodName)?;
            let knob = |name, default| env_duration(env, name).map(|d| d.unwrap_or(default));
            let lease_duration = knob(ENV_LEASE_DURATION, Duration::from_secs(15))?;
            let renew_deadline = knob(ENV_RENEW_DEADLINE, Duration::from_secs(10))?;
            let retry_period = knob(ENV_RETRY_PERIOD, Duration::from_secs(2))?;
            if !(retry_period < renew_deadline && renew_deadline < lease_duration) {
                return Err(AutoTlsConfigError::LeaseTimings {
                    retry: retry_period,
                    renew: renew_deadline,
                    lease: lease_duration,
                });
            }
            Some(LeaderConfig {
                pod_name,
                lease_duration,
                renew_deadline,
                retry_period,
            })
        } else {
            None
        };
        Ok(Self {
            webhook_config: Some(tls_auto.to_owned()).filter(|s| !s.is_empty()),
            hosts,
            namespace,
            leader,
            ca_lifetime: env_duration(env, ENV_TEST_CA_LIFETIME)?,
            leaf_lifetime: env_duration(env, ENV_TEST_LEAF_LIFETIME)?,
        })
    }
}

fn env_duration(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Duration>, AutoTlsConfigError> {
    let Some(value) = env(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    // A Go duration, as client-go's flags for these timings take.
    vk_go::parse_std_duration(&value)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or(AutoTlsConfigError::BadDuration { name, value })
}
