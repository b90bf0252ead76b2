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

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::jsontree::{Json, JsonVisitor, Key, dedupe};

/// Which parts of a JSON value to keep.
enum Keep {
    /// The whole value.
    All,
    /// Of an object, only these members (each with its own rule).
    Fields(&'static [(&'static str, Keep)]),
    /// Of an array, every item by this rule.
    Each(&'static Keep),
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
static POD: Keep = Keep::Fields(&[
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

/// An AdmissionRequest `object`, reduced to what the engine reads and borrowing from the
/// request body: [`crate::mutate_admitted`] gives the same decision for it as [`crate::mutate`]
/// for the whole decoded object. A missing object is `null`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AdmittedPod<'a>(Json<'a>);

impl<'a> AdmittedPod<'a> {
    /// The kept tree.
    pub(crate) fn tree(&self) -> &Json<'a> {
        &self.0
    }

    /// The kept members as a `serde_json::Value` (a copy, for tests and diagnostics).
    pub fn to_value(&self) -> Value {
        self.0.to_value()
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for AdmittedPod<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Pruned(&POD).deserialize(deserializer).map(AdmittedPod)
    }
}

/// Decodes one value by a [`Keep`] rule.
#[derive(Clone, Copy)]
struct Pruned(&'static Keep);

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        match self.0 {
            Keep::All => de::Deserialize::deserialize(deserializer),
            Keep::Fields(_) | Keep::Each(_) => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Pruned {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        // An object where the rule expects an array is kept whole.
        let mut members = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let rule = match self.0 {
                Keep::Fields(fields) => fields
                    .iter()
                    .find(|(name, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, rule)| rule),
                Keep::All | Keep::Each(_) => Some(&Keep::All),
            };
            match rule {
                Some(rule) => {
                    let value = map.next_value_seed(Pruned(rule))?;
                    members.push((key, value));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        dedupe(&mut members);
        Ok(Json::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        // An array where the rule expects an object is kept whole.
        let rule = match self.0 {
            Keep::Each(rule) => rule,
            Keep::All | Keep::Fields(_) => &Keep::All,
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Pruned(rule))? {
            out.push(item);
        }
        Ok(Json::Array(out))
    }

    // Scalars are built as a whole value builds them.

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json<'de>, E> {
        JsonVisitor.visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json<'de>, E> {
        JsonVisitor.visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json<'de>, E> {
        JsonVisitor.visit_u64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'de>, E> {
        JsonVisitor.visit_f64(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Json<'de>, E> {
        JsonVisitor.visit_borrowed_str(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'de>, E> {
        JsonVisitor.visit_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json<'de>, E> {
        JsonVisitor.visit_string(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        JsonVisitor.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<Json<'de>, E> {
        JsonVisitor.visit_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pruned(text: &str) -> Value {
        serde_json::from_str::<AdmittedPod<'_>>(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_value()
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
        let admitted: AdmittedPod<'_> =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut pruned = Vec::new();
        crate::gojson::write_json(&mut pruned, admitted.tree());
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
        assert!(serde_json::from_str::<AdmittedPod<'_>>(r#"{"kind":[1,}"#).is_err());
        assert!(serde_json::from_str::<AdmittedPod<'_>>(r#"{"spec":{"x":tru}}"#).is_err());
    }
}
