//! RFC 6902 with the semantics and error texts of `evanphx/json-patch` (v4 API), which upstream
//! applies to the injected container objects (`agent-json-patch`, `agent-init-json-patch`).
//!
//! Differences from a strict RFC reading that upstream has and we keep: `replace` on a missing
//! object key adds it, negative array indexes count from the end, paths need not start with `/`
//! (the first segment is simply skipped), and `copy` of a missing object key copies `null`.

use serde_json::{Map, Value};

use crate::goscan;

/// One decoded operation; `None` stands for a `null` array element.
pub(crate) type Operation = Option<Map<String, Value>>;

/// `jsonpatch.DecodePatch`: `null` gives an empty patch; errors read like Go's decoder.
pub(crate) fn decode(raw: &str) -> Result<Vec<Operation>, String> {
    if let Some(e) = goscan::syntax_error(raw.as_bytes()) {
        return Err(e);
    }
    let v: Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Null => Ok(None),
                Value::Object(m) => Ok(Some(m)),
                other => Err(format!(
                    "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                    kind(&other)
                )),
            })
            .collect(),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            kind(&other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

const MISSING: &str = "missing value";
const INVALID_INDEX: &str = "invalid index referenced";

fn str_of<'a>(op: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    op.get(key).and_then(Value::as_str)
}

fn decode_key(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

fn atoi(key: &str) -> Result<i64, String> {
    crate::primitives::parse_int(key)
        .ok()
        .filter(|_| !key.is_empty())
        .ok_or_else(|| {
            format!(
                "strconv.Atoi: parsing {}: invalid syntax",
                crate::primitives::go_quote(key)
            )
        })
}

/// Walks to the parent container of `path`; returns it and the final (decoded) key.
fn find<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return None;
    }
    let (key, parents) = split.split_last()?;
    let mut cur = doc;
    for part in parents.iter().skip(1) {
        let part = decode_key(part);
        cur = match cur {
            Value::Object(m) => m.get_mut(&part).filter(|v| !v.is_null())?,
            Value::Array(a) => {
                let len = a.len() as i64;
                let mut idx = atoi(&part).ok()?;
                if idx < 0 {
                    if idx < -len {
                        return None;
                    }
                    idx += len;
                }
                a.get_mut(usize::try_from(idx).ok()?)?
            }
            _ => return None,
        };
        if !cur.is_object() && !cur.is_array() {
            return None;
        }
    }
    Some((cur, decode_key(key)))
}

/// Resolves an array index against `limit` (the length, or length + 1 for inserts); negative
/// indexes count from the end.
fn array_index(key: &str, limit: usize) -> Result<usize, String> {
    let idx = atoi(key)?;
    let limit = limit as i64;
    let invalid = || format!("Unable to access invalid index: {idx}: {INVALID_INDEX}");
    if idx >= limit || idx < -limit {
        return Err(invalid());
    }
    let fixed = if idx < 0 { idx + limit } else { idx };
    usize::try_from(fixed).map_err(|_| invalid())
}

fn add_at(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_owned(), val);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(val);
                return Ok(());
            }
            let idx = atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            let idx = array_index(&idx.to_string(), a.len() + 1)?;
            a.insert(idx, val);
            Ok(())
        }
        _ => Err(MISSING.to_owned()),
    }
}

/// `get`: objects never fail (a missing key yields `None`), arrays check the index.
fn get_at(con: &Value, key: &str) -> Result<Option<Value>, String> {
    match con {
        Value::Object(m) => Ok(m.get(key).cloned()),
        Value::Array(a) => {
            let idx = array_index(key, a.len())?;
            Ok(a.get(idx).cloned())
        }
        _ => Err(MISSING.to_owned()),
    }
}

fn remove_at(con: &mut Value, key: &str) -> Result<(), String> {
    match con {
        Value::Object(m) => match m.shift_remove(key) {
            Some(_) => Ok(()),
            None => Err(format!(
                "Unable to remove nonexistent key: {key}: {MISSING}"
            )),
        },
        Value::Array(a) => {
            let idx = array_index(key, a.len())?;
            a.remove(idx);
            Ok(())
        }
        _ => Err(MISSING.to_owned()),
    }
}

