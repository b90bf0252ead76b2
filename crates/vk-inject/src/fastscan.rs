//! A single-pass JSON scanner for the webhook's common case: an AdmissionReview body that is
//! well-formed, UTF-8 text. It builds the same pruned pod tree as [`crate::AdmittedPod::seed`]
//! (the `Keep` rules of `admitted.rs`, the tree built with `jsontree::Builder`) without serde's
//! generic visitor machinery, which costs instructions per value and instruction-cache misses.
//!
//! It is a fast path only: serde_json stays the authority. Every method returns `None` ("not
//! handled") on anything it is not sure about, and the caller then decodes the whole body with
//! serde_json, which gives its exact result or error. So `None` is returned on any syntax error,
//! on an escape `\u` of a UTF-16 surrogate (serde_json's rules for those differ between kept and
//! skipped strings), on a kept number serde_json cannot hold, and on nesting deeper than
//! [`MAX_DEPTH`]. Whatever it accepts, serde_json accepts with the same values: skipped parts are
//! checked as strictly as serde_json checks them (control characters in strings, escapes, the
//! number grammar, literals), and kept numbers are parsed by serde_json itself.

use std::borrow::Cow;

use bumpalo::Bump;
use serde_json::Number;

use crate::admitted::{AdmittedPod, Keep, POD};
use crate::jsontree::{Builder, Json};

/// Nesting (objects and arrays, kept or skipped) beyond which the scan gives up: well below
/// serde_json's recursion limit of 128 kept containers, so anything scanned is in its reach.
pub const MAX_DEPTH: u32 = 100;

