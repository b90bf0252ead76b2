//! The fast path against serde: over many bodies (valid, truncated, mutated at every byte,
//! odd escapes and numbers, repeated keys, deep nesting) `ReviewIn::decode` must give exactly
//! what `ReviewIn::decode_by_serde` gives, and the fast path may only accept what serde accepts,
//! with the same values.

use bumpalo::Bump;
use serde_json::{Value, json};

use super::{ReviewIn, fast};

const FIXTURE_POD: &str =
    include_str!("../../../../vk-test-utils/fixtures/webapp-pod-admitted.json");

/// Checks both paths on `body`; returns whether the fast path handled it.
fn agree(body: &[u8]) -> bool {
    let shown = || String::from_utf8_lossy(body).into_owned();
    let arena = Bump::new();
    let by_serde = ReviewIn::decode_by_serde(body, &arena);
    let decoded = ReviewIn::decode(body, &arena);
    let fast = std::str::from_utf8(body)
        .ok()
        .and_then(|text| fast::review(text, &arena).map(|review| (text, review)));
    match (&decoded, &by_serde) {
        (Ok(a), Ok(b)) => {
            let text = std::str::from_utf8(body).unwrap_or_default();
            assert!(a.same_as(b, text), "decode differs from serde: {}", shown());
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{}", shown()),
        _ => panic!(
            "decode {:?} but serde {:?}: {}",
            decoded.as_ref().err(),
            by_serde.as_ref().err(),
            shown()
        ),
    }
    let Some((text, fast)) = fast else {
        return false;
    };
    match &by_serde {
        Ok(review) => assert!(fast.same_as(review, text), "fast path differs: {text}"),
        Err(err) => panic!("the fast path accepts what serde refuses ({err}): {text}"),
    }
    true
}

/// A review as the API server sends it, around the pod text `pod`.
fn review(pod: &str) -> String {
    format!(
        r#"{{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{{"uid":"0f1e2d3c-4b5a","kind":{{"group":"","version":"v1","kind":"Pod"}},"resource":{{"group":"","version":"v1","resource":"pods"}},"namespace":"default","operation":"CREATE","userInfo":{{"username":"system:serviceaccount:kube-system:replicaset-controller","groups":["system:serviceaccounts","system:authenticated"]}},"object":{pod},"oldObject":null,"dryRun":false,"options":{{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}}}}"#
    )
}

/// The fixture pod, compact.
fn fixture_pod() -> String {
    let pod: Value = serde_json::from_str(FIXTURE_POD).unwrap_or_else(|e| panic!("{e}"));
    pod.to_string()
}

#[test]
fn the_fast_path_handles_the_common_bodies() {
    let compact = review(&fixture_pod());
    let pretty = review(FIXTURE_POD);
    for body in [&compact, &pretty] {
        assert!(agree(body.as_bytes()), "not handled: {body}");
    }
    // Escapes, absent fields and `null`s are handled too.
    for body in [
        r#"{"k\u0069nd":"R\u00e9view","request":{"uid":"\"q\"","object":{"metadata":{"name":"a\/b"}}}}"#,
        r#"{"request":null}"#,
        r#"{"request":{"object":null}}"#,
        "{}",
        " {\n} \r\n",
    ] {
        assert!(agree(body.as_bytes()), "not handled: {body}");
    }
}

#[test]
fn both_paths_agree_on_the_derive_bodies_and_the_cases() {
    for body in super::tests::derive_bodies() {
        agree(body.as_bytes());
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../vk-inject/tests/cases");
    let mut handled = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no cases in {dir}");
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let cases: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        for case in cases.as_array().into_iter().flatten() {
            let annotations = case.get("annotations").cloned().unwrap_or_default();
            let pods = [
                json!({"metadata":{"name":"p","annotations":annotations},
                    "spec":{"containers":[{"name":"app","image":"i"}]},"case":case}),
                case.get("pod").cloned().unwrap_or_default(),
            ];
            for pod in pods {
                assert!(agree(review(&pod.to_string()).as_bytes()), "{pod}");
                handled += 1;
                // Pretty-printed, with non-ASCII text escaped by nothing but kept as is.
                let pretty = serde_json::to_string_pretty(&pod).unwrap_or_default();
                assert!(agree(review(&pretty).as_bytes()), "{pretty}");
            }
        }
    }
    assert!(handled > 300, "{handled} case pods");
}

#[test]
fn both_paths_agree_on_truncated_and_mutated_bodies() {
    // Every byte replaced by, or preceded by, each of these bytes, and deleted.
    let body = review(&fixture_pod());
    let bytes = body.as_bytes();
    for end in 0..bytes.len() {
        assert!(!agree(&bytes[..end]), "a truncated body was accepted");
    }
    let replacements: [&[u8]; 9] = [
        b"\"",
        b"\\",
        b"}",
        b"]",
        b",",
        b"0",
        b"\x01",
        "é".as_bytes(),
        b"\xc3",
    ];
    let mut handled = 0;
    for at in 0..bytes.len() {
        for with in replacements {
            let mut mutated = bytes[..at].to_vec();
            mutated.extend_from_slice(with);
            mutated.extend_from_slice(&bytes[at + 1..]);
            handled += usize::from(agree(&mutated));
            // The same bytes inserted before the offset.
            let mut inserted = bytes[..at].to_vec();
            inserted.extend_from_slice(with);
            inserted.extend_from_slice(&bytes[at..]);
            agree(&inserted);
        }
        // And the byte deleted.
        let mut deleted = bytes[..at].to_vec();
        deleted.extend_from_slice(&bytes[at + 1..]);
        agree(&deleted);
    }
    // Many mutations land in strings (an `é` or `0` there is harmless): the fast path takes them.
    assert!(handled > bytes.len(), "{handled} mutated bodies handled");
}

/// `value` in a kept place (an annotation, a container's env), and in skipped ones (a pod
/// member the engine does not read, an unknown member of the request).
fn placed(value: &str) -> Vec<String> {
    [
        format!(r#"{{"metadata":{{"annotations":{{"a":{value}}}}}}}"#),
        format!(r#"{{"spec":{{"containers":[{{"name":"c","env":[{value}]}}]}}}}"#),
        format!(r#"{{"spec":{{"priority":{value},"containers":[]}}}}"#),
        format!(r#"{{"status":{{"conditions":[{value}],"phase":{value}}}}}"#),
    ]
    .iter()
    .map(|pod| review(pod))
    .chain([
        format!(r#"{{"request":{{"x":{value},"uid":"u"}}}}"#),
        format!(r#"{{"request":{{"uid":{value}}},"kind":{value}}}"#),
    ])
    .collect()
}

#[test]
fn both_paths_agree_on_escapes_and_numbers() {
    let strings = [
        r#""plain""#,
        r#""a\"b\\c\/d\b\f\n\r\tz""#,
        r#""\u00e9\u0041\u20ac""#,
        r#""\ud83d\ude00 pair""#,
        r#""\uD83D\uDE00""#,
        r#""lone \ud83d""#,
        r#""lone \ud83dx""#,
        r#""lone \ud83d\u0041""#,
        r#""low \ude00""#,
        r#""\u12""#,
        r#""\u12g4""#,
        r#""\x""#,
        "\"raw\u{1}control\"",
        "\"tab\tinside\"",
        "\"del \u{7f} and é ✓ 😀\"",
        r#""""#,
        r#""\u0000""#,
    ];
    let numbers = [
        "0",
        "-0",
        "1e5",
        "1.0",
        "1E+2",
        "-1.5e-3",
        "2.5e-400",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1e400",
        "-1e400",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "-01",
        "1.5E",
        "0.000001",
        "true",
        "false",
        "null",
        "nul",
        "tru",
        "[]",
        "{}",
        r#"{"a":1,"a":2}"#,
        r#"[1,]"#,
        r#"{"a":1,}"#,
        "[1 2]",
    ];
    let mut handled = 0;
    for value in strings.iter().chain(&numbers) {
        for body in placed(value) {
            handled += usize::from(agree(body.as_bytes()));
        }
    }
    // Escaped keys, kept and skipped.
    for key in [
        r#""n\u0061me""#,
        r#""\ud83d\ude00""#,
        r#""\ud83d""#,
        r#""a\nb""#,
    ] {
        for pod in [
            format!(r#"{{"metadata":{{{key}:"x","annotations":{{{key}:"y"}}}}}}"#),
            format!(r#"{{"spec":{{{key}:"x"}}}}"#),
        ] {
            handled += usize::from(agree(review(&pod).as_bytes()));
        }
    }
    assert!(handled > 60, "{handled} handled");
}

#[test]
fn both_paths_agree_on_repeated_keys() {
    for body in [
        review(
            r#"{"metadata":{"annotations":{"a":"1","b":"2","a":"3"},"name":"x"},"metadata":{"name":"p","name":"q"}}"#,
        ),
        review(
            r#"{"spec":{"containers":[{"name":"a","image":"x","name":"b"}]},"Spec":{"volumes":[]}}"#,
        ),
        review(r#"{"metadata":{"annotations":{"a":1,"\u0061":2}}}"#),
        review(&format!(
            r#"{{"metadata":{{"annotations":{{{}}}}}}}"#,
            (0..80)
                .map(|i| format!(r#""k{}":{i}"#, i % 50))
                .collect::<Vec<_>>()
                .join(",")
        )),
        r#"{"kind":"a","kind":"b"}"#.to_owned(),
        r#"{"x":1,"x":2,"request":{"y":1,"y":2}}"#.to_owned(),
        r#"{"request":{"kind":{"kind":"a","kind":"b"}}}"#.to_owned(),
        r#"{"request":{"kind":{"kind":"a","x":1,"x":2}}}"#.to_owned(),
        r#"{"request":{"object":{},"object":{}}}"#.to_owned(),
    ] {
        agree(body.as_bytes());
    }
}

#[test]
fn both_paths_agree_on_deep_nesting() {
    let mut handled = Vec::new();
    for depth in [
        1, 50, 95, 96, 97, 98, 120, 124, 125, 126, 127, 128, 200, 3000,
    ] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        for value in [&nested, &objects] {
            for body in placed(value) {
                if agree(body.as_bytes()) {
                    handled.push(depth);
                }
            }
        }
    }
    assert!(
        handled.contains(&50) && !handled.contains(&200),
        "{handled:?}"
    );
}
