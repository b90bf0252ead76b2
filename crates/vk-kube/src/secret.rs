//! The certificate Secret shared by the replicas: upstream's `vault-injector-certs` with its keys
//! `cert` and `key`, plus ours (`ca-cert`, `ca-key`, `ca-bundle`) so a new leader keeps the CA.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use tokio::sync::watch;

use crate::api::{Body, RequestError, encode, path};
use crate::call::Call;
use crate::client::KubeClient;
use crate::error::KubeError;
use crate::objects::{Base64, ObjectList, ObjectMeta, Secret};
use crate::watch::WatchEvent;

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
                Some(Base64(bytes)) if bytes.is_empty() => Ok(None),
                Some(Base64(bytes)) => String::from_utf8(bytes.clone())
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

    fn to_data(&self) -> BTreeMap<String, Base64> {
        let mut data = BTreeMap::new();
        let mut put = |key: &str, value: &str| {
            data.insert(key.to_owned(), Base64(value.as_bytes().to_vec()));
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
        let call = Call::new("get", "secrets", "", Some(ns), name);
        let at = path("", "secrets", Some(ns), name);
        let Some(secret) = self
            .run(call.clone(), || self.api.get_opt::<Secret>(&at))
            .await?
        else {
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
        let at = path("", "secrets", Some(ns), name);
        let existing = self
            .run(Call::new("get", "secrets", "", Some(ns), name), || {
                self.api.get_opt::<Secret>(&at)
            })
            .await?;
        let (call, method, target, secret) = match existing {
            None => (
                Call::new("create", "secrets", "", Some(ns), name),
                Method::POST,
                path("", "secrets", Some(ns), ""),
                Secret {
                    api_version: Some("v1".to_owned()),
                    kind: Some("Secret".to_owned()),
                    metadata: ObjectMeta::named(name, ns),
                    data: Some(contents.to_data()),
                    ..Secret::default()
                },
            ),
            Some(mut secret) => {
                secret.data = Some(contents.to_data());
                secret.string_data = None;
                (
                    Call::new("update", "secrets", "", Some(ns), name),
                    Method::PUT,
                    at.clone(),
                    secret,
                )
            }
        };
        let body = serde_json::to_vec(&secret).map_err(|e| KubeError::Invalid {
            call: call.clone(),
            problem: format!("encoding the Secret: {e}"),
        })?;
        self.run(call, || {
            self.api
                .call::<Secret>(method.clone(), &target, Body::Json(body.clone()))
        })
        .await?;
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
        let selector = encode(&format!("metadata.name={name}"));
        let collection = path("", "secrets", Some(ns), "");
        let call = Call::new("list", "secrets", "", Some(ns), name);
        let list_path = format!("{collection}?fieldSelector={selector}");
        let list = self
            .run(call.clone(), || {
                self.api
                    .call::<ObjectList<Secret>>(Method::GET, &list_path, Body::Empty)
            })
            .await?;
        publish(tx, list.items.first(), name);
        let call = Call::new("watch", "secrets", "", Some(ns), name);
        let mut watch_path = format!(
            "{collection}?watch=true&fieldSelector={selector}&timeoutSeconds={WATCH_SECONDS}&allowWatchBookmarks=true"
        );
        // Bookmarks are not kept for their version (a watch that ends re-lists); they keep a
        // quiet watch from looking idle, to proxies and to the idle timeout below.
        if let Some(version) = list.metadata.resource_version.filter(|v| !v.is_empty()) {
            watch_path.push_str("&resourceVersion=");
            watch_path.push_str(&encode(&version));
        }
        let mut stream = self
            .run(call.clone(), || self.api.watch::<Secret>(&watch_path))
            .await?;
        let idle = Duration::from_secs(u64::from(WATCH_SECONDS) + 30);
        loop {
            let next = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(next)) => next,
                // Ended (timeoutSeconds) or silent for too long: re-list.
                Ok(None) | Err(_) => return Ok(()),
            };
            match next {
                Ok(WatchEvent::Added(s) | WatchEvent::Modified(s)) => publish(tx, Some(&s), name),
                Ok(WatchEvent::Deleted(_)) => {
                    tracing::warn!("certificate Secret {ns}/{name} was deleted");
                    tx.send_replace(None);
                }
                Ok(WatchEvent::Bookmark) => {}
                Ok(WatchEvent::Error(status)) if status.code == 410 => return Ok(()),
                Ok(WatchEvent::Error(status)) => {
                    return Err(watch_failure(&call, RequestError::Status(status)));
                }
                Err(err) => return Err(watch_failure(&call, err)),
            }
        }
    }
}

/// A watch that failed, by the same rules as any call (a 403 names the missing RBAC rule);
/// there is no retry inside a watch, so a transient status is final here too.
fn watch_failure(call: &Call, err: RequestError) -> KubeError {
    KubeError::classify(call, err, 1).unwrap_or_else(|err| match err {
        RequestError::Status(status) => KubeError::Api {
            call: call.clone(),
            code: status.code,
            reason: status.reason,
            message: status.message,
        },
        source => KubeError::Transport {
            call: call.clone(),
            attempts: 1,
            source,
        },
    })
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
