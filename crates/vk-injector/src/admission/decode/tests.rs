use serde_json::{Value, json};

use super::*;

/// The review as serde's derive decoded it before the arena (the pod without an arena: the
/// same kept members, owned). Same type names, so the errors' wording can be compared.
mod derived {
    use std::borrow::Cow;

    use serde::Deserialize;
    use vk_inject::AdmittedPod;

    use crate::admission::GroupVersionKind;

    #[derive(Deserialize)]
    pub(super) struct ReviewIn<'a> {
        #[serde(default, borrow)]
        pub(super) kind: Cow<'a, str>,
        #[serde(default, rename = "apiVersion", borrow)]
        pub(super) api_version: Cow<'a, str>,
        #[serde(borrow)]
        pub(super) request: Option<Request<'a>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Request<'a> {
        #[serde(default, borrow)]
        pub(super) uid: Cow<'a, str>,
        #[serde(default, borrow)]
        pub(super) kind: GroupVersionKind<'a>,
        #[serde(default, borrow)]
        pub(super) namespace: Cow<'a, str>,
        #[serde(default, borrow)]
        pub(super) operation: Cow<'a, str>,
        #[serde(default, borrow)]
        pub(super) object: AdmittedPod<'a>,
    }
}

/// What the handler reads of a decoded review, or the decode error's text.
fn seen(body: &[u8]) -> Result<Value, String> {
    let arena = Bump::new();
    let review = ReviewIn::decode(body, &arena).map_err(|e| e.to_string())?;
    Ok(json!([
        review.kind,
        review.api_version,
        review.request.map(|r| json!([
            r.uid,
            r.kind.kind,
            r.namespace,
            r.operation,
            r.object.to_value()
        ]))
    ]))
}

fn seen_by_derive(body: &[u8]) -> Result<Value, String> {
    let review: derived::ReviewIn<'_> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(json!([
        review.kind,
        review.api_version,
        review.request.map(|r| json!([
            r.uid,
            r.kind.kind,
            r.namespace,
            r.operation,
            r.object.to_value()
        ]))
    ]))
}

/// Bodies with every shape the derive's rules cover, accepted and refused (shared with the
/// fast path's differential test).
pub(super) fn derive_bodies() -> Vec<String> {
    let pod = r#"{"kind":"Pod","metadata":{"name":"p","annotations":{"a":"b","a":"c"}},
        "spec":{"containers":[{"name":"c","image":"i"}]},"status":{"phase":"Pending"}}"#;
    [
        format!(
            r#"{{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{{
            "uid":"u-1","kind":{{"group":"","kind":"Pod"}},"namespace":"ns","operation":"CREATE",
            "object":{pod},"oldObject":null,"dryRun":false}}}}"#
        ),
        // Escapes, unknown members, fields absent, null and odd shapes.
        format!(
            r#"{{"k\u0069nd":"R\u00e9view","request":{{"object":{pod},"uid":"\"q\""}},"x":[1]}}"#
        ),
        r#"{"request":null}"#.to_owned(),
        r#"{"request":{}}"#.to_owned(),
        r#"{"request":{"object":null}}"#.to_owned(),
        r#"{"request":{"object":"pod"}}"#.to_owned(),
        "{}".to_owned(),
        // The positional form the derive accepts.
        format!(r#"["AdmissionReview","v1",["u","Pod","ns","CREATE",{pod}]]"#),
        r#"["AdmissionReview","v1",null]"#.to_owned(),
        r#"["AdmissionReview",null,{}]"#.to_owned(),
        r#"["AdmissionReview","v1",[]]"#.to_owned(),
        r#"["AdmissionReview","v1"]"#.to_owned(),
        // Refused: each error as the derive words it.
        r#"{"kind":"a","kind":"b"}"#.to_owned(),
        r#"{"request":{"uid":"a","uid":"b"}}"#.to_owned(),
        r#"{"request":{"object":{},"object":{}}}"#.to_owned(),
        r#"{"request":{},"request":null}"#.to_owned(),
        r#"{"kind":1}"#.to_owned(),
        r#"{"request":{"namespace":["x"]}}"#.to_owned(),
        r#"{"request":{"kind":"Pod"}}"#.to_owned(),
        r#"{"request":7}"#.to_owned(),
        r#""review""#.to_owned(),
        "null".to_owned(),
        r#"{"request":{"object":{"spec":{"x":tru}}}}"#.to_owned(),
        r#"{"request":{}} {}"#.to_owned(),
        r#"{"request":{}"#.to_owned(),
        String::new(),
    ]
    .into()
}

#[test]
fn decodes_as_the_derive_did() {
    let bodies = derive_bodies();
    for body in &bodies {
        assert_eq!(
            seen(body.as_bytes()),
            seen_by_derive(body.as_bytes()),
            "{body}"
        );
    }
    // Bodies that are not UTF-8 take the byte path: the same outcome as before, refused with
    // serde_json's error naming line and column, or accepted where the bad bytes sit in a
    // member the decode skips (serde_json does not check skipped strings).
    let not_utf8: [(&[u8], bool); 4] = [
        (b"{\"kind\":\"\xff\"}", true),
        (
            b"{\"request\":{\"uid\":\"u\",\n\"object\":{\"metadata\":{\"name\":\"\xc3\x28\"}}}}",
            true,
        ),
        (
            b"{\"request\":{\"object\":{\"spec\":{\"x\":\"\xed\xa0\x80\"}}}}",
            false,
        ),
        (b"\xef\xbb\xbf{}", true),
    ];
    for (body, refused) in not_utf8 {
        let got = seen(body);
        assert_eq!(got, seen_by_derive(body), "{}", body.escape_ascii());
        match got {
            Err(err) => assert!(refused && err.contains(" line "), "{err}"),
            Ok(_) => assert!(!refused, "{} accepted", body.escape_ascii()),
        }
    }
}

/// The pod is in the arena: strings without escapes borrow from the body.
#[test]
fn the_pod_borrows_from_the_body() {
    let body = br#"{"request":{"uid":"u","object":{"metadata":{"name":"plain"}}}}"#;
    let arena = Bump::new();
    let review = ReviewIn::decode(body, &arena).unwrap_or_else(|e| panic!("{e}"));
    let Some(request) = review.request else {
        panic!("no request");
    };
    assert!(matches!(request.uid, Cow::Borrowed("u")));
    assert_eq!(
        request.object.to_value(),
        json!({"metadata": {"name": "plain"}})
    );
    assert!(arena.allocated_bytes() > 0);
}
