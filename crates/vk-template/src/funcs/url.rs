//! Sprig's `urlParse` / `urlJoin`: Go `net/url` parsing and formatting of absolute and relative
//! URLs (scheme, opaque, userinfo, host, path, raw query, fragment) with Go's escaping rules.

use std::collections::BTreeMap;

use super::{CallResult, P};
use crate::exec::State;
use crate::value::Value;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Url {
    scheme: String,
    opaque: String,
    /// (username, password) when a userinfo part is present.
    user: Option<User>,
    host: String,
    path: String,
    force_query: bool,
    raw_query: String,
    fragment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::Path => c == b'?',
                Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Mode::Fragment => false,
                Mode::Host => true,
            };
        }
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn escape(s: &str, mode: Mode) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    for &b in s.as_bytes() {
        // Host names keep non-ASCII bytes as they are.
        if should_escape(b, mode) && !(mode == Mode::Host && b >= 0x80) {
            bytes.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn unhex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(unhex);
                let lo = b.get(i + 2).copied().and_then(unhex);
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(b.len());
                        let bad = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {}", vk_go::quote(&bad)));
                    }
                }
            }
            c => {
                if mode == Mode::Host && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        vk_go::quote(&(c as char).to_string())
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `(scheme, rest)`; an error for a leading `:`.
fn get_scheme(raw: &str) -> Result<(String, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((raw[..i].to_ascii_lowercase(), &raw[i + 1..])),
            _ => return Ok((String::new(), raw)),
        }
    }
    Ok((String::new(), raw))
}

/// `(username, password)` of a URL's userinfo.
type User = (String, Option<String>);

fn parse_authority(auth: &str) -> Result<(Option<User>, String), String> {
    let (userinfo, host) = match auth.rfind('@') {
        Some(i) => (Some(&auth[..i]), &auth[i + 1..]),
        None => (None, auth),
    };
    let host = parse_host(host)?;
    let Some(ui) = userinfo else {
        return Ok((None, host));
    };
    let valid = ui.bytes().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
            || c >= 0x80
    });
    if !valid {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match ui.split_once(':') {
        Some((u, p)) => (
            unescape(u, Mode::UserPassword)?,
            Some(unescape(p, Mode::UserPassword)?),
        ),
        None => (unescape(ui, Mode::UserPassword)?, None),
    };
    Ok((Some(user), host))
}

fn valid_port(p: &str) -> bool {
    p.bytes().all(|b| b.is_ascii_digit())
}

fn parse_host(host: &str) -> Result<String, String> {
    if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err("missing ']' in host".into());
        };
        let after = &rest[end + 1..];
        let port_ok = after.is_empty() || (after.starts_with(':') && valid_port(&after[1..]));
        if !port_ok {
            return Err(format!("invalid port {} after host", vk_go::quote(after)));
        }
        return unescape(host, Mode::Host);
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_port(&port[1..]) {
            return Err(format!("invalid port {} after host", vk_go::quote(port)));
        }
    }
    unescape(host, Mode::Host)
}

fn parse(raw: &str) -> Result<Url, String> {
    let wrap = |e: String| format!("parse {}: {e}", vk_go::quote(raw));
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(wrap("net/url: invalid control character in URL".into()));
    }
    let mut u = Url::default();
    if let Some(f) = frag {
        u.fragment = unescape(f, Mode::Fragment).map_err(wrap)?;
    }
    if rest.is_empty() {
        return Ok(u);
    }
    let (scheme, mut rest) = get_scheme(rest).map_err(wrap)?;
    u.scheme = scheme;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        u.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        u.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            u.opaque = rest.to_string();
            return Ok(u);
        }
        let first = rest.split('/').next().unwrap_or("");
        if first.contains(':') {
            return Err(wrap(
                "first path segment in URL cannot contain colon".into(),
            ));
        }
    }
    if (!u.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (auth, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        let (user, host) = parse_authority(auth).map_err(wrap)?;
        u.user = user;
        u.host = host;
        rest = path;
    }
    u.path = unescape(rest, Mode::Path).map_err(wrap)?;
    Ok(u)
}

