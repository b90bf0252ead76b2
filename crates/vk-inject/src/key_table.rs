//! Dense ids for the known annotation keys (every constant of `annotations.rs`), from a hash
//! table built at compile time. The Init view resolves each known key once per pod into an
//! array slot addressed by its id. Code reading a constant key holds an
//! `annotations::Known`, whose id [`const_id`] found at compile time, so the ~100 reads of
//! one admission are an index; [`id`] runs only for keys known at run time (the pod's own
//! annotation names, once each when Init builds the view).
use crate::annotations::{ALL_KEYS, PREFIX};

/// Table size: a power of two, well over twice the number of keys (short probe runs).
const SLOTS: usize = 256;
const EMPTY: u8 = u8::MAX;

/// The shortest suffix a key has after the common prefix (`role`).
const MIN_SUFFIX: usize = 4;

/// A cheap hash of what follows the common prefix: its length and its first and last four
/// bytes (the prefix itself is checked by the final comparison; a string too short to be a
/// known key is never looked up). Collisions only lengthen a probe run.
const fn slot(key: &[u8]) -> usize {
    let len = key.len();
    let p = PREFIX.len();
    let head = u32::from_le_bytes([key[p], key[p + 1], key[p + 2], key[p + 3]]);
    let tail = u32::from_le_bytes([key[len - 4], key[len - 3], key[len - 2], key[len - 1]]);
    let h = (len as u32).wrapping_mul(0x9e37_79b1)
        ^ head.wrapping_mul(0x85eb_ca6b)
        ^ tail.wrapping_mul(0xc2b2_ae35);
    (h >> 24) as usize & (SLOTS - 1)
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Open addressing with linear probing; a duplicate or prefix-less key fails the build.
const fn build() -> [u8; SLOTS] {
    assert!(ALL_KEYS.len() * 2 < SLOTS);
    let mut table = [EMPTY; SLOTS];
    let mut id = 0;
    while id < ALL_KEYS.len() {
        let key = ALL_KEYS[id].as_bytes();
        assert!(key.len() >= PREFIX.len() + MIN_SUFFIX);
        let mut at = slot(key);
        while table[at] != EMPTY {
            assert!(!same(ALL_KEYS[table[at] as usize].as_bytes(), key));
            at = (at + 1) & (SLOTS - 1);
        }
        table[at] = id as u8;
        id += 1;
    }
    table
}

/// The table as a constant, so that [`const_id`] can read it at compile time (a `static`
/// cannot be read in const context).
const BUILT: [u8; SLOTS] = build();
static TABLE: [u8; SLOTS] = BUILT;

/// Number of known keys (the length of a resolved-value array).
pub(crate) const COUNT: usize = ALL_KEYS.len();

/// The id of a known key (its index in `ALL_KEYS`), `None` for any other string.
pub(crate) fn id(key: &str) -> Option<usize> {
    let bytes = key.as_bytes();
    if bytes.len() < PREFIX.len() + MIN_SUFFIX {
        return None;
    }
    let mut at = slot(bytes);
    loop {
        let id = TABLE[at];
        if id == EMPTY {
            return None;
        }
        let id = usize::from(id);
        if crate::keycmp::eq(ALL_KEYS[id].as_bytes(), bytes) {
            return Some(id);
        }
        at = (at + 1) & (SLOTS - 1);
    }
}

/// [`id`] for const context: the same probe sequence with the byte-wise [`same`], for
/// resolving the constant keys' ids at compile time (`annotations::Known::of`).
pub(crate) const fn const_id(key: &str) -> Option<usize> {
    let bytes = key.as_bytes();
    if bytes.len() < PREFIX.len() + MIN_SUFFIX {
        return None;
    }
    let mut at = slot(bytes);
    loop {
        let id = BUILT[at];
        if id == EMPTY {
            return None;
        }
        let id = id as usize;
        if same(ALL_KEYS[id].as_bytes(), bytes) {
            return Some(id);
        }
        at = (at + 1) & (SLOTS - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotations as k;

    #[test]
    fn every_known_key_has_its_own_id_and_nothing_else_has_one() {
        for (i, key) in ALL_KEYS.iter().enumerate() {
            assert_eq!(id(key), Some(i), "{key}");
            assert_eq!(const_id(key), Some(i), "{key}");
        }
        assert_eq!(id(k::ROLE).map(|i| ALL_KEYS[i]), Some(k::ROLE));
        for other in [
            "",
            "vault.hashicorp.com/",
            "vault.hashicorp.com/rol",
            "vault.hashicorp.com/rolex",
            "vault.hashicorp.com/Role",
            "vault.hashicorp.org/role",
            "example.com/role-and-more",
            "vault.hashicorp.com/agent-inject-secret-db",
        ] {
            assert_eq!(id(other), None, "{other}");
            assert_eq!(const_id(other), None, "{other}");
        }
    }
}
