//! EC private keys in both encodings a certificate Secret may hold: SEC1 (`EC PRIVATE KEY`,
//! what upstream writes) and PKCS#8 (`PRIVATE KEY`, what ring and rcgen speak). The
//! conversion re-wraps the same key; no key material is computed here.

use rcgen::KeyPair;

use super::AutoTlsError;
use super::pem;

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_PARAMETERS: u8 = 0xa0;
const TAG_PUBLIC_KEY: u8 = 0xa1;
// 1.2.840.10045.2.1 id-ecPublicKey, as a complete DER OID.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// Load a private key from PEM: the first `EC PRIVATE KEY` (SEC1) or `PRIVATE KEY` (PKCS#8)
/// block. `what` names the key in errors ("CA", "serving").
pub(crate) fn key_pair_from_pem(
    key_pem: &str,
    what: &'static str,
) -> Result<KeyPair, AutoTlsError> {
    let bad = |reason: String| AutoTlsError::BadKey { what, reason };
    for block in pem::blocks(key_pem.as_bytes()) {
        let pkcs8 = match block.label.as_str() {
            "PRIVATE KEY" => block.der,
            "EC PRIVATE KEY" => pkcs8_from_sec1(&block.der).map_err(bad)?,
            "RSA PRIVATE KEY" => {
                return Err(bad(
                    "RSA PKCS#1 keys are not supported here; use an ECDSA key".to_owned(),
                ));
            }
            _ => continue,
        };
        return KeyPair::try_from(pkcs8.as_slice()).map_err(|e| bad(e.to_string()));
    }
    Err(AutoTlsError::NoKey { what })
}

/// The key as a SEC1 `EC PRIVATE KEY` PEM block (with the named curve, as OpenSSL and Go write).
pub(crate) fn sec1_pem(key: &KeyPair, what: &'static str) -> Result<String, AutoTlsError> {
    let sec1 = sec1_from_pkcs8(key.serialized_der())
        .map_err(|reason| AutoTlsError::BadKey { what, reason })?;
    Ok(pem::encode("EC PRIVATE KEY", &sec1))
}

/// PKCS#8 `PrivateKeyInfo` of an EC key → its SEC1 `ECPrivateKey`, with the curve filled in.
pub(crate) fn sec1_from_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>, String> {
    let mut outer = Der::new(pkcs8).sequence("PKCS#8 key")?;
    outer.expect(TAG_INTEGER, "PKCS#8 version")?;
    let mut algorithm = outer.expect(TAG_SEQUENCE, "PKCS#8 algorithm")?;
    if algorithm.raw(TAG_OID, "key algorithm")? != OID_EC_PUBLIC_KEY {
        return Err("not an EC key".to_owned());
    }
    let curve = algorithm.raw(TAG_OID, "EC curve")?;
    let inner = outer.expect(TAG_OCTET_STRING, "PKCS#8 private key")?;
    let mut ec = Der::new(inner.rest).sequence("EC private key")?;
    ec.expect(TAG_INTEGER, "EC private key version")?;
    let scalar = ec.raw(TAG_OCTET_STRING, "EC private key")?;
    let mut public_key = None;
    while let Some(tag) = ec.peek() {
        let field = ec.raw(tag, "EC private key field")?;
        if tag == TAG_PUBLIC_KEY {
            public_key = Some(field);
        }
    }
    let mut body = tlv(TAG_INTEGER, &[1]);
    body.extend_from_slice(scalar);
    body.extend(tlv(TAG_PARAMETERS, curve));
    body.extend_from_slice(public_key.ok_or("EC private key without its public key")?);
    Ok(tlv(TAG_SEQUENCE, &body))
}

/// SEC1 `ECPrivateKey` (which must name its curve) → PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs8_from_sec1(sec1: &[u8]) -> Result<Vec<u8>, String> {
    let mut ec = Der::new(sec1).sequence("EC private key")?;
    ec.expect(TAG_INTEGER, "EC private key version")?;
    ec.raw(TAG_OCTET_STRING, "EC private key")?;
    let mut curve = None;
    while let Some(tag) = ec.peek() {
        let field = ec.expect(tag, "EC private key field")?;
        if tag == TAG_PARAMETERS {
            curve = Some(field.rest);
        }
    }
    let curve = curve.ok_or("EC PRIVATE KEY without its named curve (parameters [0])")?;
    let mut algorithm = OID_EC_PUBLIC_KEY.to_vec();
    algorithm.extend_from_slice(curve);
    let mut body = tlv(TAG_INTEGER, &[0]);
    body.extend(tlv(TAG_SEQUENCE, &algorithm));
    body.extend(tlv(TAG_OCTET_STRING, sec1));
    Ok(tlv(TAG_SEQUENCE, &body))
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A cursor over consecutive DER TLVs (definite lengths only, which DER requires).
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The whole next TLV (tag, length and content) if it has `tag`.
    fn raw(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let start = self.rest;
        self.expect(tag, what)?;
        Ok(&start[..start.len() - self.rest.len()])
    }

    /// The content of the next TLV, which must have `tag`, as a cursor.
    fn expect(&mut self, tag: u8, what: &str) -> Result<Der<'a>, String> {
        let truncated = || format!("{what}: truncated DER");
        let (&found, after_tag) = self.rest.split_first().ok_or_else(truncated)?;
        if found != tag {
            return Err(format!(
                "{what}: expected DER tag {tag:#04x}, found {found:#04x}"
            ));
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or_else(truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 3 || after_len.len() < count {
                return Err(format!("{what}: unsupported DER length"));
            }
            let (len_bytes, rest) = after_len.split_at(count);
            after_len = rest;
            len_bytes
                .iter()
                .fold(0, |acc, b| (acc << 8) | usize::from(*b))
        };
        if after_len.len() < len {
            return Err(truncated());
        }
        let (content, rest) = after_len.split_at(len);
        self.rest = rest;
        Ok(Der::new(content))
    }

    fn sequence(mut self, what: &str) -> Result<Der<'a>, String> {
        self.expect(TAG_SEQUENCE, what)
    }
}

#[cfg(test)]
mod tests;
