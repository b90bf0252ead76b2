//! A lean JSON tree that borrows from the text it was decoded from: the engine's view of the
//! admitted pod. Building a `serde_json::Value` costs, per object, an `IndexMap` with a SipHash
//! index (the workspace enables `preserve_order`) and one heap `String` per key and per string
//! value; here a string borrows from the request body (or, when it carries JSON escapes, is
//! unescaped into the arena), and an object is a plain slice of members in input order (the
//! engine only ever scans pod objects, which are small).
//!
//! Every slice lives in a per-request [`Bump`] arena: building a node is a pointer bump and
//! dropping the tree is free (it has no drop glue at all; the arena is released in one piece).
//! With `Vec`s, decoding the bench's `webapp` review cost 26 `malloc`/`free` pairs, now 2 (the
//! arena's one chunk and serde_json's scratch), and dropping it walked every node (~4.6k
//! instructions); the decode went from ~64k to ~58k instructions under callgrind.
//!
//! It holds what a `serde_json::Value` would hold, in the same order: numbers are serde_json's
//! own `Number` (so they print as before), and a key given twice keeps the position of its first
//! occurrence with the value of its last, as `serde_json::Map` with `preserve_order` does.

use std::cmp::Ordering;
use std::fmt;

use bumpalo::Bump;
use bumpalo::collections::Vec as BumpVec;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One JSON value; strings and keys borrow from the decoded text or from the arena.
///
/// `Copy` (a number is held by reference, in the arena or the `Value` viewed), so a closing
/// container's members move into their slice with one `memcpy`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) enum Json<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(&'a Number),
    String(&'a str),
    Array(&'a [Json<'a>]),
    /// Members in input order, keys unique (see [`dedupe`]).
    Object(&'a [(&'a str, Json<'a>)]),
}

// The arena never runs destructors: a node, and a number it points to, must own nothing (this
// fails if serde_json's `arbitrary_precision`, whose `Number` holds a `String`, is ever enabled).
const _: () = assert!(!std::mem::needs_drop::<Number>());

/// A `serde_json::Value` with the arena its lean view is built in (see [`Json::from_value`]).
pub(crate) struct ValueTree<'v> {
    value: &'v Value,
    arena: Bump,
}

impl ValueTree<'_> {
    /// The lean view of the value (built anew in the arena on each call).
    pub(crate) fn tree(&self) -> &Json<'_> {
        self.arena
            .alloc(Json::from_value_in(self.value, &self.arena))
    }
}

impl<'a> From<&'a ValueTree<'_>> for &'a Json<'a> {
    fn from(tree: &'a ValueTree<'_>) -> Self {
        tree.tree()
    }
}

