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
        parse_bool(s).map(Value::Bool).ok_or_else(|| {
            format!(
                "parseBool: strconv.ParseBool: parsing {}: invalid syntax",
                crate::gofmt::go_quote(s)
            )
            .into()
        })
    });
    add(r, "parseInt", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Int(0, IntKind::Int64));
        }
        parse_int(s)
            .map(|i| Value::Int(i, IntKind::Int64))
            .map_err(|e| format!("parseInt: {e}").into())
    });
    add(r, "parseUint", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Uint(0));
        }
        parse_uint(s)
            .map(Value::Uint)
            .map_err(|e| format!("parseUint: {e}").into())
    });
    add(r, "parseFloat", &[P::Str], None, |_, a| {
        let s = arg_str(&a[0]);
        if s.is_empty() {
            return Ok(Value::Float(0.0));
        }
        parse_float(s)
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

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn syntax(func: &str, s: &str, what: &str) -> String {
    format!(
        "strconv.{func}: parsing {}: {what}",
        crate::gofmt::go_quote(s)
    )
}

/// `strconv.ParseInt(s, 10, 64)` with Go's error texts.
pub(crate) fn parse_int(s: &str) -> Result<i64, String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return Err(syntax("ParseInt", s, "invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| syntax("ParseInt", s, "value out of range"))
}

pub(crate) fn parse_uint(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(syntax("ParseUint", s, "invalid syntax"));
    }
    s.parse::<u64>()
        .map_err(|_| syntax("ParseUint", s, "value out of range"))
}

/// `strconv.ParseFloat(s, 64)` for decimal forms and inf/nan words.
pub(crate) fn parse_float(s: &str) -> Result<f64, String> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let ok_word = matches!(body, "inf" | "infinity" | "nan");
    let ok_num = !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-' | b'_'));
    if !(ok_word || ok_num) {
        return Err(syntax("ParseFloat", s, "invalid syntax"));
    }
    let v: f64 = lower
        .replace('_', "")
        .parse()
        .map_err(|_| syntax("ParseFloat", s, "invalid syntax"))?;
    if v.is_infinite() && !ok_word {
        return Err(syntax("ParseFloat", s, "value out of range"));
    }
    Ok(v)
}
