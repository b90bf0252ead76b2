//! `strconv.Quote`: a double-quoted Go string literal with Go's escapes.

use std::fmt::Write;

/// Go `strconv.Quote`. Printable characters stay as they are; `\a \b \f \n \r \t \v \\ \"` use
/// their short escapes; other control characters below U+0020 and U+007F become `\xNN`, other
/// non-printable characters `\uNNNN` / `\UNNNNNNNN` (lower-case hex, as Go).
///
/// Printability follows Go's `strconv.IsPrint` for every category that can appear in
/// configuration text (controls, format characters, separators other than the ASCII space,
/// private use, non-characters); code points unassigned in Go's Unicode tables are kept as they
/// are.
pub fn quote(s: &str) -> String {
    quote_with(s, false)
}

/// Go `strconv.QuoteToASCII` (`%+q`): as [`quote`], but every non-ASCII character is escaped.
pub fn quote_to_ascii(s: &str) -> String {
    quote_with(s, true)
}

fn quote_with(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c, ascii_only);
    }
    out.push('"');
    out
}

/// Go's `%q` of a byte string (`strconv.Quote(string(b))`): as [`quote`], and each byte that
/// is not valid UTF-8 becomes `\xNN`.
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_quoted_char(&mut out, c, false);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char, ascii_only: bool) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if is_print(c) && (!ascii_only || c.is_ascii()) => out.push(c),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.IsPrint` for the categories above (also `fmt`'s test for `%#U` and `%q`).
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() {
        return false;
    }
    let non_printing = matches!(u,
        // Space separators other than U+0020, line and paragraph separators.
        0x00A0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000
        // Format characters.
        | 0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0x110BD | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        // Private use and non-characters.
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFDD0..=0xFDEF
    );
    let nonchar = (u & 0xFFFE) == 0xFFFE;
    !(non_printing || nonchar)
}
