use serde::de::DeserializeSeed;
use serde_json::{Value, json};

use super::*;

/// The pod in `text` decoded as the webhook's serde path does.
fn by_serde<'a>(text: &'a str, arena: &'a Bump) -> serde_json::Result<AdmittedPod<'a>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let pod = AdmittedPod::seed(arena).deserialize(&mut de)?;
    de.end()?;
    Ok(pod)
}

/// The pod in `text` by the fast path, if it handles it.
fn by_scan<'a>(text: &'a str, arena: &'a Bump) -> Option<AdmittedPod<'a>> {
    let mut scan = Scanner::new(text, arena);
    let pod = scan.pod()?;
    scan.end()?;
    Some(pod)
}

/// The fast path's pod, checked against serde's (same tree, same borrowed strings).
fn scanned(text: &str) -> Option<Value> {
    let arena = Bump::new();
    let pod = by_scan(text, &arena)?;
    match by_serde(text, &arena) {
        Ok(expected) => assert!(pod.same_as(&expected, text), "{text}"),
        Err(err) => panic!("accepted what serde refuses ({err}): {text}"),
    }
    Some(pod.to_value())
}

#[test]
fn keeps_what_the_serde_path_keeps() {
    let text = r#"{"kind":"Pod","Metadata":{"name":"p","namespace":"n","annotations":{"a":"b"}},
        "spec":{"dnsPolicy":"x","containers":[{"name":"c","image":"i","ports":[1],
        "volumeMounTs":[{"name":"v","mountPath":"/m","readOnly":true}],"env":[{"name":"E"}],
        "securityContext":{"runAsUser":5}}],"volumes":[{"name":"v","projected":{}}],
        "shareProcessNamespace":true},"status":{"phase":"Pending","qosClass":"B"}}"#;
    assert_eq!(
        scanned(text),
        Some(json!({"Metadata":{"name":"p","annotations":{"a":"b"}},
            "spec":{"containers":[{"name":"c",
            "volumeMounTs":[{"name":"v","mountPath":"/m","readOnly":true}],"env":[{"name":"E"}],
            "securityContext":{"runAsUser":5}}],"volumes":[{"name":"v","projected":{}}],
            "shareProcessNamespace":true},"status":{"phase":"Pending"}}))
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
        assert_eq!(scanned(text), Some(whole), "{text}");
    }
}

#[test]
fn escaped_strings_are_unescaped_into_the_arena_and_plain_ones_borrowed() {
    let text = r#"{"metadata":{"n\u0061me":"a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00","annotations":{"k":"plain"}}}"#;
    let arena = Bump::new();
    let pod = by_scan(text, &arena).unwrap_or_else(|| panic!("not handled"));
    let tree = pod.to_value();
    assert_eq!(
        tree,
        json!({"metadata":{"name":"a\"b\\c/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}","annotations":{"k":"plain"}}})
    );
    let expected = by_serde(text, &arena).unwrap_or_else(|e| panic!("{e}"));
    assert!(pod.same_as(&expected, text));
    // The check tells a borrowed string from a copied one.
    let copied = r#"{"metadata":{"name":"x"}}"#.to_owned();
    let other = by_serde(&copied, &arena).unwrap_or_else(|e| panic!("{e}"));
    let here = r#"{"metadata":{"name":"x"}}"#;
    let borrowed = by_scan(here, &arena).unwrap_or_else(|| panic!("not handled"));
    assert!(!borrowed.same_as(&other, here));
}

#[test]
fn numbers_are_serde_json_s_own() {
    for (number, handled) in [
        ("0", true),
        ("-0", true),
        ("1e5", true),
        ("1.0", true),
        ("-1.5E-3", true),
        ("18446744073709551616", true),
        ("-9223372036854775809", true),
        ("123456789012345678901234567890", true),
        ("1e400", false),
        ("01", false),
        ("1.", false),
        ("-", false),
        ("+1", false),
    ] {
        let text = format!(
            r#"{{"spec":{{"containers":[{{"securityContext":{{"runAsUser":{number}}}}}]}}}}"#
        );
        assert_eq!(scanned(&text).is_some(), handled, "{text}");
        // Skipped, a number needs only be well-formed.
        let skipped = format!(r#"{{"spec":{{"priority":{number}}}}}"#);
        let well_formed = !matches!(number, "01" | "1." | "-" | "+1");
        assert_eq!(scanned(&skipped).is_some(), well_formed, "{skipped}");
    }
}

#[test]
fn anything_unsure_is_not_handled() {
    for text in [
        r#"{"metadata":{"name":"lone \ud83d"}}"#,
        r#"{"spec":{"x":"lone \udc00"}}"#,
        r#"{"spec":{"x":"\u12"}}"#,
        r#"{"spec":{"x":"\q"}}"#,
        "{\"spec\":{\"x\":\"\u{1}\"}}",
        r#"{"spec":{"x":tru}}"#,
        r#"{"spec":{"x":[1,]}}"#,
        r#"{"spec":{"x":{"a":1,}}}"#,
        r#"{"spec":{}"#,
        r#"{"spec":{}} {}"#,
        "",
    ] {
        assert_eq!(scanned(text), None, "{text}");
    }
    let deep = format!(
        r#"{{"spec":{{"x":{}{}}}}}"#,
        "[".repeat(MAX_DEPTH as usize),
        "]".repeat(MAX_DEPTH as usize)
    );
    assert_eq!(scanned(&deep), None);
}

#[test]
fn a_repeated_member_replaces_the_earlier_one_in_its_place() {
    let text = r#"{"metadata":{"annotations":{"a":"1","b":"2","\u0061":"3"}},"spec":{"volumes":[]},
        "metadata":{"name":"p","name":"q"}}"#;
    assert_eq!(
        scanned(text),
        Some(json!({"metadata":{"name":"q"},"spec":{"volumes":[]}}))
    );
}
