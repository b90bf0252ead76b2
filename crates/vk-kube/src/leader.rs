//! Leader election on a `coordination.k8s.io/v1` Lease, with client-go's timing model: the
//! holder renews every retry period; a candidate takes the Lease when it is free or when its
//! record has not changed for the lease duration (measured on the candidate's own clock, so
//! clock skew between nodes does not matter); writes are conditional on `resourceVersion`.
//! The holder steps down when it could not renew for the renew deadline, and on release
//! clears `holderIdentity` so a successor takes over at its next retry.

use std::time::{Duration, Instant, SystemTime};

use http::Method;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Body, path};
use crate::call::{Call, CallPolicy};
use crate::client::KubeClient;
use crate::error::KubeError;
use crate::objects::{Lease, LeaseSpec, ObjectMeta};

const GROUP: &str = "coordination.k8s.io";

/// Where the Lease lives, who we are and the timings (client-go defaults: 15 s, 10 s, 2 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaseSettings {
    /// Name of the Lease the injector replicas compete for.
    pub const DEFAULT_NAME: &'static str = "vault-k8s-injector-leader";
    pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
    pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
    pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

    pub fn with_defaults(namespace: &str, identity: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: Self::DEFAULT_NAME.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Self::DEFAULT_LEASE_DURATION,
            renew_deadline: Self::DEFAULT_RENEW_DEADLINE,
            retry_period: Self::DEFAULT_RETRY_PERIOD,
        }
    }
}