impl<'a> Json<'a> {
    /// `v` with an arena for its lean view, for the callers that start from a whole `Value`
    /// (`mutate`, tests): the view is borrowed from it with [`ValueTree::tree`].
    pub(crate) fn from_value(v: &Value) -> ValueTree<'_> {
        ValueTree {
            value: v,
            arena: Bump::new(),
        }
    }

    /// A view of `v` that borrows its strings, its slices allocated in `arena` (keys of a
    /// `Value` are already unique).
    pub(crate) fn from_value_in(v: &'a Value, arena: &'a Bump) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Number(n),
            Value::String(s) => Self::String(s),
            Value::Array(items) => Self::Array(
                arena.alloc_slice_fill_iter(items.iter().map(|v| Self::from_value_in(v, arena))),
            ),
            Value::Object(map) => Self::Object(
                arena.alloc_slice_fill_iter(
                    map.iter()
                        .map(|(k, v)| (k.as_str(), Self::from_value_in(v, arena))),
                ),
            ),
        }
    }

    /// The same value as a `serde_json::Value` (owned copies of every string).
    pub(crate) fn to_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Number(n) => Value::Number(n.clone()),
            Self::String(s) => Value::String(s.to_owned()),
            Self::Array(items) => Value::Array(items.iter().map(|v| v.to_value()).collect()),
            Self::Object(members) => {
                let mut map = Map::new();
                for (k, v) in members {
                    map.insert((*k).to_owned(), v.to_value());
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

    pub(crate) fn as_str(&self) -> Option<&'a str> {
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

    pub(crate) fn as_array(&self) -> Option<&'a [Json<'a>]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&'a [(&'a str, Json<'a>)]> {
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

/// Whether `a` and `b` are the same tree with each string (key or value) borrowed from `text`
/// in both or in neither (tests of the fast path, `fastscan.rs`).
pub(crate) fn same_origin(a: &Json<'_>, b: &Json<'_>, text: &str) -> bool {
    let range = text.as_bytes().as_ptr_range();
    let same_str =
        |x: &str, y: &str| x == y && range.contains(&x.as_ptr()) == range.contains(&y.as_ptr());
    match (a, b) {
        (Json::String(x), Json::String(y)) => same_str(x, y),
        // `-0.0 == 0.0`: the text tells them apart.
        (Json::Number(x), Json::Number(y)) => x == y && x.to_string() == y.to_string(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(*y).all(|(x, y)| same_origin(x, y, text))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(*y)
                    .all(|((kx, vx), (ky, vy))| same_str(kx, ky) && same_origin(vx, vy, text))
        }
        _ => a == b,
    }
}

/// Objects up to this size are deduplicated by comparing each key with the kept ones; larger
/// ones by one sort of their keys, so a body's worth of keys costs O(n log n), not O(n²).
const LINEAR_DEDUPE_MAX: usize = 32;

/// Makes the keys of `members` unique the way `serde_json::Map` (with `preserve_order`) does
/// when a key repeats: the entry keeps its first position and takes the last value. The kept
/// members end up first, in order; returns how many there are.
pub(crate) fn dedupe(members: &mut [(&str, Json<'_>)]) -> usize {
    if members.len() < 2 {
        return members.len();
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
        return kept;
    }
    // Indices ordered by key, equal keys in input order.
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_unstable_by(|&a, &b| match members[a].0.cmp(members[b].0) {
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
    let Some(dropped) = dropped else {
        return members.len();
    };
    let mut kept = 0;
    for (i, gone) in dropped.into_iter().enumerate() {
        if !gone {
            members.swap(kept, i);
            kept += 1;
        }
    }
    kept
}

/// Builds [`Json`] values in an arena. The members (items) of the objects (arrays) being decoded
/// wait on one stack, itself in the arena, and move into an exact-size slice when their
/// container closes: no slice is grown, so none leaves a discarded copy behind in the arena.
pub(crate) struct Builder<'a> {
    arena: &'a Bump,
    members: BumpVec<'a, (&'a str, Json<'a>)>,
    items: BumpVec<'a, Json<'a>>,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(arena: &'a Bump) -> Self {
        Self {
            arena,
            members: BumpVec::new_in(arena),
            items: BumpVec::new_in(arena),
        }
    }

    pub(crate) fn arena(&self) -> &'a Bump {
        self.arena
    }

    /// Where the next object's members start on the stack.
    pub(crate) fn object_start(&self) -> usize {
        self.members.len()
    }

    pub(crate) fn push_member(&mut self, key: &'a str, value: Json<'a>) {
        self.members.push((key, value));
    }

    /// The object whose members were pushed since `start`, deduplicated.
    pub(crate) fn close_object(&mut self, start: usize) -> Json<'a> {
        let kept = dedupe(&mut self.members[start..]);
        let members = self
            .arena
            .alloc_slice_copy(&self.members[start..start + kept]);
        self.members.truncate(start);
        Json::Object(members)
    }

    /// Where the next array's items start on the stack.
    pub(crate) fn array_start(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn push_item(&mut self, item: Json<'a>) {
        self.items.push(item);
    }

    /// The array whose items were pushed since `start`.
    pub(crate) fn close_array(&mut self, start: usize) -> Json<'a> {
        let items = self.arena.alloc_slice_copy(&self.items[start..]);
        self.items.truncate(start);
        Json::Array(items)
    }
}

/// Decodes a whole JSON value into `arena`.
#[cfg(test)]
pub(crate) fn decode_in<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
    arena: &'a Bump,
) -> Result<Json<'a>, D::Error> {
    JsonSeed(&mut Builder::new(arena)).deserialize(deserializer)
}

/// An object key: borrowed from the text, or unescaped into the arena.
pub(crate) struct KeySeed<'a>(pub(crate) &'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for KeySeed<'a> {
    type Value = &'a str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<&'a str, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for KeySeed<'a> {
    type Value = &'a str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<&'a str, E> {
        Ok(v)
    }

    fn visit_str<E>(self, v: &str) -> Result<&'a str, E> {
        Ok(self.0.alloc_str(v))
    }
}

/// Builds a whole [`Json`] value. Its scalar methods are shared by the pruning decoder
/// (`admitted.rs`), so both build scalars exactly as `serde_json::Value` does.
pub(crate) struct JsonSeed<'b, 'a>(pub(crate) &'b mut Builder<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for JsonSeed<'_, 'a> {
    type Value = Json<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'a>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for JsonSeed<'_, 'a> {
    type Value = Json<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
        let start = self.0.object_start();
        while let Some(key) = map.next_key_seed(KeySeed(self.0.arena()))? {
            let value = map.next_value_seed(JsonSeed(&mut *self.0))?;
            self.0.push_member(key, value);
        }
        Ok(self.0.close_object(start))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
        let start = self.0.array_start();
        while let Some(item) = seq.next_element_seed(JsonSeed(&mut *self.0))? {
            self.0.push_item(item);
        }
        Ok(self.0.close_array(start))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'a>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'a>, E> {
        Ok(Json::Number(self.0.arena().alloc(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'a>, E> {
        Ok(Json::Number(self.0.arena().alloc(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'a>, E> {
        let arena = self.0.arena();
        Ok(Number::from_f64(v).map_or(Json::Null, |n| Json::Number(arena.alloc(n))))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'a>, E> {
        Ok(Json::String(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'a>, E> {
        Ok(Json::String(self.0.arena().alloc_str(v)))
    }

    fn visit_unit<E>(self) -> Result<Json<'a>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'a>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'a>, D::Error> {
        self.deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests;
