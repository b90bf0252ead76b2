//! JSON output byte-compatible with Go's `encoding/json`: `<`, `>`, `&`, U+2028 and U+2029 are
//! escaped, and floats use Go's shortest formatting (`0.75`, `1e-7`, `1e+21`).
//!
//! Only byte-exact comparisons (e.g. of `VAULT_CONFIG`) need this; JSON readers see no difference.

use std::io::{self, Write};

use serde::Serialize;

use crate::jsontree::Json;

/// A `serde_json` formatter reproducing Go's escaping and float rules (compact output).
#[derive(Debug, Default, Clone, Copy)]
pub struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has already escaped quotes, backslashes and control characters; what is
        // left to escape is Go's own (`<`, `>`, `&`, U+2028, U+2029).
        let mut result = Ok(());
        vk_go::json_escape(fragment, true, |piece| {
            if result.is_ok() {
                result = writer.write_all(piece.as_bytes());
            }
        });
        result
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_float(f64::from(value)).as_bytes())
    }
}

/// Go's `encoding/json` float text: plain decimal unless |v| < 1e-6 or |v| >= 1e21
/// (`vk_go::format_json_float`; serde_json never holds NaN or infinities).
pub fn go_float(v: f64) -> String {
    vk_go::format_json_float(v).unwrap_or_else(|| vk_go::format_g_shortest(v))
}

/// Appends `s` as a quoted JSON string, byte for byte what serde_json with [`GoFormatter`]
/// writes.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    vk_go::push_json_string_bytes(out, s, true);
}

/// Appends a JSON value, byte for byte what serde_json with [`GoFormatter`] writes (keys in
/// the map's order), without going through serde's serializer machinery.
pub(crate) fn write_value(out: &mut Vec<u8>, v: &serde_json::Value) {
    // One writer for both trees: the `Value` is viewed as a borrowed lean tree (only the
    // telemetry stanza and the tests come this way, never the per-pod hot path).
    write_json(out, Json::from_value(v).tree());
}

/// Appends a number as serde_json with [`GoFormatter`] writes it.
fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64() {
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        out.extend_from_slice(go_float(f).as_bytes());
    }
}

/// Appends a lean tree (a value of the admitted pod, or a `Value` viewed as one), byte for byte
/// what serde_json with [`GoFormatter`] writes for the equivalent `serde_json::Value`.
pub(crate) fn write_json(out: &mut Vec<u8>, v: &Json<'_>) {
    match v {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(n) => write_number(out, n),
        Json::String(s) => write_str(out, s),
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item);
            }
            out.push(b']');
        }
        Json::Object(members) => {
            out.push(b'{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_json(out, item);
            }
            out.push(b'}');
        }
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

    fn via_serde(v: &serde_json::Value) -> String {
        String::from_utf8(to_vec(v)).unwrap_or_default()
    }

    fn via_writer(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn writer_matches_serde_with_go_formatter() {
        let mut every_char = String::new();
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            every_char.push(c);
        }
        let cases = [
            json!(null),
            json!(true),
            json!([
                false,
                0,
                -1,
                18446744073709551615u64,
                -9223372036854775808i64
            ]),
            json!([0.1, 1.5e-7, 1e21, -2.5e22, 3.0, 0.000001]),
            json!(""),
            json!("\u{2028}\u{2029}\u{2027}\u{202a}\u{e2}\u{20ac}<>&\"\\\u{7f}\u{1f}\u{0}"),
            json!(every_char),
            json!({"k<": {"nested": [{"a": "b"}, [], {}]}, "\n": "x&y", "z": null}),
        ];
        for case in &cases {
            assert_eq!(via_writer(case), via_serde(case));
            let mut lean = Vec::new();
            write_json(&mut lean, Json::from_value(case).tree());
            assert_eq!(String::from_utf8(lean).unwrap_or_default(), via_serde(case));
        }
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
