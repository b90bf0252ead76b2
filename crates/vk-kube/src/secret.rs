//! The certificate Secret shared by the replicas: upstream's `vault-injector-certs` with its keys
//! `cert` and `key`, plus ours (`ca-cert`, `ca-key`, `ca-bundle`) so a new leader keeps the CA.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use tokio::sync::watch;

use crate::call::Call;
use crate::client::KubeClient;
use crate::error::KubeError;

/// Upstream's name for the shared certificate Secret.
pub const CERT_SECRET_NAME: &str = "vault-injector-certs";

const KEY_CERT: &str = "cert";
const KEY_KEY: &str = "key";
const KEY_CA_CERT: &str = "ca-cert";
const KEY_CA_KEY: &str = "ca-key";
const KEY_CA_BUNDLE: &str = "ca-bundle";

/// How long one watch request runs before it is re-issued.
const WATCH_SECONDS: u32 = 240;

/// The contents of the certificate Secret. Upstream writes only `cert` and `key`.
#[derive(Clone, PartialEq, Eq)]
pub struct CertSecret {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_cert_pem: Option<String>,
    pub ca_key_pem: Option<String>,
    pub ca_bundle_pem: Option<String>,
}

impl std::fmt::Debug for CertSecret {
    // Never print private keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertSecret")
            .field("cert_pem_len", &self.cert_pem.len())
            .field("has_ca_cert", &self.ca_cert_pem.is_some())
            .field("has_ca_key", &self.ca_key_pem.is_some())
            .field("has_ca_bundle", &self.ca_bundle_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl CertSecret {
    fn from_secret(secret: &Secret) -> Result<Self, String> {
        let empty = BTreeMap::new();
        let data = secret.data.as_ref().unwrap_or(&empty);
        let text = |key: &str| -> Result<Option<String>, String> {
            match data.get(key) {
                None => Ok(None),
                Some(ByteString(bytes)) if bytes.is_empty() => Ok(None),
                Some(ByteString(bytes)) => String::from_utf8(bytes.clone())
                    .map(Some)
                    .map_err(|_| format!("data.{key} is not UTF-8 PEM text")),
            }
        };
        let required = |key: &str| -> Result<String, String> {
            text(key)?.ok_or_else(|| format!("data.{key} is missing or empty"))
        };
        Ok(Self {
            cert_pem: required(KEY_CERT)?,
            key_pem: required(KEY_KEY)?,
            ca_cert_pem: text(KEY_CA_CERT)?,
            ca_key_pem: text(KEY_CA_KEY)?,
            ca_bundle_pem: text(KEY_CA_BUNDLE)?,
        })
    }

    fn to_data(&self) -> BTreeMap<String, ByteString> {
        let mut data = BTreeMap::new();
        let mut put = |key: &str, value: &str| {
            data.insert(key.to_owned(), ByteString(value.as_bytes().to_vec()));
        };
        put(KEY_CERT, &self.cert_pem);
        put(KEY_KEY, &self.key_pem);
        for (key, value) in [
            (KEY_CA_CERT, &self.ca_cert_pem),
            (KEY_CA_KEY, &self.ca_key_pem),
            (KEY_CA_BUNDLE, &self.ca_bundle_pem),
        ] {
            if let Some(value) = value {
                put(key, value);
            }
        }
        data
    }
}

impl KubeClient {
    /// The Secret's certificate data; `Ok(None)` when the Secret does not exist.
    pub async fn read_cert_secret(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<CertSecret>, KubeError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let call = Call::new("get", "secrets", "", Some(ns), name);
        let Some(secret) = self.run(call.clone(), || api.get_opt(name)).await? else {
            return Ok(None);
        };
        CertSecret::from_secret(&secret)
            .map(Some)
            .map_err(|problem| KubeError::Invalid { call, problem })
    }

    /// Create the Secret, or replace its `data` (labels and annotations are kept). The update is
    /// conditional on the version read, so a concurrent writer yields [`KubeError::Conflict`].
    pub async fn write_cert_secret(
        &self,
        ns: &str,
        name: &str,
        contents: &CertSecret,
    ) -> Result<(), KubeError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let existing = self
            .run(Call::new("get", "secrets", "", Some(ns), name), || {
                api.get_opt(name)
            })
            .await?;
        let pp = PostParams::default();
        match existing {
            None => {
                let secret = Secret {
                    metadata: kube::api::ObjectMeta {
                        name: Some(name.to_owned()),
                        namespace: Some(ns.to_owned()),
                        ..Default::default()
                    },
                    data: Some(contents.to_data()),
                    ..Default::default()
                };
                self.run(Call::new("create", "secrets", "", Some(ns), name), || {
                    api.create(&pp, &secret)
                })
                .await?;
            }
            Some(mut secret) => {
                secret.data = Some(contents.to_data());
                secret.string_data = None;
                self.run(Call::new("update", "secrets", "", Some(ns), name), || {
                    api.replace(name, &pp, &secret)
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Follow the Secret: list, then watch from the list's version; re-list when the watch ends
    /// or its version is gone (410). The receiver holds `None` while the Secret is absent or
    /// unusable (logged). The task stops when every receiver is dropped.
    pub fn watch_cert_secret(&self, ns: &str, name: &str) -> watch::Receiver<Option<CertSecret>> {
        let (tx, rx) = watch::channel(None);
        let client = self.clone();
        let (ns, name) = (ns.to_owned(), name.to_owned());
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    result = client.follow_secret_once(&ns, &name, &tx) => match result {
                        Ok(()) => failures = 0,
                        Err(err) => {
                            failures += 1;
                            tracing::warn!("watching the certificate Secret: {err}");
                        }
                    },
                }
                let wait = Duration::from_millis(500 * u64::from(failures.min(10)));
                tokio::time::sleep(wait).await;
            }
        });
        rx
    }

    async fn follow_secret_once(
        &self,
        ns: &str,
        name: &str,
        tx: &watch::Sender<Option<CertSecret>>,
    ) -> Result<(), KubeError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let selector = format!("metadata.name={name}");
        let call = Call::new("list", "secrets", "", Some(ns), name);
        let list_params = ListParams::default().fields(&selector);
        let list = self.run(call.clone(), || api.list(&list_params)).await?;
        publish(tx, list.items.first(), name);
        let mut version = list.metadata.resource_version.unwrap_or_default();
        let call = Call::new("watch", "secrets", "", Some(ns), name);
        let params = WatchParams::default()
            .fields(&selector)
            .timeout(WATCH_SECONDS);
        let stream = self
            .run(call.clone(), || api.watch(&params, &version))
            .await?;
        let mut stream = std::pin::pin!(stream);
        let idle = Duration::from_secs(u64::from(WATCH_SECONDS) + 30);
        loop {
            let next = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(next)) => next,
                // Ended (timeoutSeconds) or silent for too long: re-list.
                Ok(None) | Err(_) => return Ok(()),
            };
            match next {
                Ok(WatchEvent::Added(s) | WatchEvent::Modified(s)) => {
                    version = s.metadata.resource_version.clone().unwrap_or(version);
                    publish(tx, Some(&s), name);
                }
                Ok(WatchEvent::Deleted(_)) => {
                    tracing::warn!("certificate Secret {ns}/{name} was deleted");
                    tx.send_replace(None);
                }
                Ok(WatchEvent::Bookmark(_)) => {}
                Ok(WatchEvent::Error(status)) if status.code == 410 => return Ok(()),
                Ok(WatchEvent::Error(status)) => {
                    return Err(KubeError::Api {
                        call,
                        code: status.code,
                        reason: status.reason.clone(),
                        message: status.message.clone(),
                    });
                }
                Err(err) => {
                    return Err(KubeError::classify(&call, err, 1).unwrap_or_else(|source| {
                        KubeError::Transport {
                            call: call.clone(),
                            attempts: 1,
                            source,
                        }
                    }));
                }
            }
        }
    }
}

fn publish(tx: &watch::Sender<Option<CertSecret>>, secret: Option<&Secret>, name: &str) {
    let value = match secret.map(CertSecret::from_secret) {
        None => None,
        Some(Ok(contents)) => Some(contents),
        Some(Err(problem)) => {
            tracing::warn!("certificate Secret {name} cannot be served: {problem}");
            None
        }
    };
    tx.send_if_modified(|current| {
        if *current == value {
            false
        } else {
            *current = value;
            true
        }
    });
}
