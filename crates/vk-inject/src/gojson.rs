//! JSON output byte-compatible with Go's `encoding/json`: `<`, `>`, `&`, U+2028 and U+2029 are
//! escaped, and floats use Go's shortest formatting (`0.75`, `1e-7`, `1e+21`).
//!
//! Only byte-exact comparisons (e.g. of `VAULT_CONFIG`) need this; JSON readers see no difference.

use std::io::{self, Write};

use serde::Serialize;

/// A `serde_json` formatter reproducing Go's escaping and float rules (compact output).
#[derive(Debug, Default, Clone, Copy)]
pub struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        // Fast path: most fragments need no Go-specific escaping (0xE2 leads U+2028/U+2029).
        if !bytes
            .iter()
            .any(|&b| matches!(b, b'<' | b'>' | b'&' | 0xE2))
        {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let escape: Option<&[u8]> = match bytes[i] {
                b'<' => Some(b"\\u003c"),
                b'>' => Some(b"\\u003e"),
                b'&' => Some(b"\\u0026"),
                // U+2028 / U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
                0xE2 if bytes.get(i + 1) == Some(&0x80)
                    && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) =>
                {
                    Some(if bytes.get(i + 2) == Some(&0xA8) {
                        b"\\u2028"
                    } else {
                        b"\\u2029"
                    })
                }
                _ => None,
            };
            if let Some(esc) = escape {
                writer.write_all(&bytes[start..i])?;
                writer.write_all(esc)?;
                i += if esc.len() == 6 && bytes[i] == 0xE2 {
                    3
                } else {
                    1
                };
                start = i;
            } else {
                i += 1;
            }
        }
        writer.write_all(&bytes[start..])
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_float(f64::from(value)).as_bytes())
    }
}

/// Go's `encoding/json` float text: plain decimal unless |v| < 1e-6 or |v| >= 1e21.
pub fn go_float(v: f64) -> String {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        format!("{v}")
    }
}

/// Serialises any value with [`GoFormatter`] into a byte buffer.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // Serialising a `serde_json::Value` or our plain structs into a Vec cannot fail.
    if value.serialize(&mut ser).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_html_and_line_separators() {
        let v = json!({"a": "x < y && z > w \u{2028}\u{2029} é \n\t\u{1}\u{8}\u{c}\"\\"});
        let got = String::from_utf8(to_vec(&v)).unwrap_or_default();
        assert_eq!(
            got,
            r#"{"a":"x \u003c y \u0026\u0026 z \u003e w \u2028\u2029 é \n\t\u0001\b\f\"\\"}"#
        );
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_float(0.75), "0.75");
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(1e20), "100000000000000000000");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.5e-7), "1.5e-7");
        assert_eq!(go_float(0.000001), "0.000001");
        assert_eq!(go_float(-2.5e22), "-2.5e+22");
        assert_eq!(
            String::from_utf8(to_vec(&json!([0.1, 1, -3]))).unwrap_or_default(),
            "[0.1,1,-3]"
        );
    }
}
