use std::borrow::Cow;

use serde_json::Value;

use super::*;
use crate::gojson::{write_json, write_value};
use crate::pod::{field, str_field};

fn lean(text: &str) -> Json<'_> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn lean_text(v: &Json<'_>) -> String {
    let mut out = Vec::new();
    write_json(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

/// What the engine wrote for the same text before the lean tree: a `serde_json::Value` written
/// by `gojson::write_value` (keys in the map's order).
fn value_text(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut out = Vec::new();
    write_value(&mut out, &v);
    String::from_utf8(out).unwrap_or_default()
}

fn same_as_value(text: &str) {
    let tree = lean(text);
    assert_eq!(lean_text(&tree), value_text(text), "{text}");
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    assert_eq!(tree.to_value(), v, "{text}");
    assert_eq!(Json::from_value(&v), tree, "{text}");
}

#[test]
fn a_repeated_key_keeps_its_first_place_and_last_value() {
    let tree = lean(r#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]},"b":null}"#);
    assert_eq!(lean_text(&tree), r#"{"a":3,"b":null,"c":{"x":[2]}}"#);
    for text in [
        r#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]},"b":null}"#,
        r#"{"k":1,"k":2,"k":3}"#,
        r#"{"K":1,"k":2,"K":3}"#,
        r#"{"a\u0062":1,"ab":2}"#,
        r#"[{"z":1,"y":2,"z":3},{"z":1}]"#,
    ] {
        same_as_value(text);
    }
}

/// Objects around the size where deduplication switches from comparing to sorting.
#[test]
fn repeated_keys_in_objects_of_every_size_match_serde_json() {
    for size in [
        LINEAR_DEDUPE_MAX - 1,
        LINEAR_DEDUPE_MAX,
        LINEAR_DEDUPE_MAX + 1,
        3 * LINEAR_DEDUPE_MAX,
    ] {
        for stride in [1, 2, 3, 7] {
            // `size` members over `size / stride` distinct keys, repeats interleaved.
            let distinct = size.div_ceil(stride);
            let members: Vec<String> = (0..size)
                .map(|i| format!(r#""k{}":{i}"#, (i * 5) % distinct))
                .collect();
            same_as_value(&format!("{{{}}}", members.join(",")));
        }
    }
}

/// 100,000 members (a body's worth): one sort, not 10^10 comparisons, and the same result.
#[test]
fn huge_objects_are_deduplicated_without_quadratic_cost() {
    let distinct: Vec<String> = (0..100_000).map(|i| format!(r#""key-{i}":{i}"#)).collect();
    same_as_value(&format!("{{{}}}", distinct.join(",")));
    let repeated: Vec<String> = (0..100_000)
        .map(|i| format!(r#""key-{}":{i}"#, (i * 7919) % 1000))
        .collect();
    let text = format!("{{{}}}", repeated.join(","));
    let tree = lean(&text);
    assert_eq!(tree.as_object().map(<[_]>::len), Some(1000));
    assert_eq!(lean_text(&tree), value_text(&text));
    let same: Vec<String> = (0..100_000).map(|i| format!(r#""k":{i}"#)).collect();
    let text = format!("{{{}}}", same.join(","));
    assert_eq!(lean_text(&lean(&text)), r#"{"k":99999}"#);
}

#[test]
fn strings_borrow_unless_they_carry_escapes() {
    let text = r#"{"plain":"value","esc\"aped":"a\nb","u":"\u00e9","":""}"#;
    let tree = lean(text);
    let Some(members) = tree.as_object() else {
        panic!("not an object");
    };
    let shapes: Vec<(bool, bool)> = members
        .iter()
        .map(|(k, v)| {
            let Json::String(v) = v else {
                panic!("not a string");
            };
            (matches!(k, Cow::Borrowed(_)), matches!(v, Cow::Borrowed(_)))
        })
        .collect();
    assert_eq!(
        shapes,
        [(true, true), (false, false), (true, false), (true, true)]
    );
    assert_eq!(str_field(&tree, "esc\"aped"), "a\nb");
    assert_eq!(str_field(&tree, "u"), "é");
    same_as_value(text);
    // A reader cannot lend its text: everything is owned, and the tree is the same.
    let mut reader = serde_json::Deserializer::from_reader(text.as_bytes());
    let from_reader: Json<'static> =
        de::Deserialize::deserialize(&mut reader).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_reader, tree);
}

#[test]
fn numbers_are_written_as_serde_json_numbers() {
    let text = "[0,1,-1,18446744073709551615,-9223372036854775808,9223372036854775808,\
                1e3,-0,-0.0,1.0,0.5,1.5e-7,1e21,-2.5E+22,0.000001,123456789012345678901234567890]";
    same_as_value(text);
    assert_eq!(
        lean_text(&lean(text)),
        "[0,1,-1,18446744073709551615,-9223372036854775808,9223372036854775808,\
         1000,-0,-0,1,0.5,1.5e-7,1e+21,-2.5e+22,0.000001,1.2345678901234568e+29]"
    );
    let Json::Array(items) = lean("[5,-5,1.0,1e3]") else {
        panic!("not an array");
    };
    let ints: Vec<Option<i64>> = items.iter().map(Json::as_i64).collect();
    assert_eq!(ints, [Some(5), Some(-5), None, None]);
}

#[test]
fn lookups_are_case_insensitive_exact_first_and_null_is_absent() {
    let tree = lean(r#"{"NAME":"upper","name":"exact","Mode":"m","gone":null,"Gone":"x"}"#);
    assert_eq!(str_field(&tree, "name"), "exact");
    assert_eq!(str_field(&tree, "Name"), "upper");
    assert_eq!(str_field(&tree, "mode"), "m");
    assert_eq!(field(&tree, "gone"), None);
    assert_eq!(field(&tree, "missing"), None);
    assert_eq!(str_field(&lean(r#"{"x":null}"#), "x"), "");
    assert_eq!(field(&lean("[1]"), "x"), None);
    assert_eq!(str_field(&lean(r#"{"n":1}"#), "n"), "");
}

#[test]
fn kinds_and_whole_values_match_serde_json() {
    for text in [
        "null",
        "true",
        r#""s""#,
        "[]",
        "{}",
        r#"{"a":[true,false,null,{"b":{}}],"c":"\u2028<&>"}"#,
    ] {
        same_as_value(text);
    }
    let kinds: Vec<&str> = ["null", "true", "1", r#""s""#, "[]", "{}"]
        .iter()
        .map(|t| lean(t).kind())
        .collect();
    assert_eq!(
        kinds,
        ["null", "bool", "number", "string", "array", "object"]
    );
}

#[test]
fn malformed_text_is_refused() {
    for text in [r#"{"a":1,}"#, "[1,]", r#"{"a" 1}"#, "tru", r#""\x""#] {
        assert!(serde_json::from_str::<Json<'_>>(text).is_err(), "{text}");
    }
}