fn set_at(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_owned(), val);
            Ok(())
        }
        Value::Array(a) => {
            let idx = array_index(key, a.len())?;
            if let Some(slot) = a.get_mut(idx) {
                *slot = val;
            }
            Ok(())
        }
        _ => Err(MISSING.to_owned()),
    }
}

/// Applies `ops` to `doc` in place; the error is evanphx's message.
pub(crate) fn apply(doc: &mut Value, ops: &[Operation]) -> Result<(), String> {
    for op in ops {
        let empty = Map::new();
        let op = op.as_ref().unwrap_or(&empty);
        let kind = str_of(op, "op").unwrap_or("unknown");
        let path = str_of(op, "path");
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let need_path = |name: &str| {
            path.ok_or_else(|| format!("{name} operation failed to decode path: {MISSING}"))
        };
        match kind {
            "add" => {
                let path = need_path("add")?;
                let (con, key) = find(doc, path).ok_or_else(|| {
                    format!(
                        "add operation does not apply: doc is missing path: \"{path}\": {MISSING}"
                    )
                })?;
                add_at(con, &key, value)
                    .map_err(|e| format!("error in add for path: '{path}': {e}"))?;
            }
            "remove" => {
                let path = need_path("remove")?;
                let (con, key) = find(doc, path)
                    .ok_or_else(|| format!("remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"))?;
                remove_at(con, &key)
                    .map_err(|e| format!("error in remove for path: '{path}': {e}"))?;
            }
            "replace" => {
                let path = need_path("replace")?;
                let (con, key) = find(doc, path).ok_or_else(|| {
                    format!(
                        "replace operation does not apply: doc is missing path: {path}: {MISSING}"
                    )
                })?;
                get_at(con, &key).map_err(|_| {
                    format!(
                        "replace operation does not apply: doc is missing key: {path}: {MISSING}"
                    )
                })?;
                set_at(con, &key, value)
                    .map_err(|e| format!("error in remove for path: '{path}': {e}"))?;
            }
            "move" => {
                let from = str_of(op, "from")
                    .ok_or_else(|| format!("move operation failed to decode from: {MISSING}"))?;
                let (con, key) = find(doc, from).ok_or_else(|| {
                    format!(
                        "move operation does not apply: doc is missing from path: {from}: {MISSING}"
                    )
                })?;
                let val = get_at(con, &key)
                    .map_err(|e| format!("error in move for path: '{key}': {e}"))?;
                remove_at(con, &key)
                    .map_err(|e| format!("error in move for path: '{key}': {e}"))?;
                let path = need_path("move")?;
                let (con, key) = find(doc, path).ok_or_else(|| {
                    format!("move operation does not apply: doc is missing destination path: {path}: {MISSING}")
                })?;
                add_at(con, &key, val.unwrap_or(Value::Null))
                    .map_err(|e| format!("error in move for path: '{path}': {e}"))?;
            }
            "copy" => {
                let from = str_of(op, "from")
                    .ok_or_else(|| format!("copy operation failed to decode from: {MISSING}"))?;
                let (con, key) = find(doc, from).ok_or_else(|| {
                    format!(
                        "copy operation does not apply: doc is missing from path: {from}: {MISSING}"
                    )
                })?;
                let val = get_at(con, &key)
                    .map_err(|e| format!("error in copy for from: '{from}': {e}"))?;
                let path = need_path("copy")?;
                let (con, key) = find(doc, path).ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing destination path: {path}: {MISSING}")
                })?;
                add_at(con, &key, val.unwrap_or(Value::Null))
                    .map_err(|e| format!("error while adding value during copy: {e}"))?;
            }
            "test" => {
                let path = need_path("test")?;
                let failed = || format!("testing value {path} failed: test failed");
                if path.is_empty() {
                    if *doc == value {
                        continue;
                    }
                    return Err(failed());
                }
                let (con, key) = find(doc, path).ok_or_else(|| {
                    format!("test operation does not apply: is missing path: {path}: {MISSING}")
                })?;
                let val = get_at(con, &key)
                    .map_err(|e| format!("error in test for path: '{path}': {e}"))?;
                if val.unwrap_or(Value::Null) != value {
                    return Err(failed());
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, patch: &str) -> Result<Value, String> {
        let ops = decode(patch)?;
        let mut doc = doc;
        apply(&mut doc, &ops)?;
        Ok(doc)
    }

    #[test]
    fn decode_edge_cases() {
        assert_eq!(decode("null"), Ok(vec![]));
        assert_eq!(decode("[]"), Ok(vec![]));
        assert_eq!(
            decode("abc").err().as_deref(),
            Some("invalid character 'a' looking for beginning of value")
        );
        assert_eq!(
            decode("{}").err().as_deref(),
            Some("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        );
        assert_eq!(
            decode("[1]").err().as_deref(),
            Some("json: cannot unmarshal number into Go value of type jsonpatch.Operation")
        );
    }

    #[test]
    fn operations() {
        let doc = json!({"name": "a", "env": [{"name": "X"}], "obj": {"k": 1}});
        assert_eq!(
            run(
                doc.clone(),
                r#"[{"op":"replace","path":"/name","value":"b"}]"#
            )
            .map(|d| d["name"].clone()),
            Ok(json!("b"))
        );
        assert_eq!(
            run(
                doc.clone(),
                r#"[{"op":"add","path":"/env/-","value":{"name":"Y"}}]"#
            )
            .map(|d| d["env"].clone()),
            Ok(json!([{"name": "X"}, {"name": "Y"}]))
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"add","path":"/env/-1","value":1}]"#)
                .map(|d| d["env"].clone()),
            Ok(json!([{"name": "X"}, 1]))
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"remove","path":"/env/-1"}]"#).map(|d| d["env"].clone()),
            Ok(json!([]))
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"replace","path":"/new","value":2}]"#)
                .map(|d| d["new"].clone()),
            Ok(json!(2))
        );
        assert_eq!(
            run(
                doc.clone(),
                r#"[{"op":"move","from":"/obj/k","path":"/moved"}]"#
            )
            .map(|d| (d["moved"].clone(), d["obj"].clone())),
            Ok((json!(1), json!({})))
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"copy","from":"/name","path":"/c"}]"#)
                .map(|d| d["c"].clone()),
            Ok(json!("a"))
        );
        assert!(run(doc.clone(), r#"[{"op":"test","path":"/name","value":"a"}]"#).is_ok());
        assert_eq!(
            run(doc.clone(), r#"[{"op":"test","path":"/name","value":"z"}]"#)
                .err()
                .as_deref(),
            Some("testing value /name failed: test failed")
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op": "invalid"}]"#).err().as_deref(),
            Some("Unexpected kind: invalid")
        );
        assert_eq!(
            run(doc.clone(), r#"[{"path": "/a"}]"#).err().as_deref(),
            Some("Unexpected kind: unknown")
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"add","path":"/nope/x","value":1}]"#)
                .err()
                .as_deref(),
            Some("add operation does not apply: doc is missing path: \"/nope/x\": missing value")
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"remove","path":"/nope"}]"#)
                .err()
                .as_deref(),
            Some(
                "error in remove for path: '/nope': Unable to remove nonexistent key: nope: missing value"
            )
        );
        assert_eq!(
            run(doc.clone(), r#"[{"op":"add","path":"/env/5","value":1}]"#)
                .err()
                .as_deref(),
            Some(
                "error in add for path: '/env/5': Unable to access invalid index: 5: invalid index referenced"
            )
        );
        assert_eq!(
            run(doc, r#"[{"op":"add","path":"/env/x","value":1}]"#)
                .err()
                .as_deref(),
            Some(
                "error in add for path: '/env/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax"
            )
        );
    }
}
