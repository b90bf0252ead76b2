//! A minimal streaming JSON writer with Go's string escaping (`vk_go`), for output that is only
//! ever serialised (the `VAULT_CONFIG` document, the injected containers and every patch value):
//! writing keys and values straight into a byte buffer avoids building, hashing and freeing a
//! `serde_json::Value` tree first. The text is byte for byte what serde_json with
//! [`crate::gojson::GoFormatter`] writes for the equivalent tree.
//!
//! Key order is the call order, so callers spell out upstream's struct field order.

use serde_json::Value;

use crate::gojson::{write_json, write_str as push_str, write_value as push_value};
use crate::jsontree::Json;

/// An open JSON object; [`Obj::write`] opens and closes one around a closure.
pub(crate) struct Obj<'w> {
    out: &'w mut Vec<u8>,
    first: bool,
}

impl<'w> Obj<'w> {
    /// Writes `{`, the members `f` adds, then `}`.
    pub(crate) fn write(out: &'w mut Vec<u8>, f: impl FnOnce(&mut Obj<'_>)) {
        out.push(b'{');
        let mut obj = Obj { out, first: true };
        f(&mut obj);
        obj.out.push(b'}');
    }

    /// The comma before every member but the first.
    fn sep(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// Keys are this crate's own field names (`&'static str`), which never need escaping: they
    /// are copied between quotes without the escaping scan.
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        debug_assert!(
            key.bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"\\<>&".contains(&b))
        );
        self.out.reserve(key.len() + 4);
        self.sep();
        self.out.push(b'"');
        vk_go::push_bytes(self.out, key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// A string member whose key comes from the input (e.g. an `auth-config-*` annotation), so
    /// it is escaped like any value.
    pub(crate) fn str_any_key(&mut self, key: &str, v: &str) {
        self.sep();
        push_str(self.out, key);
        self.out.push(b':');
        push_str(self.out, v);
    }

    pub(crate) fn str(&mut self, key: &'static str, v: &str) {
        let out = self.key(key);
        push_str(out, v);
    }

    /// A string member whose value this crate spells out (see [`push_static`]).
    pub(crate) fn str_static(&mut self, key: &'static str, v: &'static str) {
        let out = self.key(key);
        push_static(out, v);
    }

    /// Go's `omitempty` on a string field.
    pub(crate) fn str_nonempty(&mut self, key: &'static str, v: &str) {
        if !v.is_empty() {
            self.str(key, v);
        }
    }

    /// A string member whose value needs no JSON escaping (base64 text): copied between quotes
    /// without the escaping scan.
    pub(crate) fn str_plain(&mut self, key: &'static str, v: &str) {
        debug_assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        );
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(v.as_bytes());
        out.push(b'"');
    }

    pub(crate) fn int(&mut self, key: &'static str, v: i64) {
        let out = self.key(key);
        push_int(out, v);
    }

    pub(crate) fn bool(&mut self, key: &'static str, v: bool) {
        let out = self.key(key);
        out.extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A member whose value is already JSON text.
    pub(crate) fn raw(&mut self, key: &'static str, json: &str) {
        let out = self.key(key);
        out.extend_from_slice(json.as_bytes());
    }

    pub(crate) fn value(&mut self, key: &'static str, v: &Value) {
        let out = self.key(key);
        push_value(out, v);
    }

    /// A member whose value is taken from the admitted pod.
    pub(crate) fn json(&mut self, key: &'static str, v: &Json<'_>) {
        let out = self.key(key);
        write_json(out, v);
    }

    pub(crate) fn obj(&mut self, key: &'static str, f: impl FnOnce(&mut Obj<'_>)) {
        let out = self.key(key);
        Obj::write(out, f);
    }

    pub(crate) fn arr(&mut self, key: &'static str, f: impl FnOnce(&mut Arr<'_>)) {
        let out = self.key(key);
        Arr::write(out, f);
    }

    /// An array member of strings.
    pub(crate) fn strs(&mut self, key: &'static str, items: &[&str]) {
        self.arr(key, |a| items.iter().for_each(|s| a.str(s)));
    }
}

/// An open JSON array.
pub(crate) struct Arr<'w> {
    out: &'w mut Vec<u8>,
    first: bool,
}

