//! Layer compression. Every layer is gzip (what every registry, runtime and scanner reads);
//! the runtime image's is written by Zopfli, a slower deflate encoder whose output any gunzip
//! reads and which is about 3 % smaller than zlib's level 9. Both are deterministic: no file
//! name, mtime 0, OS byte 255 ("unknown"), so the bytes depend only on the input.

use std::io::Write as _;
use std::num::NonZeroU64;

use anyhow::{Result, bail};
use flate2::{Compression, GzBuilder};

/// How an image definition asks for its layer to be compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LayerCompression {
    /// zlib's deflate at this level (1–9): fast, for the large dev image.
    Gzip(u32),
    /// Zopfli's deflate with this many iterations per block: slow, smallest.
    Zopfli(NonZeroU64),
}

impl LayerCompression {
    /// From an image definition: `"zopfli_iterations": N` or `"gzip_level": N` (default 9).
    pub(crate) fn from_definition(def: &serde_json::Value) -> Result<Self> {
        match (def.get("zopfli_iterations"), def.get("gzip_level")) {
            (Some(_), Some(_)) => {
                bail!("give either `zopfli_iterations` or `gzip_level`, not both")
            }
            (Some(n), None) => match n.as_u64().and_then(NonZeroU64::new) {
                Some(n) => Ok(Self::Zopfli(n)),
                None => bail!("`zopfli_iterations` must be a positive integer, got {n}"),
            },
            (None, Some(l)) => match l.as_u64() {
                Some(l @ 1..=9) => Ok(Self::Gzip(l as u32)),
                _ => bail!("`gzip_level` must be an integer from 1 to 9, got {l}"),
            },
            (None, None) => Ok(Self::Gzip(9)),
        }
    }

    pub(crate) fn compress(self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            Self::Gzip(level) => gzip(data, level),
            Self::Zopfli(iterations) => zopfli_gzip(data, iterations),
        }
    }
}

impl std::fmt::Display for LayerCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Gzip(level) => write!(f, "gzip level {level}"),
            Self::Zopfli(n) => write!(f, "gzip by Zopfli, {n} iterations"),
        }
    }
}

/// gzip with zlib's deflate at `level`.
pub(crate) fn gzip(data: &[u8], level: u32) -> Result<Vec<u8>> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(level));
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

/// The same gzip member layout as [`gzip`] (RFC 1952: fixed header, deflate, CRC-32 and
/// length), with Zopfli's deflate stream inside.
fn zopfli_gzip(data: &[u8], iterations: NonZeroU64) -> Result<Vec<u8>> {
    // ID1 ID2, CM = deflate, no flags, MTIME = 0, XFL = 2 (best compression), OS = 255.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
    let options = zopfli::Options {
        iteration_count: iterations,
        ..zopfli::Options::default()
    };
    zopfli::compress(options, zopfli::Format::Deflate, data, &mut out)?;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    fn sample() -> Vec<u8> {
        (0..20_000u32)
            .flat_map(|i| format!("line {i} of {}\n", i % 97).into_bytes())
            .collect()
    }

    #[test]
    fn zopfli_writes_gzip_that_gunzip_reads_back() {
        let data = sample();
        let z = LayerCompression::Zopfli(NonZeroU64::new(2).unwrap())
            .compress(&data)
            .unwrap();
        assert_eq!(gunzip(&z), data);
        // The header is the one the zlib path writes, but for XFL.
        let g = gzip(&data, 9).unwrap();
        assert_eq!(z[..8], g[..8]);
        assert_eq!(z[9], 255);
        assert!(
            z.len() < g.len(),
            "zopfli {} vs gzip -9 {}",
            z.len(),
            g.len()
        );
    }

    #[test]
    fn both_are_deterministic() {
        let data = sample();
        for c in [
            LayerCompression::Gzip(9),
            LayerCompression::Zopfli(NonZeroU64::new(1).unwrap()),
        ] {
            assert_eq!(
                c.compress(&data).unwrap(),
                c.compress(&data).unwrap(),
                "{c}"
            );
        }
    }

    #[test]
    fn definition_keys() {
        let parse = |v: serde_json::Value| LayerCompression::from_definition(&v);
        assert_eq!(
            parse(serde_json::json!({})).unwrap(),
            LayerCompression::Gzip(9)
        );
        assert_eq!(
            parse(serde_json::json!({"gzip_level": 6})).unwrap(),
            LayerCompression::Gzip(6)
        );
        assert_eq!(
            parse(serde_json::json!({"zopfli_iterations": 15})).unwrap(),
            LayerCompression::Zopfli(NonZeroU64::new(15).unwrap())
        );
        for bad in [
            serde_json::json!({"gzip_level": 0}),
            serde_json::json!({"gzip_level": 10}),
            serde_json::json!({"zopfli_iterations": 0}),
            serde_json::json!({"zopfli_iterations": 5, "gzip_level": 9}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
