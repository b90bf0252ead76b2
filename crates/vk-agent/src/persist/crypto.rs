//! Sealing of the persistent cache (AES-256-GCM from `ring`).
//!
//! File layout: `MAGIC` (8 bytes) ‖ version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag
//! (16 bytes). The header is the AEAD's associated data, so a changed header, a truncated or
//! altered file, or another key all fail to open. The nonce is random per write (a key seals
//! at most a few thousand snapshots in a pod's life, far from the random-nonce limit).

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// First bytes of a cache file.
pub(crate) const MAGIC: &[u8; 8] = b"VKAGENTC";
/// Format version after the magic.
pub(crate) const VERSION: u8 = 1;
/// Key length in bytes (the key file holds exactly this many raw bytes).
pub(crate) const KEY_LEN: usize = 32;
const HEADER_LEN: usize = MAGIC.len() + 1;

/// Why a cache file could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("not a vault-k8s agent cache file (bad header)")]
    BadHeader,
    #[error("unsupported cache format version {0}")]
    Version(u8),
    #[error("file is truncated")]
    Truncated,
    #[error("decryption failed (the file was altered or was sealed with another key)")]
    Decrypt,
}

/// The system random source failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random number generator failed")]
pub(crate) struct RandomError;

/// A cache key. Not `Debug`: it is never printed.
pub(crate) struct Key([u8; KEY_LEN]);

impl Key {
    /// A fresh random key.
    pub(crate) fn generate() -> Result<Self, RandomError> {
        let mut k = [0u8; KEY_LEN];
        SystemRandom::new().fill(&mut k).map_err(|_| RandomError)?;
        Ok(Self(k))
    }

    /// A key from a key file's bytes; `None` unless exactly [`KEY_LEN`] bytes.
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Self> {
        <[u8; KEY_LEN]>::try_from(b).ok().map(Self)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn aead(&self) -> LessSafeKey {
        // Infallible: the length is AES-256's.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("32-byte AES-256 key"))
    }

    /// Encrypts `plaintext` into the file layout.
    pub(crate) fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, RandomError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| RandomError)?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        let mut body = plaintext.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&header),
                &mut body,
            )
            .map_err(|_| RandomError)?;
        let mut out = header;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a file's bytes.
    pub(crate) fn open(&self, file: &[u8]) -> Result<Vec<u8>, OpenError> {
        if file.len() < HEADER_LEN {
            return Err(OpenError::Truncated);
        }
        let (header, rest) = file.split_at(HEADER_LEN);
        if &header[..MAGIC.len()] != MAGIC {
            return Err(OpenError::BadHeader);
        }
        if header[MAGIC.len()] != VERSION {
            return Err(OpenError::Version(header[MAGIC.len()]));
        }
        if rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(OpenError::Truncated);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Truncated)?;
        let mut buf = sealed.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(header), &mut buf)
            .map_err(|_| OpenError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let k = Key::generate().unwrap();
        let sealed = k.seal(b"hello secret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(k.open(&sealed).unwrap(), b"hello secret");
        // Two seals of the same text differ (random nonce).
        assert_ne!(k.seal(b"hello secret").unwrap(), sealed);

        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(k.open(&flipped), Err(OpenError::Decrypt));
        let mut header = sealed.clone();
        header[8] = 9;
        assert_eq!(k.open(&header), Err(OpenError::Version(9)));
        assert_eq!(k.open(b"garbage!!"), Err(OpenError::BadHeader));
        assert_eq!(k.open(&sealed[..20]), Err(OpenError::Truncated));
        let other = Key::generate().unwrap();
        assert_eq!(other.open(&sealed), Err(OpenError::Decrypt));
        assert!(Key::from_bytes(&[0; 31]).is_none());
        assert!(Key::from_bytes(k.bytes()).is_some());
    }
}
