//! The one ES256 signer of the test suite: it signs test JWTs for OpenBao's `jwt` auth method
//! with `jwt_validation_pubkeys`, and the service-account tokens of `kube_api` (which adds a
//! `kid` header and verifies them in its TokenReview).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
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
        self.sign_with_header(&json!({"alg": "ES256", "typ": "JWT"}), claims)
    }

    /// A compact JWS with a caller-chosen header (which must say `"alg": "ES256"`).
    ///
    /// # Panics
    /// If signing fails (a broken crypto library, not a test condition).
    pub fn sign_with_header(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).expect("header JSON")),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims JSON"))
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("signing a JWT");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

impl JwtSigner {
    /// The public key as an uncompressed P-256 point (what `ring` verifies against).
    pub fn public_key_bytes(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }
}

impl Default for JwtSigner {
    fn default() -> Self {
        Self::new()
    }
}
