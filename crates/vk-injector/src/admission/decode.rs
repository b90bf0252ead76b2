//! Decoding an AdmissionReview body with the pod's tree in a per-request arena
//! ([`vk_inject::AdmittedPod::seed`]). serde's derive cannot hand a field a seed, so
//! [`ReviewIn`] and [`Request`] are decoded here by hand, by the derive's rules: unknown fields
//! are skipped, a repeated field is refused (`duplicate field`), absent fields take their
//! default, `"request": null` is no request, and the positional (array) form is accepted.

use std::borrow::Cow;
use std::fmt;

use bumpalo::Bump;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vk_inject::AdmittedPod;

use super::{Request, ReviewIn};

mod fast;

impl<'a> ReviewIn<'a> {
    /// Decodes the whole of `body` as `serde_json::from_slice` does (trailing text refused),
    /// strings borrowed from it, the pod's tree built in `arena`.
    ///
    /// Most bodies take a hand-written single-pass scan ([`fast`]); any body it is not sure
    /// about is decoded by serde ([`Self::decode_by_serde`]), whose result and errors are the
    /// authority.
    pub fn decode(body: &'a [u8], arena: &'a Bump) -> serde_json::Result<Self> {
        if let Ok(text) = std::str::from_utf8(body)
            && let Some(review) = fast::review(text, arena)
        {
            return Ok(review);
        }
        Self::decode_by_serde(body, arena)
    }

    /// [`Self::decode`] by serde alone (also for the tests and the fuzz target that compare
    /// the fast path with it).
    pub fn decode_by_serde(body: &'a [u8], arena: &'a Bump) -> serde_json::Result<Self> {
        // Checking the whole body as UTF-8 once is a word-at-a-time pass over ASCII; decoding
        // from the `str` then skips serde_json's check of every string (about 8k instructions
        // per admission of the bench's pod, mostly the per-call cost on short strings). A body
        // that is not UTF-8 is decoded from the bytes, so it fails with serde_json's own error,
        // naming line and column, as before.
        match std::str::from_utf8(body) {
            Ok(text) => Self::decode_from(serde_json::Deserializer::from_str(text), arena),
            Err(_) => Self::decode_from(serde_json::Deserializer::from_slice(body), arena),
        }
    }

    /// Whether `other` is the same decode of `body`: equal fields, each string borrowed from
    /// the body in both or in neither (for the tests and the fuzz target of the fast path).
    pub fn same_as(&self, other: &ReviewIn<'_>, body: &str) -> bool {
        #[expect(
            clippy::ptr_arg,
            reason = "whether the string is borrowed is compared too"
        )]
        fn same(a: &Cow<'_, str>, b: &Cow<'_, str>) -> bool {
            a == b && matches!(a, Cow::Borrowed(_)) == matches!(b, Cow::Borrowed(_))
        }
        same(&self.kind, &other.kind)
            && same(&self.api_version, &other.api_version)
            && match (&self.request, &other.request) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    same(&a.uid, &b.uid)
                        && same(&a.kind.kind, &b.kind.kind)
                        && same(&a.namespace, &b.namespace)
                        && same(&a.operation, &b.operation)
                        && a.object.same_as(&b.object, body)
                }
                _ => false,
            }
    }

    fn decode_from<R: serde_json::de::Read<'a>>(
        mut de: serde_json::Deserializer<R>,
        arena: &'a Bump,
    ) -> serde_json::Result<Self> {
        let review = ReviewSeed(arena).deserialize(&mut de)?;
        de.end()?;
        Ok(review)
    }
}

const REVIEW_FIELDS: &[&str] = &["kind", "apiVersion", "request"];
const REQUEST_FIELDS: &[&str] = &["uid", "kind", "namespace", "operation", "object"];

struct ReviewSeed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for ReviewSeed<'a> {
    type Value = ReviewIn<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ReviewIn<'a>, D::Error> {
        deserializer.deserialize_struct("ReviewIn", REVIEW_FIELDS, self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ReviewSeed<'a> {
    type Value = ReviewIn<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct ReviewIn")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReviewIn<'a>, A::Error> {
        let (mut kind, mut api_version, mut request) = (None, None, None);
        while let Some(field) = map.next_key_seed(FieldIndex(REVIEW_FIELDS))? {
            match field {
                Some(0) => once(&mut kind, "kind", || map.next_value_seed(CowStr))?,
                Some(1) => once(&mut api_version, "apiVersion", || {
                    map.next_value_seed(CowStr)
                })?,
                Some(_) => once(&mut request, "request", || {
                    map.next_value_seed(OptionSeed(RequestSeed(self.0)))
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ReviewIn {
            kind: kind.unwrap_or_default(),
            api_version: api_version.unwrap_or_default(),
            request: request.flatten(),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ReviewIn<'a>, A::Error> {
        let kind = seq.next_element_seed(CowStr)?.unwrap_or_default();
        let api_version = seq.next_element_seed(CowStr)?.unwrap_or_default();
        let Some(request) = seq.next_element_seed(OptionSeed(RequestSeed(self.0)))? else {
            return Err(de::Error::invalid_length(
                2,
                &"struct ReviewIn with 3 elements",
            ));
        };
        Ok(ReviewIn {
            kind,
            api_version,
            request,
        })
    }
}

struct RequestSeed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for RequestSeed<'a> {
    type Value = Request<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Request<'a>, D::Error> {
        deserializer.deserialize_struct("Request", REQUEST_FIELDS, self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for RequestSeed<'a> {
    type Value = Request<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Request")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request<'a>, A::Error> {
        let (mut uid, mut kind, mut namespace, mut operation, mut object) =
            (None, None, None, None, None);
        while let Some(field) = map.next_key_seed(FieldIndex(REQUEST_FIELDS))? {
            match field {
                Some(0) => once(&mut uid, "uid", || map.next_value_seed(CowStr))?,
                Some(1) => once(&mut kind, "kind", || map.next_value())?,
                Some(2) => once(&mut namespace, "namespace", || map.next_value_seed(CowStr))?,
                Some(3) => once(&mut operation, "operation", || map.next_value_seed(CowStr))?,
                Some(_) => once(&mut object, "object", || {
                    map.next_value_seed(AdmittedPod::seed(self.0))
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Request {
            uid: uid.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            namespace: namespace.unwrap_or_default(),
            operation: operation.unwrap_or_default(),
            object: object.unwrap_or_default(),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Request<'a>, A::Error> {
        Ok(Request {
            uid: seq.next_element_seed(CowStr)?.unwrap_or_default(),
            kind: seq.next_element()?.unwrap_or_default(),
            namespace: seq.next_element_seed(CowStr)?.unwrap_or_default(),
            operation: seq.next_element_seed(CowStr)?.unwrap_or_default(),
            object: seq
                .next_element_seed(AdmittedPod::seed(self.0))?
                .unwrap_or_default(),
        })
    }
}

/// Fills `slot` from `value`, refusing a field given twice (before decoding it, as the derive
/// does).
fn once<T, E: de::Error>(
    slot: &mut Option<T>,
    name: &'static str,
    value: impl FnOnce() -> Result<T, E>,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value()?);
    Ok(())
}

/// A member name as its index in a field list (`None`: not a field, skipped).
struct FieldIndex(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldIndex {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldIndex {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|f| *f == v))
    }
}

/// A string borrowed from the body unless it carries escapes (the derive's `borrow` on a
/// `Cow<str>`).
struct CowStr;

impl<'de> DeserializeSeed<'de> for CowStr {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CowStr {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// `null` as `None`, anything else by the inner seed.
struct OptionSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for OptionSeed<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for OptionSeed<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod differential;
