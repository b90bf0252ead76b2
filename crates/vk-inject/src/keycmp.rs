//! Equality and order of annotation keys, eight bytes per step.
//!
//! Every known key starts with the same 20 bytes (`vault.hashicorp.com/`), and an admission
//! compares keys a few hundred times (key-table hits, the sorted pod annotations' binary
//! search). Slice `==` and `cmp` call `bcmp`/`memcmp`, which the static musl build (the
//! image's binary) implements one byte per step: those calls were about 15 % of the webhook's
//! instructions per admission. Whole words keep the comparisons inline and short on any libc.

use std::cmp::Ordering;

/// The eight bytes at the start of `chunk` (exactly eight long) as one word.
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_be_bytes(w)
}

/// Up to seven trailing bytes, zero-padded to a word (exact for two tails of equal length).
/// Shifted in one by one: a copy of a variable length would be a `memcpy` call.
fn tail_word(tail: &[u8]) -> u64 {
    tail.iter()
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (56 - 8 * i))
}

/// `a == b`.
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    tail_word(x.remainder()) == tail_word(y.remainder())
}

/// `a.cmp(b)`: byte-wise lexicographic order, a prefix first.
pub(crate) fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let (mut x, mut y) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        let (p, q) = (word(p), word(q));
        if p != q {
            // Big-endian words order as their bytes do.
            return p.cmp(&q);
        }
    }
    tail_word(x.remainder())
        .cmp(&tail_word(y.remainder()))
        .then(a.len().cmp(&b.len()))
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
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for i in 0..base.len() {
            for delta in [1u8, 0x80] {
                let mut other = base.clone();
                other[i] = other[i].wrapping_add(delta);
                assert!(!eq(&base, &other), "offset {i}");
                assert_eq!(cmp(&base, &other), base.cmp(&other), "offset {i}");
                assert_eq!(cmp(&other, &base), other.cmp(&base), "offset {i}");
            }
            assert_eq!(cmp(&base[..i], &base), Ordering::Less);
        }
    }
}
