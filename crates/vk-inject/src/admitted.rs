//! Decoding the admitted pod straight from the request body into the lean tree of `jsontree.rs`
//! (strings borrowed from the body), keeping only the fields the engine reads (see `pod.rs`);
//! everything else is skipped without being allocated. The webhook decodes one pod per
//! admission, and most of a pod (ports, resources, probes, scheduling fields) is never looked
//! at: building it into a `serde_json::Value` tree only to free it was a large share of an
//! admission's cost.
//!
//! The kept tree is what the engine would have seen in the full one: a field is kept when its
//! name matches a read name case-insensitively (ASCII, as `pod::field` looks names up), so
//! every candidate of a lookup is there in its original order; a value of the wrong JSON type
//! is kept whole, so the engine reports the same decode error. The JSON text is still checked
//! in full (skipped values too), so a malformed body is refused as before.

use std::fmt;

use bumpalo::Bump;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::jsontree::{Builder, Json, JsonSeed, KeySeed};

/// Which parts of a JSON value to keep (also the rules of the fast path, `fastscan.rs`).
pub(crate) enum Keep {
    /// The whole value.
    All,
    /// Of an object, only these members (each with its own rule).
    Fields(&'static [(&'static str, Keep)]),
    /// Of an array, every item by this rule.
    Each(&'static Keep),
}

impl Keep {
    /// The rule for the member `key` of an object kept by this rule (`None`: skip it). Names
    /// match ASCII-case-insensitively, as `pod::field` looks them up; an object where the rule
    /// expects something else is kept whole.
    pub(crate) fn member(&self, key: &str) -> Option<&Keep> {
        match self {
            Keep::Fields(fields) => fields
                .iter()
                .find(|(name, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, rule)| rule),
            Keep::All | Keep::Each(_) => Some(&Keep::All),
        }
    }
}

/// What `pod::Container` reads of an app container. (Init containers are kept whole: with
/// `agent-init-first` the patch writes them back in full.)
static CONTAINER: Keep = Keep::Fields(&[
    ("name", Keep::All),
    ("volumeMounts", Keep::All),
    ("env", Keep::All),
    ("securityContext", Keep::All),
]);

/// What `pod::Pod::decode` reads of a pod.
pub(crate) static POD: Keep = Keep::Fields(&[
    (
        "metadata",
        Keep::Fields(&[("name", Keep::All), ("annotations", Keep::All)]),
    ),
    (
        "spec",
        Keep::Fields(&[
            ("containers", Keep::Each(&CONTAINER)),
            ("initContainers", Keep::All),
            ("volumes", Keep::All),
            ("shareProcessNamespace", Keep::All),
        ]),
    ),
    ("status", Keep::Fields(&[("phase", Keep::All)])),
]);

/// An AdmissionRequest `object`, reduced to what the engine reads: [`crate::mutate_admitted`]
/// gives the same decision for it as [`crate::mutate`] for the whole decoded object. A missing
/// object is `null`.
///
/// The webhook decodes it with [`AdmittedPod::seed`], into a per-request arena and borrowing
/// from the request body. The plain `Deserialize` (tests, tools) has no arena to build in, so
/// it keeps the same pruned members as an owned `serde_json::Value`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmittedPod<'a>(Kept<'a>);

#[derive(Debug, Clone, PartialEq)]
enum Kept<'a> {
    InArena(Json<'a>),
    Owned(Value),
}

impl Default for AdmittedPod<'_> {
    fn default() -> Self {
        Self(Kept::InArena(Json::Null))
    }
}

