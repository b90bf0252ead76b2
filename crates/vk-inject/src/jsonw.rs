//! A minimal streaming JSON writer with Go's string escaping, for output that is only ever
//! serialised (the `VAULT_CONFIG` document): writing keys and values straight into a byte
//! buffer avoids building and hashing a `serde_json::Value` tree first.
//!
//! Key order is the call order, so callers spell out upstream's struct field order.

use serde_json::Value;

use crate::gojson::{write_str as push_str, write_value as push_value};

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

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    pub(crate) fn str(&mut self, key: &str, v: &str) {
        let out = self.key(key);
        push_str(out, v);
    }

    /// Go's `omitempty` on a string field.
    pub(crate) fn str_nonempty(&mut self, key: &str, v: &str) {
        if !v.is_empty() {
            self.str(key, v);
        }
    }

    pub(crate) fn bool(&mut self, key: &str, v: bool) {
        let out = self.key(key);
        out.extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A member whose value is already JSON text.
    pub(crate) fn raw(&mut self, key: &str, json: &str) {
        let out = self.key(key);
        out.extend_from_slice(json.as_bytes());
    }

    pub(crate) fn value(&mut self, key: &str, v: &Value) {
        let out = self.key(key);
        push_value(out, v);
    }

    pub(crate) fn obj(&mut self, key: &str, f: impl FnOnce(&mut Obj<'_>)) {
        let out = self.key(key);
        Obj::write(out, f);
    }

    pub(crate) fn arr(&mut self, key: &str, f: impl FnOnce(&mut Arr<'_>)) {
        let out = self.key(key);
        out.push(b'[');
        let mut arr = Arr { out, first: true };
        f(&mut arr);
        arr.out.push(b']');
    }
}

/// An open JSON array.
pub(crate) struct Arr<'w> {
    out: &'w mut Vec<u8>,
    first: bool,
}

impl Arr<'_> {
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

    pub(crate) fn obj(&mut self, f: impl FnOnce(&mut Obj<'_>)) {
        self.sep();
        Obj::write(self.out, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
