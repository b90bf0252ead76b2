//! A static ES256 key that signs test JWTs, for OpenBao's `jwt` auth method with
//! `jwt_validation_pubkeys` (the Kubernetes flavour with TokenReview is in `kube_api`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

/// A P-256 key; [`JwtSigner::public_pem`] goes to `jwt_validation_pubkeys`.
pub struct JwtSigner {
    key: EcdsaKeyPair,
    /// The public key in PEM (SubjectPublicKeyInfo).
    pub public_pem: String,
}

impl JwtSigner {
    /// A fresh key.
    ///
    /// # Panics
    /// If key generation fails (a broken crypto library, not a test condition).
    pub fn new() -> Self {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .expect("generating a P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &kp.serialize_der(),
            &SystemRandom::new(),
        )
        .expect("loading the generated P-256 key");
        Self {
            key,
            public_pem: kp.public_key_pem(),
        }
    }

    /// A compact JWS (`header.claims.signature`) over `claims`.
    ///
    /// # Panics
    /// If signing fails (a broken crypto library, not a test condition).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header JSON")),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims JSON"))
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("signing a JWT");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

impl Default for JwtSigner {
    fn default() -> Self {
        Self::new()
    }
}