impl<'a> AdmittedPod<'a> {
    /// Decodes the pod into `arena`, strings borrowed from the text where they carry no
    /// escapes: the webhook's path (building the tree is a pointer bump, dropping it is free).
    pub fn seed(arena: &'a Bump) -> AdmittedPodSeed<'a> {
        AdmittedPodSeed(arena)
    }

    /// A starting size for the arena of a pod decoded from a `body_len`-byte review, so that
    /// decoding adds no chunk to it. The kept tree and its build stacks measured 0.89 of the
    /// body for the bench's `webapp` review and 1.63 for its 20-secret variant (annotations are
    /// kept whole): twice the body covers both. Capped, so a large body of skipped members
    /// does not reserve its size twice over; a tree larger than the cap grows the arena.
    pub fn arena_capacity(body_len: usize) -> usize {
        body_len.saturating_mul(2).min(ARENA_START_MAX)
    }

    /// The pod built by the fast path (`fastscan.rs`) into its arena.
    pub(crate) fn from_tree(tree: Json<'a>) -> Self {
        Self(Kept::InArena(tree))
    }

    /// Whether `other` holds the same tree, each string borrowed from `text` in both or in
    /// neither: for tests and fuzzing that compare the fast path with serde's.
    pub fn same_as(&self, other: &AdmittedPod<'_>, text: &str) -> bool {
        match (&self.0, &other.0) {
            (Kept::InArena(a), Kept::InArena(b)) => crate::jsontree::same_origin(a, b, text),
            (Kept::Owned(a), Kept::Owned(b)) => a == b,
            _ => false,
        }
    }

    /// Runs `f` on the kept tree.
    pub(crate) fn with_tree<R>(&self, f: impl FnOnce(&Json<'_>) -> R) -> R {
        match &self.0 {
            Kept::InArena(tree) => f(tree),
            Kept::Owned(value) => f(Json::from_value(value).tree()),
        }
    }

    /// The kept members as a `serde_json::Value` (a copy, for tests and diagnostics).
    pub fn to_value(&self) -> Value {
        match &self.0 {
            Kept::InArena(tree) => tree.to_value(),
            Kept::Owned(value) => value.clone(),
        }
    }
}

/// The largest starting arena [`AdmittedPod::arena_capacity`] asks for (a typical review is
/// 3 to 20 KiB).
const ARENA_START_MAX: usize = 256 * 1024;

/// Decodes an [`AdmittedPod`] into an arena (see [`AdmittedPod::seed`]).
#[derive(Clone, Copy)]
pub struct AdmittedPodSeed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for AdmittedPodSeed<'a> {
    type Value = AdmittedPod<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let tree = Pruned(&POD, &mut Builder::new(self.0)).deserialize(deserializer)?;
        Ok(AdmittedPod(Kept::InArena(tree)))
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for AdmittedPod<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let arena = Bump::new();
        let tree = Pruned(&POD, &mut Builder::new(&arena)).deserialize(deserializer)?;
        Ok(AdmittedPod(Kept::Owned(tree.to_value())))
    }
}

