//! Appending short byte runs without a `memcpy` call.
//!
//! A copy of a length known only at run time compiles to a call to the C library's `memcpy`.
//! The JSON writers append about 220 such runs per admission (keys, names, short values), and
//! the static musl build's `memcpy` starts a `rep movs` for every length: 12.7k instructions per
//! admission under callgrind, plus the string instructions' start-up cost. Runs of 4 to 32 bytes
//! are copied here as two fixed-size moves that overlap in the middle, which the compiler emits
//! inline; shorter runs byte by byte, longer ones through `extend_from_slice`.

/// Appends `bytes` to `out`.
#[inline]
pub fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    match n {
        0..=3 => bytes.iter().for_each(|&b| out.push(b)),
        4..=32 => {
            let start = out.len();
            // A fixed-size zero fill (inline stores), then the run copied over it in two fixed
            // moves, then the length cut back to the run's.
            out.extend_from_slice(&[0u8; 32]);
            let dst = &mut out[start..start + n];
            if n >= 16 {
                copy_overlapping::<16>(dst, bytes);
            } else if n >= 8 {
                copy_overlapping::<8>(dst, bytes);
            } else {
                copy_overlapping::<4>(dst, bytes);
            }
            out.truncate(start + n);
        }
        _ => out.extend_from_slice(bytes),
    }
}

/// Copies `src` (between `W` and `2 * W` bytes long) into `dst` (as long) as its first and its
/// last `W` bytes.
#[inline(always)]
fn copy_overlapping<const W: usize>(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let mut head = [0u8; W];
    head.copy_from_slice(&src[..W]);
    let mut tail = [0u8; W];
    tail.copy_from_slice(&src[n - W..]);
    dst[..W].copy_from_slice(&head);
    dst[n - W..].copy_from_slice(&tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_every_length_exactly() {
        let source: Vec<u8> = (0..80u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(1))
            .collect();
        for prefix in [0usize, 1, 7, 33] {
            for n in 0..=source.len() {
                let mut out = vec![0xAA; prefix];
                push_bytes(&mut out, &source[..n]);
                let mut want = vec![0xAA; prefix];
                want.extend_from_slice(&source[..n]);
                assert_eq!(out, want, "prefix {prefix}, length {n}");
            }
        }
    }

    #[test]
    fn appends_after_earlier_runs() {
        let mut out = Vec::new();
        let mut want = Vec::new();
        for n in [5usize, 0, 31, 2, 16, 17, 40, 8, 9, 3, 32, 15] {
            let run: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            push_bytes(&mut out, &run);
            want.extend_from_slice(&run);
        }
        assert_eq!(out, want);
    }
}
