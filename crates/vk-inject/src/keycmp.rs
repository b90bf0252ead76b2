//! Equality and order of annotation keys, eight bytes per step.
//!
//! Every known key starts with the same 20 bytes (`vault.hashicorp.com/`), and an admission
//! compares keys a few hundred times (key-table hits, the sorted pod annotations' binary
//! search). Slice `==` and `cmp` call `bcmp`/`memcmp`, which the static musl build (the
//! image's binary) implements one byte per step: those calls were about 15 % of the webhook's
//! instructions per admission. Whole words keep the comparisons inline and short on any libc.

use std::cmp::Ordering;

/// The eight bytes of `a` from `at` as one word, big-endian so that words order as their bytes.
fn word(a: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&a[at..at + 8]);
    u64::from_be_bytes(w)
}

/// Up to seven bytes, zero-padded to a word (exact for two slices of equal length). Shifted in
/// one by one: a copy of a variable length would be a `memcpy` call. Only keys shorter than a
/// word take this path.
fn short_word(short: &[u8]) -> u64 {
    short
        .iter()
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (56 - 8 * i))
}

/// The index of the first word of `a[..n]` and `b[..n]` that differs, read from the front in
/// whole words and ending on the word that holds the last byte (overlapping the one before it,
/// so that no byte-wise tail loop is needed); `None` when the first `n` bytes are equal.
/// `n` must be at least eight.
fn first_difference(a: &[u8], b: &[u8], n: usize) -> Option<(u64, u64)> {
    let mut at = 0;
    while at + 8 < n {
        let (p, q) = (word(a, at), word(b, at));
        if p != q {
            return Some((p, q));
        }
        at += 8;
    }
    // Bytes already compared equal lead the overlapping word, so it orders as the rest does.
    let (p, q) = (word(a, n - 8), word(b, n - 8));
    (p != q).then_some((p, q))
}

/// `a == b`.
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return short_word(a) == short_word(b);
    }
    first_difference(a, b, a.len()).is_none()
}

/// `a.cmp(b)`: byte-wise lexicographic order, a prefix first.
pub(crate) fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let common = if n < 8 {
        short_word(&a[..n]).cmp(&short_word(&b[..n]))
    } else {
        first_difference(a, b, n).map_or(Ordering::Equal, |(p, q)| p.cmp(&q))
    };
    common.then(a.len().cmp(&b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_slice_comparison_on_every_pair() {
        let words: Vec<Vec<u8>> = [
            "",
            "a",
            "b",
            "ab",
            "abc",
            "vault.hashicorp.com/",
            "vault.hashicorp.com/role",
            "vault.hashicorp.com/rolf",
            "vault.hashicorp.com/role-",
            "vault.hashicorp.com/rol",
            "vault.hashicorp.com/agent-inject-secret-db",
            "vault.hashicorp.com/agent-inject-secret-dc",
            "vault.hashicorp.com/agent-inject-secret-d",
            "12345678",
            "123456789",
            "1234567",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            vec![0u8],
            vec![0u8, 0],
            vec![0xff; 9],
            vec![0xff, 0, 0xff],
            vec![0x80; 16],
        ])
        .collect();
        for a in &words {
            for b in &words {
                assert_eq!(eq(a, b), a == b, "{a:?} == {b:?}");
                assert_eq!(cmp(a, b), a.cmp(b), "{a:?} cmp {b:?}");
            }
        }
    }

    #[test]
    fn a_difference_at_any_offset_is_seen() {
        let full: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        // Every length, so that the overlapping last word and the short path are both covered.
        for len in 0..=full.len() {
            let base = &full[..len];
            assert!(eq(base, &full[..len]), "length {len}");
            for i in 0..len {
                for delta in [1u8, 0x80] {
                    let mut other = base.to_vec();
                    other[i] = other[i].wrapping_add(delta);
                    assert!(!eq(base, &other), "length {len}, offset {i}");
                    assert_eq!(
                        cmp(base, &other),
                        base.cmp(&other),
                        "length {len}, offset {i}"
                    );
                    assert_eq!(
                        cmp(&other, base),
                        other.as_slice().cmp(base),
                        "length {len}, offset {i}"
                    );
                }
                assert_eq!(cmp(&base[..i], base), Ordering::Less);
            }
        }
    }
}