/// Decodes one value by a [`Keep`] rule into the builder's arena.
struct Pruned<'r, 'b, 'a>(&'r Keep, &'b mut Builder<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for Pruned<'_, '_, 'a> {
    type Value = Json<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'a>, D::Error> {
        match self.0 {
            Keep::All => JsonSeed(self.1).deserialize(deserializer),
            Keep::Fields(_) | Keep::Each(_) => deserializer.deserialize_any(self),
        }
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Pruned<'_, '_, 'a> {
    type Value = Json<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
        // An object where the rule expects an array is kept whole.
        let Pruned(keep, builder) = self;
        let start = builder.object_start();
        while let Some(key) = map.next_key_seed(KeySeed(builder.arena()))? {
            match keep.member(key) {
                Some(rule) => {
                    let value = map.next_value_seed(Pruned(rule, &mut *builder))?;
                    builder.push_member(key, value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(builder.close_object(start))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
        // An array where the rule expects an object is kept whole.
        let Pruned(keep, builder) = self;
        let rule = match keep {
            Keep::Each(rule) => rule,
            Keep::All | Keep::Fields(_) => &Keep::All,
        };
        let start = builder.array_start();
        while let Some(item) = seq.next_element_seed(Pruned(rule, &mut *builder))? {
            builder.push_item(item);
        }
        Ok(builder.close_array(start))
    }

    // Scalars are built as a whole value builds them.

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_u64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_f64(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_borrowed_str(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_str(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<Json<'a>, E> {
        JsonSeed(self.1).visit_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The pod decoded into an arena, as the webhook does.
    fn in_arena<'a>(text: &'a str, arena: &'a Bump) -> serde_json::Result<AdmittedPod<'a>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let pod = AdmittedPod::seed(arena).deserialize(&mut de)?;
        de.end()?;
        Ok(pod)
    }

    /// The kept members; the plain `Deserialize` (no arena) keeps the same ones.
    fn pruned(text: &str) -> Value {
        let arena = Bump::new();
        let kept = in_arena(text, &arena)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_value();
        let owned = serde_json::from_str::<AdmittedPod<'_>>(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_value();
        assert_eq!(kept, owned, "{text}");
        kept
    }

    #[test]
    fn keeps_what_the_engine_reads_in_any_case() {
        let text = r#"{"kind":"Pod","Metadata":{"name":"p","namespace":"n","annotations":{"a":"b"}},
            "spec":{"dnsPolicy":"x","containers":[{"name":"c","image":"i","ports":[1],
            "volumeMounTs":[{"name":"v","mountPath":"/m","readOnly":true}],"env":[{"name":"E"}],
            "securityContext":{"runAsUser":5}}],"volumes":[{"name":"v","projected":{}}],
            "shareProcessNamespace":true},"status":{"phase":"Pending","qosClass":"B"}}"#;
        assert_eq!(
            pruned(text),
            json!({"Metadata":{"name":"p","annotations":{"a":"b"}},
                "spec":{"containers":[{"name":"c",
                "volumeMounTs":[{"name":"v","mountPath":"/m","readOnly":true}],"env":[{"name":"E"}],
                "securityContext":{"runAsUser":5}}],"volumes":[{"name":"v","projected":{}}],
                "shareProcessNamespace":true},"status":{"phase":"Pending"}})
        );
    }

    #[test]
    fn values_of_an_unexpected_type_are_kept_whole() {
        for text in [
            r#""pod""#,
            "null",
            "7",
            r#"[{"a":1},[2]]"#,
            r#"{"metadata":[{"x":{"y":1}}],"spec":{"containers":{"a":[1,{"b":2}]}}}"#,
            r#"{"spec":{"containers":[3,"c",null,[{"z":1}]],"initContainers":"x"},"status":1.5}"#,
        ] {
            let whole: Value = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(pruned(text), whole, "{text}");
        }
    }

    /// What the pruned tree writes, and what the whole one writes for the kept members.
    fn texts(text: &str) -> (String, String) {
        let arena = Bump::new();
        let admitted = in_arena(text, &arena).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut pruned = Vec::new();
        admitted.with_tree(|tree| crate::gojson::write_json(&mut pruned, tree));
        let whole: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut kept = Vec::new();
        crate::gojson::write_value(&mut kept, &whole);
        (
            String::from_utf8(pruned).unwrap_or_default(),
            String::from_utf8(kept).unwrap_or_default(),
        )
    }

    #[test]
    fn a_repeated_member_replaces_the_earlier_one_in_its_place() {
        let (pruned, whole) = texts(
            r#"{"metadata":{"annotations":{"a":"1","b":"2","a":"3"}},"spec":{"volumes":[]},
                "metadata":{"name":"p","name":"q"}}"#,
        );
        assert_eq!(pruned, r#"{"metadata":{"name":"q"},"spec":{"volumes":[]}}"#);
        assert_eq!(pruned, whole);
        // Skipped members may repeat too; a kept one after them still wins.
        let (pruned, whole) = texts(
            r#"{"kind":"Pod","spec":{"containers":[{"name":"a","image":"x","name":"b"}]},
                "kind":"Pod","spec":{"containers":[{"name":"c"}]}}"#,
        );
        assert_eq!(pruned, r#"{"spec":{"containers":[{"name":"c"}]}}"#);
        assert_eq!(
            whole,
            r#"{"kind":"Pod","spec":{"containers":[{"name":"c"}]}}"#
        );
    }

    #[test]
    fn malformed_text_in_a_skipped_member_is_still_refused() {
        let arena = Bump::new();
        for text in [r#"{"kind":[1,}"#, r#"{"spec":{"x":tru}}"#] {
            assert!(in_arena(text, &arena).is_err(), "{text}");
            assert!(
                serde_json::from_str::<AdmittedPod<'_>>(text).is_err(),
                "{text}"
            );
        }
    }
}