/// A position in a JSON text, with the arena the pod's tree is built in.
pub struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
    arena: &'a Bump,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a str, arena: &'a Bump) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
            arena,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after whitespace (as serde_json skips it: space, tab, CR, LF).
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        match *self.bytes().get(self.pos)? {
            b' ' | b'\n' | b'\t' | b'\r' => self.skip_whitespace(),
            b => Some(b),
        }
    }

    /// Passes over whitespace; the indentation of pretty-printed JSON (runs of spaces) eight
    /// bytes at a time.
    fn skip_whitespace(&mut self) -> Option<u8> {
        const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
        let bytes = self.bytes();
        loop {
            match *bytes.get(self.pos)? {
                b' ' | b'\n' | b'\t' | b'\r' => self.pos += 1,
                b => return Some(b),
            }
            while let Some(word) = bytes.get(self.pos..self.pos + 8) {
                let other = word_at(word) ^ SPACES;
                if other != 0 {
                    self.pos += (other.trailing_zeros() / 8) as usize;
                    break;
                }
                self.pos += 8;
            }
        }
    }

    /// Consumes `b` after whitespace.
    #[inline(always)]
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    /// The end of the text: only whitespace may follow (serde_json's `end`).
    pub fn end(mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// Consumes `null` if it comes next (`Some(false)`: something else comes next).
    pub fn null(&mut self) -> Option<bool> {
        if self.peek()? != b'n' {
            return Some(false);
        }
        self.literal("null")?;
        Some(true)
    }

    /// Scans an object, calling `member` with each key (unescaped) and the scanner at its value,
    /// which `member` must consume. Anything but an object is not handled.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.open(b'{')?;
        if self.peek()? != b'}' {
            loop {
                let key = self.key()?;
                member(self, key)?;
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        } else {
            self.pos += 1;
        }
        self.depth -= 1;
        Some(())
    }

    /// A string value, borrowed from the text unless it carries escapes.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        self.pos += 1;
        let start = self.pos;
        let text = self.string_body()?;
        // Unescaping shortens a string: it was borrowed when its text (and closing quote) is
        // exactly as long as it.
        Some(if self.pos - start == text.len() + 1 {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(text.to_owned())
        })
    }

    /// The admitted pod: the members `AdmittedPod::seed` keeps, built as it builds them.
    pub fn pod(&mut self) -> Option<AdmittedPod<'a>> {
        let mut builder = Builder::new(self.arena);
        let tree = self.value(&POD, &mut builder)?;
        Some(AdmittedPod::from_tree(tree))
    }

    /// Enters a container opened by `open`.
    fn open(&mut self, open: u8) -> Option<()> {
        self.eat(open)?;
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// After a member or item: `true` at a comma (another one follows), `false` at `close`
    /// (consumed, the container left to the caller to account for).
    #[inline(always)]
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b',' {
            Some(true)
        } else {
            (b == close).then_some(false)
        }
    }

    /// A member's key and its colon; an escaped key is unescaped into the arena.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let key = self.string_body()?;
        if self.bytes().get(self.pos) == Some(&b':') {
            self.pos += 1;
        } else {
            self.eat(b':')?;
        }
        Some(key)
    }

    /// The rest of a string whose opening quote is consumed: borrowed from the text when it
    /// has no escapes, else unescaped into the arena ([`Self::unescape`]).
    #[inline]
    fn string_body(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let stop = plain_run(self.bytes(), start);
        match *self.bytes().get(stop)? {
            b'"' => {
                self.pos = stop + 1;
                self.text.get(start..stop)
            }
            b'\\' => self.unescape(),
            _ => None,
        }
    }

    /// Checks and passes over the rest of a string whose opening quote is consumed (escapes
    /// checked as for a kept string, nothing unescaped).
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        let bytes = self.bytes();
        loop {
            self.pos = plain_run(bytes, self.pos);
            match *bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape()?;
                }
                _ => return None,
            }
        }
    }

    /// A string with escapes, from its first character to past its closing quote, unescaped
    /// into the arena. Its raw length bounds the unescaped one, so the arena string is sized
    /// once and never grows (a grown one would leave its old copy behind in the arena).
    #[inline(never)]
    fn unescape(&mut self) -> Option<&'a str> {
        let bytes = self.bytes();
        let mut end = self.pos;
        loop {
            end = plain_run(bytes, end);
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' => end += 2,
                _ => return None,
            }
        }
        let mut out = bumpalo::collections::String::with_capacity_in(end - self.pos, self.arena);
        loop {
            let run = self.pos;
            self.pos = plain_run(bytes, run);
            out.push_str(self.text.get(run..self.pos)?);
            match *bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(out.into_bump_str());
                }
                b'\\' => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => return None,
            }
        }
    }

    /// The character of an escape whose backslash is consumed. A `\u` escape of a surrogate
    /// is handled only as a well-formed pair.
    #[inline(never)]
    fn escape(&mut self) -> Option<char> {
        let b = *self.bytes().get(self.pos)?;
        self.pos += 1;
        Some(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        if self.bytes().get(self.pos..self.pos + 2)? != b"\\u" {
                            return None;
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        let code = 0x10000
                            + ((u32::from(unit) - 0xD800) << 10)
                            + (u32::from(low) - 0xDC00);
                        char::from_u32(code)?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(u32::from(unit))?,
                }
            }
            _ => return None,
        })
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Option<u16> {
        let digits = self.bytes().get(self.pos..self.pos + 4)?;
        let mut unit = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return None,
            };
            unit = unit << 4 | u16::from(v);
        }
        self.pos += 4;
        Some(unit)
    }

    /// `word` (a literal) at the position.
    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes().get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    /// A number's text, checked against JSON's grammar as serde_json checks it.
    fn number(&mut self) -> Option<&'a str> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match bytes.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                digits(&mut i);
            }
            _ => return None,
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.pos = i;
        self.text.get(start..i)
    }

    /// Checks and passes over one value.
    pub fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => {
                self.open(b'{')?;
                if self.peek()? == b'}' {
                    self.pos += 1;
                } else {
                    loop {
                        self.eat(b'"')?;
                        self.skip_string()?;
                        self.eat(b':')?;
                        self.skip_value()?;
                        if !self.next_or_close(b'}')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
            }
            b'[' => {
                self.open(b'[')?;
                if self.peek()? == b']' {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_value()?;
                        if !self.next_or_close(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
            }
            b'"' => {
                self.pos += 1;
                self.skip_string()?;
            }
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => self.literal("null")?,
            _ => {
                self.number()?;
            }
        }
        Some(())
    }

    /// One value by its `Keep` rule, as `admitted.rs`'s `Pruned` (and, for `Keep::All`,
    /// `jsontree`'s `JsonSeed`) builds it: an object keeps the members its rule names
    /// (ASCII-case-insensitively), an array applies its rule to every item, and a container of
    /// the type the rule does not expect is kept whole.
    fn value(&mut self, keep: &Keep, builder: &mut Builder<'a>) -> Option<Json<'a>> {
        Some(match self.peek()? {
            b'{' => {
                self.open(b'{')?;
                let start = builder.object_start();
                if self.peek()? == b'}' {
                    self.pos += 1;
                } else {
                    loop {
                        let key = self.key()?;
                        match keep.member(key) {
                            Some(rule) => {
                                let value = self.value(rule, builder)?;
                                builder.push_member(key, value);
                            }
                            None => self.skip_value()?,
                        }
                        if !self.next_or_close(b'}')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                builder.close_object(start)
            }
            b'[' => {
                self.open(b'[')?;
                let rule = match keep {
                    Keep::Each(rule) => rule,
                    Keep::All | Keep::Fields(_) => &Keep::All,
                };
                let start = builder.array_start();
                if self.peek()? == b']' {
                    self.pos += 1;
                } else {
                    loop {
                        let item = self.value(rule, builder)?;
                        builder.push_item(item);
                        if !self.next_or_close(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                builder.close_array(start)
            }
            b'"' => {
                self.pos += 1;
                Json::String(self.string_body()?)
            }
            b't' => {
                self.literal("true")?;
                Json::Bool(true)
            }
            b'f' => {
                self.literal("false")?;
                Json::Bool(false)
            }
            b'n' => {
                self.literal("null")?;
                Json::Null
            }
            _ => {
                // serde_json's own parse, so the value is exactly the one it would hold (a
                // number out of f64's range is its error: not handled).
                let number: Number = serde_json::from_str(self.number()?).ok()?;
                Json::Number(self.arena.alloc(number))
            }
        })
    }
}

/// The index of the first byte from `from` on that ends a plain run of string text: a quote,
/// a backslash or a control character (or the end of `bytes`). Eight bytes at a time: a word's
/// lowest flagged byte is exact (a borrow only ever runs upwards, from a flagged byte).
#[inline(always)]
fn plain_run(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8) {
        let w = word_at(word);
        let found = ((w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES)
            | (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES)
            | w.wrapping_sub(ONES * 0x20))
            & !w
            & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// Eight bytes as a word, the first in its lowest byte.
#[inline(always)]
fn word_at(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests;
