//! The RFC 6902 operations of a [`crate::Decision::Inject`] and their wire form. Each value is
//! kept as the JSON text it goes on the wire as (written once by `jsonw`, Go's encoding), so
//! serialising the patch only concatenates.

use std::fmt;

use crate::gojson;

/// One RFC 6902 operation; serialises with keys in the order `op`, `path`, `value` (no `value`
/// for remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: String,
    pub value: Option<PatchValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
}

/// An operation's value as compact JSON text, byte for byte what serde_json with
/// [`gojson::GoFormatter`] writes for it (Go's escaping, Go's field order).
#[derive(Clone, PartialEq, Eq)]
pub struct PatchValue(Vec<u8>);

impl PatchValue {
    /// Wraps text the engine wrote; callers guarantee it is one complete JSON value.
    pub(crate) fn from_json(json: Vec<u8>) -> Self {
        Self(json)
    }

    /// The JSON text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value decoded (for tests and tools that inspect a patch; the webhook never does).
    pub fn to_value(&self) -> serde_json::Value {
        // The engine only ever stores complete JSON values written by `jsonw`.
        serde_json::from_slice(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Debug for PatchValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

/// Serialise a patch the way upstream does (compact JSON array; Go escaping of `<`, `>`, `&`).
///
/// Byte for byte serde_json's output for the same operations with Go escaping; the values are
/// already JSON text, so this only concatenates (it runs once per admission request).
pub fn patch_to_json(patch: &[PatchOp]) -> Vec<u8> {
    let len: usize = patch
        .iter()
        .map(|op| 40 + op.path.len() + op.value.as_ref().map_or(0, |v| v.0.len()))
        .sum();
    let mut out = Vec::with_capacity(len + 2);
    out.push(b'[');
    for (i, op) in patch.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(match op.op {
            PatchOpKind::Add => b"{\"op\":\"add\",\"path\":",
            PatchOpKind::Remove => b"{\"op\":\"remove\",\"path\":",
        });
        gojson::write_str(&mut out, &op.path);
        if let Some(value) = &op.value {
            out.extend_from_slice(b",\"value\":");
            out.extend_from_slice(&value.0);
        }
        out.push(b'}');
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_form_matches_serde_of_the_same_operations() {
        let value = json!({"name": "x", "list": [1, 2.5, "\u{2028}<&>"]});
        let patch = vec![
            PatchOp {
                op: PatchOpKind::Add,
                path: "/metadata/annotations/a~1<b>".to_owned(),
                value: Some(PatchValue::from_json(gojson::to_vec(&value))),
            },
            PatchOp {
                op: PatchOpKind::Remove,
                path: "/spec/volumes/0".to_owned(),
                value: None,
            },
        ];
        let same = json!([
            {"op": "add", "path": "/metadata/annotations/a~1<b>", "value": value},
            {"op": "remove", "path": "/spec/volumes/0"},
        ]);
        assert_eq!(patch_to_json(&patch), gojson::to_vec(&same));
        assert_eq!(patch_to_json(&[]), b"[]");
        assert_eq!(
            patch[0].value.as_ref().map(PatchValue::to_value),
            Some(value)
        );
        assert_eq!(
            format!("{:?}", patch[0].value),
            r#"Some({"name":"x","list":[1,2.5,"\u2028\u003c\u0026\u003e"]})"#
        );
    }
}
