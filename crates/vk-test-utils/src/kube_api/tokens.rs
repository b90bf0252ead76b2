//! Service-account tokens: minting them (ES256 through the crate's one [`JwtSigner`]) and
//! verifying them the way the API server's authenticator does (signature, `iss`, `exp`/`nbf`
//! with 60 s leeway, audiences, `kubernetes.io` claims matching `sub`).

use std::time::Duration;

use anyhow::Result;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde_json::{Value, json};

use super::ids::{now_secs, random_uid, stable_uid};
use crate::jwt::JwtSigner;

/// The issuer and default audience of the tokens, as on a kubeadm cluster.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

const CLOCK_LEEWAY_SECS: i64 = 60;

/// Signs service-account tokens (ES256) with the claim set of a projected Kubernetes token.
pub struct ServiceAccountIssuer {
    signer: JwtSigner,
    kid: String,
    issuer: String,
    audiences: Vec<String>,
}

impl std::fmt::Debug for ServiceAccountIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountIssuer")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// What to put in a minted token beyond namespace and service account.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// Lifetime from now (negative durations are not representable: use `expired`).
    pub ttl: Duration,
    /// Make `exp` lie in the past (beyond the clock leeway).
    pub expired: bool,
    /// Make `nbf` lie in the future (beyond the clock leeway).
    pub not_yet_valid: bool,
    /// Audiences (`aud`); defaults to the issuer's audiences.
    pub audiences: Option<Vec<String>>,
    /// Override the `iss` claim.
    pub issuer: Option<String>,
    /// Bind the token to a pod of this name (default `<sa>-pod`).
    pub pod_name: Option<String>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            expired: false,
            not_yet_valid: false,
            audiences: None,
            issuer: None,
            pod_name: None,
        }
    }
}

impl ServiceAccountIssuer {
    /// A fresh P-256 key for issuer `issuer`, whose tokens carry `aud = [issuer]`.
    pub fn generate(issuer: &str) -> Result<Self> {
        let signer = JwtSigner::new();
        let kid = URL_SAFE_NO_PAD.encode(
            ring::digest::digest(&ring::digest::SHA256, signer.public_key_bytes()).as_ref(),
        );
        Ok(Self {
            signer,
            kid,
            issuer: issuer.to_string(),
            audiences: vec![issuer.to_string()],
        })
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `kid` header (base64url SHA-256 of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key in PEM (SubjectPublicKeyInfo), e.g. for OpenBao's `pem_keys`.
    pub fn public_pem(&self) -> &str {
        &self.signer.public_pem
    }

    pub(super) fn verifier(&self) -> Verifier {
        Verifier {
            public_key: self.signer.public_key_bytes().to_vec(),
            issuer: self.issuer.clone(),
            api_audiences: self.audiences.clone(),
        }
    }

    /// A token for `system:serviceaccount:<namespace>:<sa_name>` valid for `ttl`.
    pub fn mint(&self, namespace: &str, sa_name: &str, ttl: Duration) -> Result<String> {
        self.mint_with(
            namespace,
            sa_name,
            &TokenOptions {
                ttl,
                ..TokenOptions::default()
            },
        )
    }

    /// The uid the service account `namespace/name` has in tokens from this issuer.
    pub fn service_account_uid(&self, namespace: &str, sa_name: &str) -> String {
        stable_uid(&[&self.issuer, "serviceaccount", namespace, sa_name])
    }

    /// A token with full control over the claims.
    pub fn mint_with(&self, namespace: &str, sa_name: &str, opts: &TokenOptions) -> Result<String> {
        let now = now_secs();
        let ttl = opts.ttl.as_secs() as i64;
        let (iat, exp) = if opts.expired {
            (now - ttl - 7200, now - 3600)
        } else {
            (now, now + ttl)
        };
        let nbf = if opts.not_yet_valid { now + 3600 } else { iat };
        let pod_name = opts
            .pod_name
            .clone()
            .unwrap_or_else(|| format!("{sa_name}-pod"));
        let claims = json!({
            "aud": opts.audiences.clone().unwrap_or_else(|| self.audiences.clone()),
            "exp": exp,
            "iat": iat,
            "iss": opts.issuer.clone().unwrap_or_else(|| self.issuer.clone()),
            "jti": random_uid(),
            "kubernetes.io": {
                "namespace": namespace,
                "node": {"name": "node-1", "uid": stable_uid(&[&self.issuer, "node", "node-1"])},
                "pod": {"name": pod_name, "uid": stable_uid(&[&self.issuer, "pod", namespace, &pod_name])},
                "serviceaccount": {"name": sa_name, "uid": self.service_account_uid(namespace, sa_name)},
                "warnafter": iat + 3607.min(ttl),
            },
            "nbf": nbf,
            "sub": format!("system:serviceaccount:{namespace}:{sa_name}"),
        });
        Ok(self
            .signer
            .sign_with_header(&json!({"alg": "ES256", "kid": self.kid}), &claims))
    }
}

/// Checks tokens against one issuer key.
pub(super) struct Verifier {
    public_key: Vec<u8>,
    issuer: String,
    api_audiences: Vec<String>,
}

/// The identity a valid token proves.
pub(super) struct Identity {
    pub(super) namespace: String,
    pub(super) sa_name: String,
    pub(super) sa_uid: String,
    pub(super) pod: Option<(String, String)>,
    pub(super) audiences: Vec<String>,
}

impl Identity {
    /// `system:serviceaccount:<ns>:<name>`.
    pub(super) fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.sa_name)
    }
}