impl Url {
    fn hostname(&self) -> String {
        let h = &self.host;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("").to_string();
        }
        match h.rfind(':') {
            Some(i) => h[..i].to_string(),
            None => h.clone(),
        }
    }

    fn userinfo(&self) -> String {
        match &self.user {
            None => String::new(),
            Some((name, pass)) => {
                let mut s = escape(name, Mode::UserPassword);
                if let Some(p) = pass {
                    s.push(':');
                    s.push_str(&escape(p, Mode::UserPassword));
                }
                s
            }
        }
    }

    /// `(*url.URL).String`.
    fn format(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            if !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some() {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if self.user.is_some() {
                    out.push_str(&self.userinfo());
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Mode::Host));
            }
            let path = escape(&self.path, Mode::Path);
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, Mode::Fragment));
        }
        out
    }
}

fn url_parse(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let raw = super::arg_str(&a[0]);
    let u = parse(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut m = BTreeMap::new();
    m.insert("scheme".to_string(), Value::str(&u.scheme));
    m.insert("host".to_string(), Value::str(&u.host));
    m.insert("hostname".to_string(), Value::string(u.hostname()));
    m.insert("path".to_string(), Value::str(&u.path));
    m.insert("query".to_string(), Value::str(&u.raw_query));
    m.insert("opaque".to_string(), Value::str(&u.opaque));
    m.insert("fragment".to_string(), Value::str(&u.fragment));
    m.insert("userinfo".to_string(), Value::string(u.userinfo()));
    Ok(Value::map(m))
}

/// Sprig's `dget`-style string field of the argument map (a non-string value is a failed
/// interface conversion, which the template reports as the call's error).
fn field(entries: &[(String, Value)], key: &str) -> Result<String, String> {
    match entries.iter().find(|(k, _)| k == key) {
        None => Ok(String::new()),
        Some((_, Value::Str(s))) => Ok(s.to_string()),
        Some((_, v)) => Err(format!(
            "interface conversion: interface {{}} is {}, not string",
            if matches!(v, Value::Nil | Value::Invalid) {
                "nil"
            } else {
                v.type_name()
            }
        )),
    }
}

fn url_join(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let entries = a[0].map_entries().unwrap_or_default();
    let mut u = Url {
        scheme: field(&entries, "scheme")?,
        host: field(&entries, "host")?,
        path: field(&entries, "path")?,
        raw_query: field(&entries, "query")?,
        opaque: field(&entries, "opaque")?,
        fragment: field(&entries, "fragment")?,
        ..Url::default()
    };
    let userinfo = field(&entries, "userinfo")?;
    if !userinfo.is_empty() {
        let t = parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        u.user = t.user;
    }
    Ok(Value::string(u.format()))
}

pub(super) fn register(r: &mut super::Registry) {
    super::add(r, "sprig_urlParse", &[P::Str], None, url_parse);
    super::add(r, "sprig_urlJoin", &[P::Map], None, url_join);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let u = parse("https://u:p@h.example:8443/p/a?q=1#f").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "h.example:8443");
        assert_eq!(u.hostname(), "h.example");
        assert_eq!(u.path, "/p/a");
        assert_eq!(u.raw_query, "q=1");
        assert_eq!(u.fragment, "f");
        assert_eq!(u.userinfo(), "u:p");
        assert_eq!(u.format(), "https://u:p@h.example:8443/p/a?q=1#f");
        let u = parse("mailto:x@y.z").unwrap();
        assert_eq!((u.scheme.as_str(), u.opaque.as_str()), ("mailto", "x@y.z"));
        let u = parse("/a%20b/c").unwrap();
        assert_eq!(u.path, "/a b/c");
        assert_eq!(u.format(), "/a%20b/c");
        assert!(parse("[::1]:80").is_err());
        assert_eq!(
            parse(":x").unwrap_err(),
            "parse \":x\": missing protocol scheme"
        );
        assert_eq!(parse("a:b/c").map(|u| u.opaque).unwrap(), "b/c".to_string());
        assert_eq!(
            parse("http://h/%zz").unwrap_err(),
            "parse \"http://h/%zz\": invalid URL escape \"%zz\""
        );
        let u = parse("http://[::1]:8080/x").unwrap();
        assert_eq!(u.hostname(), "::1");
        let j = Url {
            scheme: "https".into(),
            host: "h".into(),
            path: "/x y".into(),
            raw_query: "a=b".into(),
            ..Url::default()
        };
        assert_eq!(j.format(), "https://h/x%20y?a=b");
    }
}
