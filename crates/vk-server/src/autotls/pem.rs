//! A forgiving PEM reader and a canonical writer. Bundles read back from a webhook
//! configuration may carry anything; blocks that do not decode are skipped, never fatal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One decoded `-----BEGIN <label>-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Every well-formed block of `input`, in order. Text outside blocks, blocks without an END
/// line and blocks whose body is not base64 are skipped.
pub(crate) fn blocks(input: &[u8]) -> Vec<Block> {
    let text = String::from_utf8_lossy(input);
    let mut found = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = marker(line, "-----BEGIN ") {
            // A BEGIN inside an unfinished block abandons the unfinished one.
            open = Some((label.to_owned(), String::new()));
        } else if let Some(label) = marker(line, "-----END ") {
            if let Some((begun, body)) = open.take()
                && begun == label
                && let Ok(der) = STANDARD.decode(body.as_bytes())
                && !der.is_empty()
            {
                found.push(Block { label: begun, der });
            }
        } else if let Some((_, body)) = open.as_mut() {
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    found
}

fn marker<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

/// `der` as a PEM block with 64-character lines and a trailing newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk boundary is a char boundary.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage_is_skipped() {
        let der: Vec<u8> = (0..=200u8).collect();
        let one = encode("CERTIFICATE", &der);
        assert!(one.lines().all(|l| l.len() <= 64), "{one}");
        let mixed = format!(
            "junk before\n{one}-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n\
             -----BEGIN EC PRIVATE KEY-----\nAQID\n-----END EC PRIVATE KEY-----\n\
             -----BEGIN CERTIFICATE-----\nAQID\n(no end line)"
        );
        let found = blocks(mixed.as_bytes());
        assert_eq!(
            found,
            vec![
                Block {
                    label: "CERTIFICATE".into(),
                    der: der.clone()
                },
                Block {
                    label: "EC PRIVATE KEY".into(),
                    der: vec![1, 2, 3]
                },
            ]
        );
        assert!(blocks(b"not a cert").is_empty());
        assert!(blocks(&[0xff, 0xfe, 0x00]).is_empty());
    }

    #[test]
    fn crlf_and_indentation_are_tolerated() {
        let pem = encode("CERTIFICATE", b"hello world, this is DER").replace('\n', "\r\n  ");
        let found = blocks(pem.as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].der, b"hello world, this is DER");
    }
}
