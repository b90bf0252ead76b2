//! Go's `encoding/base64.StdEncoding` (standard alphabet, `=` padding), encoding only.
//!
//! The webhook encodes two large texts per admission: each agent's `VAULT_CONFIG` and the
//! whole JSON Patch of the answer. A SIMD encoder (AVX2/SSSE3 or NEON, chosen at run time,
//! with a portable fallback) does it several times faster than the table-driven `base64`
//! crate, which stays in use for decoding and for everything off the hot path.

/// Appends the standard base64 of `input` to `out`.
pub fn push_base64_std(out: &mut Vec<u8>, input: &[u8]) {
    base64_simd::STANDARD.encode_append(input, out);
}

/// The standard base64 of `input`.
pub fn base64_std(input: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn matches_the_reference_encoder_at_every_length_and_offset() {
        let data: Vec<u8> = (0..4099u32).map(|i| (i * 151 % 256) as u8).collect();
        for len in (0..200).chain([1023, 1024, 1025, 3072, 3073, 4096, 4099]) {
            let input = &data[..len];
            let want = STANDARD.encode(input);
            assert_eq!(base64_std(input), want, "length {len}");
            let mut out = b"prefix".to_vec();
            push_base64_std(&mut out, input);
            assert_eq!(&out[..6], b"prefix");
            assert_eq!(&out[6..], want.as_bytes(), "appended, length {len}");
        }
    }
}
