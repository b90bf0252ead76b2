//! A lean JSON tree that borrows from the text it was decoded from: the engine's view of the
//! admitted pod. Building a `serde_json::Value` costs, per object, an `IndexMap` with a SipHash
//! index (the workspace enables `preserve_order`) and one heap `String` per key and per string
//! value; here a string is `Cow::Borrowed` from the request body unless it carries JSON escapes,
//! and an object is a plain `Vec` of members in input order (the engine only ever scans pod
//! objects, which are small).
//!
//! It holds what a `serde_json::Value` would hold, in the same order: numbers are serde_json's
//! own `Number` (so they print as before), and a key given twice keeps the position of its first
//! occurrence with the value of its last, as `serde_json::Map` with `preserve_order` does.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One JSON value; strings and keys borrow from the decoded text where they can.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in input order, keys unique (see [`dedupe`]).
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// A view of `v` that borrows its strings (keys of a `Value` are already unique).
    pub(crate) fn from_value(v: &'a Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Number(n.clone()),
            Value::String(s) => Self::String(Cow::Borrowed(s)),
            Value::Array(items) => Self::Array(items.iter().map(Self::from_value).collect()),
            Value::Object(map) => Self::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Self::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The same value as a `serde_json::Value` (owned copies of every string).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => Value::Number(n.clone()),
            Self::String(s) => Value::String(s.as_ref().to_owned()),
            Self::Array(items) => Value::Array(items.iter().map(Self::to_value).collect()),
            Self::Object(members) => {
                let mut map = Map::new();
                for (k, v) in members {
                    map.insert(k.as_ref().to_owned(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&[(Cow<'a, str>, Json<'a>)]> {
        match self {
            Self::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The JSON type name as Go's `UnmarshalTypeError` spells it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "bool",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }
}

/// Objects up to this size are deduplicated by comparing each key with the kept ones; larger
/// ones by one sort of their keys, so a body's worth of keys costs O(n log n), not O(n²).
const LINEAR_DEDUPE_MAX: usize = 32;

/// Makes the keys of `members` unique the way `serde_json::Map` (with `preserve_order`) does
/// when a key repeats: the entry keeps its first position and takes the last value.
pub(crate) fn dedupe(members: &mut Vec<(Cow<'_, str>, Json<'_>)>) {
    if members.len() < 2 {
        return;
    }
    if members.len() <= LINEAR_DEDUPE_MAX {
        let mut kept = 0;
        for i in 0..members.len() {
            let (head, rest) = members.split_at_mut(i);
            let (key, value) = &mut rest[0];
            match head[..kept].iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = std::mem::take(value),
                None => {
                    members.swap(kept, i);
                    kept += 1;
                }
            }
        }
        members.truncate(kept);
        return;
    }
    // Indices ordered by key, equal keys in input order.
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_unstable_by(|&a, &b| match members[a].0.cmp(&members[b].0) {
        Ordering::Equal => a.cmp(&b),
        other => other,
    });
    let mut dropped: Option<Vec<bool>> = None;
    let mut start = 0;
    while start < order.len() {
        let first = order[start];
        let mut end = start + 1;
        while end < order.len() && members[order[end]].0 == members[first].0 {
            end += 1;
        }
        if end - start > 1 {
            let last = order[end - 1];
            members[first].1 = std::mem::take(&mut members[last].1);
            let dropped = dropped.get_or_insert_with(|| vec![false; members.len()]);
            for &i in &order[start + 1..end] {
                dropped[i] = true;
            }
        }
        start = end;
    }
    if let Some(dropped) = dropped {
        let mut i = 0;
        members.retain(|_| {
            i += 1;
            !dropped[i - 1]
        });
    }
}

/// An object key, borrowed from the text unless it carries escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// Builds a whole [`Json`] value. Its scalar methods are shared by the pruning decoder
/// (`admitted.rs`), so both build scalars exactly as `serde_json::Value` does.
pub(crate) struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            members.push((key, map.next_value::<Json<'de>>()?));
        }
        dedupe(&mut members);
        Ok(Json::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Json<'de>>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        de::Deserialize::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests;
