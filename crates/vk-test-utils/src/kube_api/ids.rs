//! Identifiers and timestamps the API server puts on objects and tokens.

use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(super) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `now` as RFC 3339 in UTC with second precision (`2026-01-02T03:04:05Z`), the format of
/// `metadata.creationTimestamp`.
pub(super) fn rfc3339_now() -> String {
    rfc3339(now_secs())
}

fn rfc3339(secs: i64) -> String {
    vk_go::UtcDateTime::from_unix(secs).rfc3339()
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(b"\0");
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn uuid_shape(h: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A UUID-shaped id derived from `parts` (stable: the same service account keeps its uid).
pub(super) fn stable_uid(parts: &[&str]) -> String {
    uuid_shape(&sha256_hex(parts))
}

/// A random UUID-shaped id.
pub(super) fn random_uid() -> String {
    let mut b = [0u8; 16];
    // SystemRandom only fails when the OS has no randomness; fall back to the clock then.
    if SystemRandom::new().fill(&mut b).is_err() {
        return stable_uid(&[&format!("{:?}", SystemTime::now())]);
    }
    uuid_shape(&hex(&b))
}

/// Five random lower-case alphanumerics, the suffix `metadata.generateName` gets.
pub(super) fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = [0u8; 5];
    let _ = SystemRandom::new().fill(&mut b);
    b.iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn uids_are_uuid_shaped() {
        let a = random_uid();
        assert_eq!(a.len(), 36);
        assert_ne!(a, random_uid());
        assert_eq!(stable_uid(&["x"]), stable_uid(&["x"]));
        assert_eq!(random_suffix().len(), 5);
    }
}
