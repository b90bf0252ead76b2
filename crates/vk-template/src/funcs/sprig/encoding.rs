//! Sprig's base64 and base32 functions.

use base64::Engine as _;

use super::define;
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("b64enc", &[P::Str], None, |_, a| {
        ok_str(base64::engine::general_purpose::STANDARD.encode(arg_str(&a[0])))
    });
    s("b64dec", &[P::Str], None, |_, a| {
        ok_str(
            match base64::engine::general_purpose::STANDARD.decode(arg_str(&a[0])) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => e.to_string(),
            },
        )
    });
    s("b32enc", &[P::Str], None, |_, a| {
        ok_str(b32enc(arg_str(&a[0]).as_bytes()))
    });
    s("b32dec", &[P::Str], None, |_, a| {
        ok_str(match b32dec(arg_str(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        })
    });
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(s: &[u8]) -> String {
    let mut out = String::new();
    for chunk in s.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((bits >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim_end_matches('=');
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for (i, c) in t.bytes().enumerate() {
        let v = B32
            .iter()
            .position(|x| *x == c)
            .ok_or_else(|| format!("illegal base32 data at input byte {i}"))?;
        bits = (bits << 5) | v as u64;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Ok(out)
}
