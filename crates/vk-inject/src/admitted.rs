//! Decoding the admitted pod straight from the request body, keeping only the fields the engine
//! reads (see `pod.rs`); everything else is skipped without being allocated. The webhook
//! decodes one pod per admission, and most of a pod (ports, resources, probes, scheduling
//! fields) is never looked at: building it into a `serde_json::Value` tree only to free it
//! was a large share of an admission's cost.
//!
//! The kept tree is what the engine would have seen in the full one: a field is kept when its
//! name matches a read name case-insensitively (ASCII, as `pod::field` looks names up), so
//! every candidate of a lookup is there in its original order; a value of the wrong JSON type
//! is kept whole, so the engine reports the same decode error. The JSON text is still checked
//! in full (skipped values too), so a malformed body is refused as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

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

/// An AdmissionRequest `object`, reduced to what [`crate::mutate`] reads: passing `.0` to it
/// gives the same decision as passing the whole decoded object. A missing object is `null`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AdmittedPod(pub Value);

impl<'de> de::Deserialize<'de> for AdmittedPod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Pruned(&POD).deserialize(deserializer).map(AdmittedPod)
    }
}

/// Decodes one value by a [`Keep`] rule.
#[derive(Clone, Copy)]
struct Pruned(&'static Keep);

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Keep::All => de::Deserialize::deserialize(deserializer),
            Keep::Fields(_) | Keep::Each(_) => deserializer.deserialize_any(self),
        }
    }
}

/// An object key, borrowed from the body unless it carries escapes: skipped members cost no
/// allocation.
struct Key<'de>(Cow<'de, str>);

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
}

impl<'de> Visitor<'de> for Pruned {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // An object where the rule expects an array is kept whole.
        let mut out = Map::new();
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
                    out.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // An array where the rule expects an object is kept whole.
        let rule = match self.0 {
            Keep::Each(rule) => rule,
            Keep::All | Keep::Fields(_) => &Keep::All,
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Pruned(rule))? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pruned(text: &str) -> Value {
        serde_json::from_str::<AdmittedPod>(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .0
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

    #[test]
    fn malformed_text_in_a_skipped_member_is_still_refused() {
        assert!(serde_json::from_str::<AdmittedPod>(r#"{"kind":[1,}"#).is_err());
        assert!(serde_json::from_str::<AdmittedPod>(r#"{"spec":{"x":tru}}"#).is_err());
    }
}
