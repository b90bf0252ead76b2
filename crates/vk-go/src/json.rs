//! Go `encoding/json`'s string escaping: `"`, `\` and control characters escaped (`\n`, `\r`,
//! `\t`, `\b`, `\f` short, the rest `\u00XX`), U+2028 and U+2029 always escaped, and `<`, `>`,
//! `&` escaped as `\u003c`-style unless HTML escaping is off (`SetEscapeHTML(false)`).

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What a byte turns into inside a JSON string: 0 = itself, `u` = `\u00XX`, `H` = `\u00XX`
/// only with HTML escaping, `L` = maybe U+2028/U+2029 (lead byte 0xE2), any other = a backslash
/// and that letter.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'<' as usize] = b'H';
    t[b'>' as usize] = b'H';
    t[b'&' as usize] = b'H';
    t[0xE2] = b'L';
    t
};

/// Hands `s`, escaped as Go's `encoding/json` writes a string's contents (no surrounding
/// quotes), to `emit` in pieces: runs of unchanged text and single escapes. One table-driven
/// pass; the pieces always split `s` at character boundaries.
pub fn json_escape(s: &str, escape_html: bool, mut emit: impl FnMut(&str)) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let class = ESCAPE[b as usize];
        let width = match class {
            0 => {
                i += 1;
                continue;
            }
            b'H' if !escape_html => {
                i += 1;
                continue;
            }
            // U+2028 / U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
            b'L' if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                3
            }
            b'L' => {
                i += 1;
                continue;
            }
            _ => 1,
        };
        emit(&s[start..i]);
        let mut buf = [0u8; 6];
        let escape: &[u8] = match class {
            b'L' => {
                if bytes[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                }
            }
            b'u' | b'H' => {
                buf = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xF) as usize],
                ];
                &buf
            }
            letter => {
                buf[0] = b'\\';
                buf[1] = letter;
                &buf[..2]
            }
        };
        // Every escape is ASCII.
        emit(std::str::from_utf8(escape).unwrap_or_default());
        i += width;
        start = i;
    }
    emit(&s[start..]);
}

/// Appends `s` as a quoted JSON string, as Go's `encoding/json` writes it.
pub fn push_json_string(out: &mut String, s: &str, escape_html: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    json_escape(s, escape_html, |piece| out.push_str(piece));
    out.push('"');
}

/// [`push_json_string`] into a byte buffer.
pub fn push_json_string_bytes(out: &mut Vec<u8>, s: &str, escape_html: bool) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    json_escape(s, escape_html, |piece| {
        out.extend_from_slice(piece.as_bytes())
    });
    out.push(b'"');
}