/// A running election; `is_leader` follows it.
#[derive(Debug)]
pub struct LeaderElector {
    leader: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl LeaderElector {
    pub fn spawn(client: KubeClient, settings: LeaseSettings) -> Self {
        let (leader_tx, leader) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        // One attempt per call: the election loop itself retries every retry period, and a
        // holder must notice within the renew deadline that it cannot renew.
        let timeout = (settings.renew_deadline / 2).max(Duration::from_millis(500));
        let client = client.with_policy(CallPolicy {
            timeout,
            attempts: 1,
            first_backoff: Duration::ZERO,
        });
        let election = Election {
            path: path(GROUP, "leases", Some(&settings.namespace), &settings.name),
            client,
            settings,
            observed: None,
            leader: leader_tx,
        };
        let task = tokio::spawn(election.run(stop_rx));
        Self { leader, stop, task }
    }

    /// `true` while this process holds the Lease.
    pub fn is_leader(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Stop competing; if we hold the Lease, give it up at once (holder cleared) so another
    /// replica takes over at its next retry instead of after the lease duration.
    pub async fn release(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            tracing::warn!("releasing the leader Lease took longer than 5s; giving up");
        }
    }
}

struct Election {
    client: KubeClient,
    /// The Lease's object path.
    path: String,
    settings: LeaseSettings,
    /// The last Lease version seen and when we first saw it (our monotonic clock).
    observed: Option<(String, Instant)>,
    leader: watch::Sender<bool>,
}

impl Election {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut last_renew: Option<Instant> = None;
        let mut last_error: Option<String> = None;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    last_renew = Some(Instant::now());
                    last_error = None;
                    self.set_leader(true);
                }
                Ok(false) => {
                    last_renew = None;
                    last_error = None;
                    self.set_leader(false);
                }
                Err(err) => {
                    let text = err.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        tracing::warn!("leader election: {text}");
                        last_error = Some(text);
                    }
                    if let Some(at) = last_renew
                        && at.elapsed() >= self.settings.renew_deadline
                    {
                        tracing::warn!(
                            "could not renew the leader Lease within the renew deadline ({:?}); stepping down",
                            self.settings.renew_deadline
                        );
                        last_renew = None;
                        self.set_leader(false);
                    }
                }
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(self.settings.retry_period) => {}
            }
        }
        let was_leader = *self.leader.borrow();
        self.set_leader(false);
        if was_leader {
            match self.release().await {
                Ok(()) => tracing::info!(lease = %self.settings.name, "released the leader Lease"),
                Err(err) => tracing::warn!("releasing the leader Lease: {err}"),
            }
        }
    }

    fn set_leader(&self, value: bool) {
        let changed = self.leader.send_if_modified(|current| {
            let changed = *current != value;
            *current = value;
            changed
        });
        if changed {
            let s = &self.settings;
            if value {
                tracing::info!(lease = %s.name, namespace = %s.namespace, identity = %s.identity, "became leader");
            } else {
                tracing::info!(lease = %s.name, namespace = %s.namespace, identity = %s.identity, "no longer leader");
            }
        }
    }

    fn call(&self, verb: &'static str) -> Call {
        Call::new(
            verb,
            "leases",
            GROUP,
            Some(&self.settings.namespace),
            &self.settings.name,
        )
    }

    fn our_spec(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let now = micro_time_now();
        let ours = previous.and_then(|p| p.holder_identity.as_deref())
            == Some(self.settings.identity.as_str());
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(secs(self.settings.lease_duration)),
            acquire_time: if ours {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if ours || previous.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            // Fields of newer API versions (e.g. preferredHolder, strategy) stay as they were.
            rest: previous.map(|p| p.rest.clone()).unwrap_or_default(),
        }
    }

    async fn get(&self) -> Result<Option<Lease>, KubeError> {
        self.client
            .run(self.call("get"), || {
                self.client.api.get_opt::<Lease>(&self.path)
            })
            .await
    }

    /// One round: `Ok(true)` when we hold the Lease after it.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, KubeError> {
        let Some(mut lease) = self.get().await? else {
            let lease = Lease {
                api_version: Some(format!("{GROUP}/v1")),
                kind: Some("Lease".to_owned()),
                metadata: ObjectMeta::named(&self.settings.name, &self.settings.namespace),
                spec: Some(self.our_spec(None)),
                ..Lease::default()
            };
            let collection = path(GROUP, "leases", Some(&self.settings.namespace), "");
            return self
                .write(self.call("create"), Method::POST, &collection, &lease)
                .await;
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let seen_at = match &self.observed {
            Some((v, at)) if *v == version => *at,
            _ => {
                let now = Instant::now();
                self.observed = Some((version, now));
                now
            }
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let ours = holder == Some(self.settings.identity.as_str());
        if !ours && holder.is_some() {
            let duration = spec
                .lease_duration_seconds
                .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))
                .unwrap_or(self.settings.lease_duration);
            if seen_at.elapsed() < duration {
                return Ok(false);
            }
            tracing::info!(
                previous = holder.unwrap_or_default(),
                "leader Lease expired; taking it over"
            );
        }
        lease.spec = Some(self.our_spec(Some(&spec)));
        let object = self.path.clone();
        self.write(self.call("update"), Method::PUT, &object, &lease)
            .await
    }

    /// A conditional write: a conflict means another candidate won this round.
    async fn write(
        &mut self,
        call: Call,
        method: Method,
        target: &str,
        lease: &Lease,
    ) -> Result<bool, KubeError> {
        match self.send(call, method, target, lease).await {
            Ok(written) => {
                if let Some(v) = written.metadata.resource_version {
                    self.observed = Some((v, Instant::now()));
                }
                Ok(true)
            }
            Err(err) if err.is_conflict() => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn send(
        &self,
        call: Call,
        method: Method,
        target: &str,
        lease: &Lease,
    ) -> Result<Lease, KubeError> {
        let body = serde_json::to_vec(lease).map_err(|e| KubeError::Invalid {
            call: call.clone(),
            problem: format!("encoding the Lease: {e}"),
        })?;
        self.client
            .run(call, || {
                self.client
                    .api
                    .call::<Lease>(method.clone(), target, Body::Json(body.clone()))
            })
            .await
    }

    async fn release(&self) -> Result<(), KubeError> {
        let Some(mut lease) = self.get().await? else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(micro_time_now());
        lease.spec = Some(spec);
        self.send(self.call("update"), Method::PUT, &self.path, &lease)
            .await?;
        Ok(())
    }
}

/// Now as `metav1.MicroTime` text (`2006-01-02T15:04:05.000000Z`).
fn micro_time_now() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    vk_go::UtcDateTime::from_unix(secs).rfc3339_micros(since_epoch.subsec_micros())
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}
