//! JSON input, read the way HCL1's JSON parser reads it: a list of objects becomes repeated
//! items (`"template": [{…}, {…}]` ≡ two `template` blocks), and an object whose members are
//! all objects becomes labelled items (`"method": {"kubernetes": {…}}` ≡
//! `method "kubernetes" {…}`). `null` members are dropped.

use serde_json::Value;

use crate::ast::{Item, Kind, Lit, Node};
use crate::error::ConfigError;

/// Parses JSON text into the root item list.
pub(crate) fn parse(text: &str, file: &str) -> Result<Vec<Item>, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
        file: file.to_owned(),
        line: u32::try_from(e.line()).unwrap_or(u32::MAX),
        column: u32::try_from(e.column()).unwrap_or(u32::MAX),
        message: e.to_string(),
    })?;
    match value {
        Value::Object(map) => Ok(flatten(object_items(map))),
        _ => Err(ConfigError::Syntax {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: "file doesn't contain a root object".to_owned(),
        }),
    }
}

fn object_items(map: serde_json::Map<String, Value>) -> Vec<Item> {
    map.into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| Item {
            keys: vec![k],
            line: None,
            value: node(v),
        })
        .collect()
}

fn node(v: Value) -> Node {
    let kind = match v {
        Value::Null => Kind::Lit(Lit::Str(String::new())),
        Value::Bool(b) => Kind::Lit(Lit::Bool(b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Kind::Lit(Lit::Int(i)),
            None => Kind::Lit(Lit::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => Kind::Lit(Lit::Str(s)),
        Value::Array(a) => Kind::List(a.into_iter().map(node).collect()),
        Value::Object(m) => Kind::Object(object_items(m)),
    };
    Node { line: None, kind }
}

fn is_object(n: &Node) -> bool {
    matches!(n.kind, Kind::Object(_))
}

/// Applies HCL1's JSON flattening top-down: this level first, judged on the members as
/// written, then every nested object (also those inside lists).
fn flatten(items: Vec<Item>) -> Vec<Item> {
    let mut level = Vec::with_capacity(items.len());
    for item in items {
        flatten_into(item, &mut level);
    }
    for item in &mut level {
        flatten_node(&mut item.value);
    }
    level
}

fn flatten_node(node: &mut Node) {
    match &mut node.kind {
        Kind::Object(items) => *items = flatten(std::mem::take(items)),
        Kind::List(elems) => elems.iter_mut().for_each(flatten_node),
        Kind::Lit(_) => {}
    }
}

fn flatten_into(item: Item, out: &mut Vec<Item>) {
    match item.value.kind {
        Kind::List(elems) if !elems.is_empty() && elems.iter().all(is_object) => {
            for elem in elems {
                flatten_into(
                    Item {
                        keys: item.keys.clone(),
                        line: item.line,
                        value: elem,
                    },
                    out,
                );
            }
        }
        Kind::Object(members)
            if !members.is_empty() && members.iter().all(|m| is_object(&m.value)) =>
        {
            for member in members {
                let mut keys = item.keys.clone();
                keys.extend(member.keys);
                flatten_into(
                    Item {
                        keys,
                        line: item.line,
                        value: member.value,
                    },
                    out,
                );
            }
        }
        kind => out.push(Item {
            keys: item.keys,
            line: item.line,
            value: Node {
                line: item.value.line,
                kind,
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: &[Item]) -> Vec<Vec<String>> {
        items.iter().map(|i| i.keys.clone()).collect()
    }

    #[test]
    fn lists_of_objects_repeat_and_all_object_members_become_labels() {
        let items = parse(
            r#"{"template": [{"a": 1}, {"b": 2}], "method": {"kubernetes": {"config": {"role": "r"}}},
                "vault": {"address": "x", "retry": {"num_retries": 1}}, "list": [1, 2], "empty": {}, "n": null}"#,
            "c.json",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            keys(&items),
            [
                vec!["template"],
                vec!["template"],
                vec!["method", "kubernetes", "config"],
                vec!["vault"],
                vec!["list"],
                vec!["empty"],
            ]
        );
    }

    #[test]
    fn errors_name_file_and_position() {
        match parse("{\n  \"a\": }", "c.json") {
            Err(ConfigError::Syntax { file, line, .. }) => {
                assert_eq!((file.as_str(), line), ("c.json", 2))
            }
            other => panic!("{other:?}"),
        }
        assert!(parse("[1]", "c.json").is_err());
    }
}
