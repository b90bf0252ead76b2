//! Sprig's hash functions (`crypto.go`); key and certificate generation is not offered (see
//! `UNIMPLEMENTED`).

use sha2::Digest as _;

use super::define;
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("sha1sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha1::Sha1::digest(arg_str(&a[0]).as_bytes())))
    });
    s("sha256sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha2::Sha256::digest(arg_str(&a[0]).as_bytes())))
    });
    s("sha512sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha2::Sha512::digest(arg_str(&a[0]).as_bytes())))
    });
    s("adler32sum", &[P::Str], None, |_, a| {
        let (mut x, mut y) = (1u32, 0u32);
        for b in arg_str(&a[0]).bytes() {
            x = (x + u32::from(b)) % 65521;
            y = (y + x) % 65521;
        }
        ok_str(((y << 16) | x).to_string())
    });
}
