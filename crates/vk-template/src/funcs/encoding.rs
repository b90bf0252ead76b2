//! Encoding helpers: base64 family, JSON/YAML/TOML in and out, parse*, hashes.

use base64::Engine as _;
use hmac::Mac as _;
use sha2::Digest as _;

use super::{CallResult, P, Registry, add, arg_str, ok_str};
use crate::json::{self, Numbers, Style};
use crate::value::{IntKind, Value};

const STD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE;

pub(super) fn register(r: &mut Registry) {
    add(r, "base64Encode", &[P::Str], None, |_, a| {
        ok_str(STD.encode(arg_str(&a[0])))
    });
    add(r, "base64Decode", &[P::Str], None, |_, a| {
        decode(&STD, "base64Decode", arg_str(&a[0]))
    });
    add(r, "base64URLEncode", &[P::Str], None, |_, a| {
        ok_str(URL.encode(arg_str(&a[0])))
    });
    add(r, "base64URLDecode", &[P::Str], None, |_, a| {
        decode(&URL, "base64URLDecode", arg_str(&a[0]))
    });
    add(r, "toJSON", &[P::Any], None, |_, a| {
        json_out(&a[0], true, None, "toJSON")
    });
    add(r, "toJSONPretty", &[P::Any], None, |_, a| {
        json_out(&a[0], true, Some("  "), "toJSONPretty")
    });
    add(r, "toUnescapedJSON", &[P::Any], None, |_, a| {
        json_out(&a[0], false, None, "toUnescapedJSON")
    });
    add(r, "toUnescapedJSONPretty", &[P::Any], None, |_, a| {
        json_out(&a[0], false, Some("  "), "toUnescapedJSONPretty")
    });
    add(r, "toYAML", &[P::Any], None, |_, a| {
        let s = crate::yaml_emit::to_yaml(&a[0]).map_err(|e| format!("toYAML: {e}"))?;
        ok_str(s.strip_suffix('\n').unwrap_or(&s).to_string())
    });
    add(r, "toTOML", &[P::Map], None, |_, a| {
        let s = crate::toml_emit::to_toml(&a[0]).map_err(|e| format!("toTOML: {e}"))?;
        ok_str(s.trim_matches(crate::funcs::strings::go_space).to_string())
    });
    add(r, "parseJSON", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::map(Default::default()));
        }
        json::parse(s, Numbers::Float).map_err(Into::into)
    });
    add(r, "parseYAML", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::map(Default::default()));
        }
        crate::yaml_parse::parse(s).map_err(Into::into)
    });
    add(r, "parseBool", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Bool(false));
        }
        vk_go::parse_bool(s)
            .map(Value::Bool)
            .map_err(|e| format!("parseBool: {e}").into())
    });
    add(r, "parseInt", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Int(0, IntKind::Int64));
        }
        vk_go::parse_int(s, 10, 64)
            .map(|i| Value::Int(i, IntKind::Int64))
            .map_err(|e| format!("parseInt: {e}").into())
    });
    add(r, "parseUint", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Uint(0));
        }
        vk_go::parse_uint(s, 10)
            .map(Value::Uint)
            .map_err(|e| format!("parseUint: {e}").into())
    });
    add(r, "parseFloat", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Float(0.0));
        }
        vk_go::parse_float(s)
            .map(Value::Float)
            .map_err(|e| format!("parseFloat: {e}").into())
    });
    add(r, "sha256Hex", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha2::Sha256::digest(arg_str(&a[0]).as_bytes())))
    });
    add(r, "md5sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(md5::Md5::digest(arg_str(&a[0]).as_bytes())))
    });
    add(r, "hmacSHA256Hex", &[P::Str, P::Str], None, |_, a| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(arg_str(&a[1]).as_bytes())
            .map_err(|e| e.to_string())?;
        mac.update(arg_str(&a[0]).as_bytes());
        ok_str(hex::encode(mac.finalize().into_bytes()))
    });
}

fn decode(engine: &base64::engine::GeneralPurpose, name: &str, s: &str) -> CallResult {
    match engine.decode(s.as_bytes()) {
        Ok(b) => ok_str(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => Err(format!("{name}: {}", go_b64_error(&e)).into()),
    }
}

/// Go's `base64.CorruptInputError` text.
fn go_b64_error(e: &base64::DecodeError) -> String {
    let off = match e {
        base64::DecodeError::InvalidByte(o, _) | base64::DecodeError::InvalidLastSymbol(o, _) => *o,
        base64::DecodeError::InvalidLength(o) => *o,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {off}")
}

pub(crate) fn json_out(
    v: &Value,
    escape_html: bool,
    indent: Option<&'static str>,
    name: &str,
) -> CallResult {
    let s = json::encode(
        v,
        Style {
            escape_html,
            indent,
        },
    )
    .map_err(|e| format!("{name}: {e}"))?;
    ok_str(s.trim_matches(crate::funcs::strings::go_space).to_string())
}
