use bumpalo::Bump;
use serde_json::Value;

use super::*;
use crate::gojson::{write_json, write_value};
use crate::pod::{field, str_field};

/// Decodes `text` as `serde_json::from_str` would (trailing characters refused).
fn try_lean<'a>(text: &'a str, arena: &'a Bump) -> serde_json::Result<Json<'a>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let tree = decode_in(&mut de, arena)?;
    de.end()?;
    Ok(tree)
}

fn lean<'a>(text: &'a str, arena: &'a Bump) -> Json<'a> {
    try_lean(text, arena).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Whether `s` points into `text` (borrowed) rather than into the arena.
fn borrowed_from(s: &str, text: &str) -> bool {
    text.as_bytes().as_ptr_range().contains(&s.as_ptr())
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
    let arena = Bump::new();
    let tree = lean(text, &arena);
    assert_eq!(lean_text(&tree), value_text(text), "{text}");
    let v: Value = serde_json::from_str(text).unwrap_or_default();
    assert_eq!(tree.to_value(), v, "{text}");
    assert_eq!(Json::from_value(&v).tree(), &tree, "{text}");
}

#[test]
fn a_repeated_key_keeps_its_first_place_and_last_value() {
    let arena = Bump::new();
    let tree = lean(
        r#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]},"b":null}"#,
        &arena,
    );
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
    let arena = Bump::new();
    let distinct: Vec<String> = (0..100_000).map(|i| format!(r#""key-{i}":{i}"#)).collect();
    same_as_value(&format!("{{{}}}", distinct.join(",")));
    let repeated: Vec<String> = (0..100_000)
        .map(|i| format!(r#""key-{}":{i}"#, (i * 7919) % 1000))
        .collect();
    let text = format!("{{{}}}", repeated.join(","));
    let tree = lean(&text, &arena);
    assert_eq!(tree.as_object().map(<[_]>::len), Some(1000));
    assert_eq!(lean_text(&tree), value_text(&text));
    let same: Vec<String> = (0..100_000).map(|i| format!(r#""k":{i}"#)).collect();
    let text = format!("{{{}}}", same.join(","));
    assert_eq!(lean_text(&lean(&text, &arena)), r#"{"k":99999}"#);
}

#[test]
fn strings_borrow_unless_they_carry_escapes() {
    let arena = Bump::new();
    let text = r#"{"plain":"value","esc\"aped":"a\nb","u":"\u00e9","":""}"#;
    let tree = lean(text, &arena);
    let Some(members) = tree.as_object() else {
        panic!("not an object");
    };
    let shapes: Vec<(bool, bool)> = members
        .iter()
        .map(|(k, v)| {
            let Json::String(v) = v else {
                panic!("not a string");
            };
            (borrowed_from(k, text), borrowed_from(v, text))
        })
        .collect();
    assert_eq!(
        shapes,
        [(true, true), (false, false), (true, false), (true, true)]
    );
    assert_eq!(str_field(&tree, "esc\"aped"), "a\nb");
    assert_eq!(str_field(&tree, "u"), "é");
    same_as_value(text);
    // A reader cannot lend its text: everything is in the arena, and the tree is the same.
    let mut reader = serde_json::Deserializer::from_reader(text.as_bytes());
    let from_reader = decode_in(&mut reader, &arena).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_reader, tree);
    let Some(members) = from_reader.as_object() else {
        panic!("not an object");
    };
    assert!(members.iter().all(|(k, v)| {
        !borrowed_from(k, text) && v.as_str().is_some_and(|v| !borrowed_from(v, text))
    }));
}

#[test]
fn numbers_are_written_as_serde_json_numbers() {
    let arena = Bump::new();
    let text = "[0,1,-1,18446744073709551615,-9223372036854775808,9223372036854775808,\
                1e3,-0,-0.0,1.0,0.5,1.5e-7,1e21,-2.5E+22,0.000001,123456789012345678901234567890]";
    same_as_value(text);
    assert_eq!(
        lean_text(&lean(text, &arena)),
        "[0,1,-1,18446744073709551615,-9223372036854775808,9223372036854775808,\
         1000,-0,-0,1,0.5,1.5e-7,1e+21,-2.5e+22,0.000001,1.2345678901234568e+29]"
    );
    let Json::Array(items) = lean("[5,-5,1.0,1e3]", &arena) else {
        panic!("not an array");
    };
    let ints: Vec<Option<i64>> = items.iter().map(Json::as_i64).collect();
    assert_eq!(ints, [Some(5), Some(-5), None, None]);
}

#[test]
fn lookups_are_case_insensitive_exact_first_and_null_is_absent() {
    let arena = Bump::new();
    let tree = lean(
        r#"{"NAME":"upper","name":"exact","Mode":"m","gone":null,"Gone":"x"}"#,
        &arena,
    );
    assert_eq!(str_field(&tree, "name"), "exact");
    assert_eq!(str_field(&tree, "Name"), "upper");
    assert_eq!(str_field(&tree, "mode"), "m");
    assert_eq!(field(&tree, "gone"), None);
    assert_eq!(field(&tree, "missing"), None);
    assert_eq!(str_field(&lean(r#"{"x":null}"#, &arena), "x"), "");
    assert_eq!(field(&lean("[1]", &arena), "x"), None);
    assert_eq!(str_field(&lean(r#"{"n":1}"#, &arena), "n"), "");
}

#[test]
fn kinds_and_whole_values_match_serde_json() {
    let arena = Bump::new();
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
        .map(|t| lean(t, &arena).kind())
        .collect();
    assert_eq!(
        kinds,
        ["null", "bool", "number", "string", "array", "object"]
    );
}

#[test]
fn malformed_text_is_refused() {
    let arena = Bump::new();
    for text in [r#"{"a":1,}"#, "[1,]", r#"{"a" 1}"#, "tru", r#""\x""#, "1 2"] {
        assert!(try_lean(text, &arena).is_err(), "{text}");
    }
}