fn decode_json(part: &str) -> Option<Value> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// The `sub` claim of a token without verifying it (for the review log).
pub(super) fn unverified_subject(token: &str) -> Option<String> {
    token
        .split('.')
        .nth(1)
        .and_then(decode_json)
        .and_then(|c| c["sub"].as_str().map(String::from))
}

impl Verifier {
    /// The identity `token` proves for the `requested` audiences (empty: the API's own), or
    /// the authenticator's error text.
    pub(super) fn verify(&self, token: &str, requested: &[String]) -> Result<Identity, String> {
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err("invalid bearer token, token is not a compact JWS".into());
        };
        let header = decode_json(h).ok_or("invalid bearer token, malformed JWT header")?;
        if header["alg"] != "ES256" {
            return Err(format!(
                "invalid bearer token, unexpected signature algorithm {}",
                header["alg"]
            ));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "invalid bearer token, malformed signature")?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public_key)
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| "invalid bearer token, token signature is invalid".to_string())?;
        let claims = decode_json(p).ok_or("invalid bearer token, malformed JWT claims")?;
        if claims["iss"] != self.issuer.as_str() {
            return Err(format!(
                "invalid bearer token, token issuer {} is not trusted",
                claims["iss"]
            ));
        }
        let now = now_secs();
        let exp = claims["exp"]
            .as_i64()
            .ok_or("invalid bearer token, token has no exp claim")?;
        if now > exp + CLOCK_LEEWAY_SECS {
            return Err("invalid bearer token, token has expired".into());
        }
        if let Some(nbf) = claims["nbf"].as_i64()
            && now + CLOCK_LEEWAY_SECS < nbf
        {
            return Err("invalid bearer token, token is not valid yet".into());
        }
        let token_aud: Vec<String> = match &claims["aud"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let wanted = if requested.is_empty() {
            &self.api_audiences
        } else {
            requested
        };
        let audiences: Vec<String> = wanted
            .iter()
            .filter(|a| token_aud.contains(a))
            .cloned()
            .collect();
        if audiences.is_empty() {
            return Err(format!(
                "invalid bearer token, token audiences {token_aud:?} is invalid for the target audiences {wanted:?}"
            ));
        }
        let k = &claims["kubernetes.io"];
        let sub = claims["sub"].as_str().unwrap_or_default();
        let (namespace, sa_name) = sub
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .ok_or("invalid bearer token, subject is not a service account")?;
        if k["namespace"] != namespace.as_str() || k["serviceaccount"]["name"] != sa_name.as_str() {
            return Err("invalid bearer token, kubernetes.io claims do not match sub".into());
        }
        let pod = match (k["pod"]["name"].as_str(), k["pod"]["uid"].as_str()) {
            (Some(n), Some(u)) => Some((n.to_string(), u.to_string())),
            _ => None,
        };
        Ok(Identity {
            namespace,
            sa_name,
            sa_uid: k["serviceaccount"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            pod,
            audiences,
        })
    }
}
