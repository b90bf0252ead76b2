//! The Vault address and the URLs built from it: path segments and queries are
//! percent-encoded the way Vault's client (and the `url` crate) encode them.

use crate::error::BoxError;

/// `scheme://authority[/path]` of the configured address.
#[derive(Debug, Clone)]
pub(crate) struct BaseAddress {
    /// No trailing `/`; request paths are appended as `/v1/...`.
    prefix: String,
    /// The address as shown: `prefix`, plus `/` when the address has no path.
    display: String,
}

impl BaseAddress {
    /// Accepts `http://host[:port][/path]` and `https://…`; a trailing `/` is ignored.
    pub(crate) fn parse(address: &str) -> Result<Self, BoxError> {
        let uri: http::Uri = address.trim().parse()?;
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => "http",
            Some(s) if s.eq_ignore_ascii_case("https") => "https",
            Some(_) => return Err("the scheme must be http or https".into()),
            None => return Err("the address needs a scheme (http:// or https://)".into()),
        };
        let authority = match uri.authority() {
            Some(a) if !a.host().is_empty() => a.as_str(),
            _ => return Err("the address names no host".into()),
        };
        if authority.contains('@') {
            return Err("credentials in the address are not supported".into());
        }
        if uri.query().is_some() {
            return Err("the address cannot carry a query".into());
        }
        let path = uri.path().trim_end_matches('/');
        let prefix = format!("{scheme}://{}{path}", authority.to_ascii_lowercase());
        let display = if path.is_empty() {
            format!("{prefix}/")
        } else {
            prefix.clone()
        };
        Ok(Self { prefix, display })
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn display(&self) -> &str {
        &self.display
    }
}

/// Appends `path` (segments separated by `/`), each segment percent-encoded.
pub(crate) fn encode_path(out: &mut String, path: &str) {
    // Controls, space, non-ASCII and `"#<>?`{}%/` as in the URL standard's path-segment set,
    // plus the few characters `http::Uri` refuses in a path.
    const KEEP_IN_SEGMENT: &[u8] = b"!$&'()*+,-.:;=@_~";
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode(out, segment, KEEP_IN_SEGMENT);
    }
}

/// Appends a query (`a=b&c=d`) with the characters a URL cannot carry there encoded.
pub(crate) fn encode_query(out: &mut String, query: &str) {
    const KEEP_IN_QUERY: &[u8] = b"!$%&()*+,-./:;=?@_~";
    encode(out, query, KEEP_IN_QUERY);
}

fn encode(out: &mut String, text: &str, keep: &[u8]) {
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = BaseAddress::parse("https://Vault.example:8200/").unwrap();
        assert_eq!(a.prefix(), "https://vault.example:8200");
        assert_eq!(a.display(), "https://vault.example:8200/");
        let a = BaseAddress::parse("http://127.0.0.1:8200/vault/").unwrap();
        assert_eq!(a.prefix(), "http://127.0.0.1:8200/vault");
        for bad in [
            "127.0.0.1:8200",
            "ftp://h",
            "http://",
            "https://u:p@h",
            "http://h?x=1",
        ] {
            assert!(BaseAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_and_queries_are_encoded() {
        let mut s = String::new();
        encode_path(&mut s, "secret/data/a b/ü%?#x");
        assert_eq!(s, "secret/data/a%20b/%C3%BC%25%3F%23x");
        let mut q = String::new();
        encode_query(&mut q, "version=1&x=a b");
        assert_eq!(q, "version=1&x=a%20b");
    }
}