impl<'w> Arr<'w> {
    /// Writes `[`, the items `f` adds, then `]`.
    pub(crate) fn write(out: &'w mut Vec<u8>, f: impl FnOnce(&mut Arr<'_>)) {
        out.push(b'[');
        let mut arr = Arr { out, first: true };
        f(&mut arr);
        arr.out.push(b']');
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    pub(crate) fn str(&mut self, v: &str) {
        self.sep();
        push_str(self.out, v);
    }

    /// Items that are already JSON text this crate spells out (one or more, comma-separated).
    pub(crate) fn raw_static(&mut self, json: &'static str) {
        self.sep();
        self.out.extend_from_slice(json.as_bytes());
    }

    /// An item this crate spells out (see [`push_static`]).
    pub(crate) fn str_static(&mut self, v: &'static str) {
        self.sep();
        push_static(self.out, v);
    }

    pub(crate) fn obj(&mut self, f: impl FnOnce(&mut Obj<'_>)) {
        self.sep();
        Obj::write(self.out, f);
    }
}

/// Appends a string this crate spells out itself, a literal or a constant: the request's
/// strings borrow from the request, so only those are `&'static`. They never need escaping, so
/// they are copied between quotes without the escaping scan, which cost ~200 instructions a
/// string: ~7k instructions per admission on the webapp bench.
fn push_static(out: &mut Vec<u8>, v: &'static str) {
    debug_assert!(
        v.bytes()
            .all(|b| (b.is_ascii_graphic() || b == b' ') && !b"\"\\<>&".contains(&b)),
        "{v:?} needs escaping"
    );
    out.reserve(v.len() + 2);
    out.push(b'"');
    vk_go::push_bytes(out, v.as_bytes());
    out.push(b'"');
}

/// Appends the decimal text of `v` (what serde_json writes for an integer).
pub(crate) fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut n = v.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_strings_are_written_as_escaped_ones() {
        let constant = "/vault/configs -config=x.hcl metadata.namespace {{ $k }}";
        let mut fast = Vec::new();
        Obj::write(&mut fast, |o| {
            o.str_static("k", constant);
            o.arr("a", |a| a.str_static(constant));
        });
        let mut escaped = Vec::new();
        Obj::write(&mut escaped, |o| {
            o.str("k", constant);
            o.arr("a", |a| a.str(constant));
        });
        assert_eq!(fast, escaped);
    }

    /// A constant that Go would escape is caught by the tests that write it.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "needs escaping")]
    fn static_strings_needing_escapes_are_refused() {
        Arr::write(&mut Vec::new(), |a| a.str_static("a && b"));
    }

    #[test]
    fn writes_members_in_call_order_with_go_escaping() {
        let mut out = Vec::new();
        Obj::write(&mut out, |o| {
            o.str("b", "<&>");
            o.str_nonempty("skipped", "");
            o.bool("t", true);
            o.obj("o", |o| o.raw("n", "7"));
            o.arr("a", |a| {
                a.str("x");
                a.obj(|o| o.value("v", &serde_json::json!(0.5)));
            });
            o.obj("e", |_| {});
        });
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#"{"b":"\u003c\u0026\u003e","t":true,"o":{"n":7},"a":["x",{"v":0.5}],"e":{}}"#
        );
    }

    fn text(f: impl FnOnce(&mut Obj<'_>)) -> String {
        let mut out = Vec::new();
        Obj::write(&mut out, f);
        String::from_utf8(out).unwrap_or_default()
    }

    /// What serde_json with Go's formatter writes for the same tree (the engine's output before
    /// the writer, and what upstream's encoder writes).
    fn via_serde(v: &Value) -> String {
        String::from_utf8(crate::gojson::to_vec(v)).unwrap_or_default()
    }

    #[test]
    fn nested_output_matches_serde_with_go_formatter() {
        let odd = "\u{2028}\u{2029}\u{2027}<>&\"\\\u{7f}\u{1f}\u{0}é\u{e2}\u{20ac}\n\t";
        let got = text(|o| {
            o.str_any_key(odd, odd);
            o.int("min", i64::MIN);
            o.int("max", i64::MAX);
            o.int("zero", 0);
            o.int("neg", -42);
            o.obj("nested", |n| {
                n.arr("list", |a| {
                    a.obj(|o| o.strs("drop", &["ALL", "<x>"]));
                    a.obj(|o| o.raw("raw", "[1,{}]"));
                    a.str("");
                });
                n.obj("empty", |_| {});
                n.arr("none", |_| {});
            });
            o.str_plain("b64", "QUJD+/9=");
            o.bool("f", false);
        });
        let want = serde_json::json!({
            odd: odd,
            "min": i64::MIN,
            "max": i64::MAX,
            "zero": 0,
            "neg": -42,
            "nested": {
                "list": [{"drop": ["ALL", "<x>"]}, {"raw": [1, {}]}, ""],
                "empty": {},
                "none": [],
            },
            "b64": "QUJD+/9=",
            "f": false,
        });
        assert_eq!(got, via_serde(&want));
    }

    #[test]
    fn every_character_escapes_as_vk_go_does() {
        let every: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let got = text(|o| o.str("s", &every));
        let mut want = Vec::from(&b"{\"s\":"[..]);
        vk_go::push_json_string_bytes(&mut want, &every, true);
        want.push(b'}');
        assert_eq!(got.as_bytes(), want.as_slice());
        assert_eq!(got, via_serde(&serde_json::json!({"s": every})));
    }

    #[test]
    fn integers_print_like_display() {
        for v in [
            0,
            1,
            9,
            10,
            99,
            100,
            -1,
            -10,
            9102,
            i64::MIN,
            i64::MAX,
            1 << 40,
        ] {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap_or_default(), v.to_string());
        }
    }
}
