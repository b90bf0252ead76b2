//! PEM block scanning and the one X.509 detail `pkiCert` needs: the basicConstraints CA flag.

use base64::Engine as _;

use crate::value::PkiCert;
use std::rc::Rc;

struct Block {
    kind: String,
    der: Vec<u8>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_kind) = after.find("-----") else {
            break;
        };
        let kind = after[..end_kind].to_string();
        let body_start = &after[end_kind + 5..];
        let end_marker = format!("-----END {kind}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..end]
            .lines()
            .filter(|l| !l.contains(':'))
            .collect::<String>()
            .split_whitespace()
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            out.push(Block { kind, der });
        }
        rest = &body_start[end + end_marker.len()..];
    }
    out
}

fn encode(b: &Block) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(&b.der);
    let mut out = format!("-----BEGIN {}-----\n", b.kind);
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out.push_str(&format!("-----END {}-----\n", b.kind));
    out
}

/// Read one DER TLV: (tag, content, rest).
fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *d.first()?;
    let l0 = *d.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if end > d.len() {
        return None;
    }
    Some((tag, &d[hdr..end], &d[end..]))
}

/// Whether a DER certificate carries basicConstraints with cA = TRUE.
fn is_ca(der: &[u8]) -> bool {
    let Some((_, cert, _)) = tlv(der) else {
        return false;
    };
    let Some((_, tbs, _)) = tlv(cert) else {
        return false;
    };
    let mut rest = tbs;
    while let Some((tag, content, next)) = tlv(rest) {
        if tag == 0xA3 {
            let Some((_, exts, _)) = tlv(content) else {
                return false;
            };
            let mut e = exts;
            while let Some((_, ext, after)) = tlv(e) {
                if let Some((0x06, oid, mut r)) = tlv(ext)
                    && oid == [0x55, 0x1D, 0x13]
                {
                    if let Some((0x01, _, r2)) = tlv(r) {
                        r = r2;
                    }
                    if let Some((0x04, octets, _)) = tlv(r)
                        && let Some((0x30, seq, _)) = tlv(octets)
                        && let Some((0x01, b, _)) = tlv(seq)
                    {
                        return b.first().is_some_and(|x| *x != 0);
                    }
                    return false;
                }
                e = after;
            }
            return false;
        }
        rest = next;
    }
    false
}

/// Blocks in order: `… PRIVATE KEY` → Key; CA certificates → CA (first) and CAChain; the last
/// non-CA certificate → Cert.
pub(crate) fn pki_from_pem(text: &str) -> PkiCert {
    let mut p = PkiCert::default();
    let mut chain = Vec::new();
    for b in blocks(text) {
        if b.kind.ends_with("PRIVATE KEY") {
            p.key = encode(&b);
        } else if b.kind == "CERTIFICATE" {
            if is_ca(&b.der) {
                let pem = encode(&b);
                if p.ca.is_empty() {
                    p.ca = pem.clone();
                }
                if !chain.contains(&pem) {
                    chain.push(pem);
                }
            } else {
                p.cert = encode(&b);
            }
        }
    }
    p.ca_chain = Rc::new(chain);
    p
}
