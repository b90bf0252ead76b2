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
        // Most text needs no escape at all: step over it in one go.
        i += clean_len(&bytes[i..], escape_html);
        let Some(&b) = bytes.get(i) else {
            break;
        };
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

/// How many leading bytes of `bytes` certainly need no escaping: whole words of eight are
/// tested at once, and only a word that may need attention is walked byte by byte against the
/// table (a U+2028/U+2029 lead byte stops it). The last word of a string of eight bytes or
/// more overlaps the one before it instead of being walked; a shorter string is padded with a
/// byte that never needs escaping.
fn clean_len(bytes: &[u8], escape_html: bool) -> usize {
    let n = bytes.len();
    if n < 8 {
        // Shifted in byte by byte (a copy of a variable length would be a `memcpy` call) over
        // a word of `a`s, which never need escaping.
        let word = bytes
            .iter()
            .enumerate()
            .fold(u64::from_le_bytes([b'a'; 8]), |w, (k, &b)| {
                (w & !(0xFF << (8 * k))) | u64::from(b) << (8 * k)
            });
        return if needs_attention(word, escape_html) {
            clean_prefix(bytes, escape_html)
        } else {
            n
        };
    }
    let word_at = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let mut i = 0;
    while i + 8 <= n {
        if needs_attention(word_at(i), escape_html) {
            return i + clean_prefix(&bytes[i..i + 8], escape_html);
        }
        i += 8;
    }
    // Bytes before `i` are clean, so a hit in the overlapping last word is at `i` or after.
    if i < n && needs_attention(word_at(n - 8), escape_html) {
        i + clean_prefix(&bytes[i..], escape_html)
    } else {
        n
    }
}

/// How many leading bytes of `bytes` need no escaping, by the table alone.
fn clean_prefix(bytes: &[u8], escape_html: bool) -> usize {
    bytes
        .iter()
        .position(|&b| match ESCAPE[b as usize] {
            0 => false,
            b'H' => escape_html,
            _ => true,
        })
        .unwrap_or(bytes.len())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that equals `byte` (the classic SWAR zero-byte test;
/// exact as "is there any").
const fn eq_mask(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * byte as u64);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Whether some byte of these eight may need escaping (the table decides): a control byte, a
/// quote, a backslash, the lead byte of U+2028/U+2029, or with HTML escaping `<`, `>`, `&`.
/// The tests are or-ed together so the common answer, no, costs one branch.
const fn needs_attention(word: u64, escape_html: bool) -> bool {
    // A byte below 0x20 (bytes >= 0x80 are excluded by `!word`).
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let mut found = control | eq_mask(word, b'"') | eq_mask(word, b'\\') | eq_mask(word, 0xE2);
    if escape_html {
        found |= eq_mask(word, b'<') | eq_mask(word, b'>') | eq_mask(word, b'&');
    }
    found != 0
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
    // A string with nothing to escape (nearly all the webhook writes) is one `clean_len`
    // scan and one copy inside `json_escape`.
    out.reserve(s.len() + 2);
    out.push(b'"');
    json_escape(s, escape_html, |piece| {
        crate::push_bytes(out, piece.as_bytes())
    });
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaping, one byte at a time from the table alone (what the fast skip must not
    /// change).
    fn byte_by_byte(s: &str, escape_html: bool) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            let mut one = String::new();
            match c {
                '\u{2028}' => one.push_str("\\u2028"),
                '\u{2029}' => one.push_str("\\u2029"),
                '<' | '>' | '&' if escape_html => one = format!("\\u{:04x}", c as u32),
                '"' => one.push_str("\\\""),
                '\\' => one.push_str("\\\\"),
                '\n' => one.push_str("\\n"),
                '\r' => one.push_str("\\r"),
                '\t' => one.push_str("\\t"),
                '\u{8}' => one.push_str("\\b"),
                '\u{c}' => one.push_str("\\f"),
                c if (c as u32) < 0x20 => one = format!("\\u{:04x}", c as u32),
                c => one.push(c),
            }
            out.push_str(&one);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    #[test]
    fn fast_skip_matches_byte_by_byte_at_every_offset() {
        let specials = [
            "\u{2028}", "\u{2029}", "\u{2027}", "\u{20ac}", "é", "<", ">", "&", "\"", "\\", "\n",
            "\u{1}", "\u{1f}", "\u{7f}", " ", "~",
        ];
        for special in specials {
            for before in 0..17 {
                for after in [0, 1, 7, 8, 9] {
                    let s = format!("{}{special}{}", "a".repeat(before), "b".repeat(after));
                    for html in [true, false] {
                        let mut got = String::new();
                        json_escape(&s, html, |p| got.push_str(p));
                        assert_eq!(got, byte_by_byte(&s, html), "{s:?} html={html}");
                    }
                }
            }
        }
    }
}
