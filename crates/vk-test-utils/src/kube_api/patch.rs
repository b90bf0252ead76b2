//! PATCH bodies in the four content types the API server accepts.
//!
//! - `application/json-patch+json`: RFC 6902, through the `json-patch` crate.
//! - `application/merge-patch+json`: RFC 7386 (objects merge, `null` deletes, arrays replace).
//! - `application/strategic-merge-patch+json`: merge semantics, except that arrays whose items
//!   are all objects with a `name` (containers, volumes, env, webhooks, …) merge item by item
//!   on `name`, and an item `{"name": …, "$patch": "delete"}` removes that item. Real strategic
//!   merge takes the merge key and strategy per field from the type's schema (e.g. `ports`
//!   merge on `containerPort`, `finalizers` merge as a set); here every other array is replaced.
//!   `$setElementOrder/…` keys are dropped; any other `$` directive is refused with 400.
//! - `application/apply-patch+yaml` (server-side apply): the applied configuration (YAML or
//!   JSON) is merged into the live object like a strategic merge patch, or creates the object.
//!   Field ownership is not tracked: no `managedFields`, no conflicts between managers, and
//!   fields dropped from a later apply are not removed.

use serde_json::{Map, Value};

use super::status::ApiError;

/// The media type of a PATCH body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    /// From the request's `Content-Type` (parameters such as `charset` ignored); 415 otherwise.
    pub(super) fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                if media.ends_with("cbor") {
                    Err(ApiError::unsupported_media_type(content_type))
                } else {
                    Ok(Self::Apply)
                }
            }
            _ => Err(ApiError::unsupported_media_type(content_type)),
        }
    }
}

/// Parses a PATCH body: JSON for the three patch types, YAML (a superset) for apply.
pub(super) fn parse_body(patch_type: PatchType, body: &[u8]) -> Result<Value, ApiError> {
    let parsed = if patch_type == PatchType::Apply {
        serde_norway::from_slice::<Value>(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// `current` with `patch` applied.
pub(super) fn apply(
    patch_type: PatchType,
    current: Option<&Value>,
    patch: &Value,
) -> Result<Value, ApiError> {
    match (patch_type, current) {
        (PatchType::Json, Some(cur)) => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| {
                ApiError::bad_request(format!("the JSON patch is not a list of operations: {e}"))
            })?;
            let mut doc = cur.clone();
            json_patch::patch(&mut doc, &ops).map_err(|e| ApiError {
                code: 422,
                reason: "Invalid",
                message: format!(
                    "the server rejected our request due to an error in our request: {e}"
                ),
                details: None,
            })?;
            Ok(doc)
        }
        (PatchType::Merge, Some(cur)) => {
            let mut doc = cur.clone();
            json_patch::merge(&mut doc, patch);
            Ok(doc)
        }
        (PatchType::Strategic | PatchType::Apply, Some(cur)) => {
            let mut doc = cur.clone();
            strategic_merge(&mut doc, patch)?;
            Ok(doc)
        }
        (PatchType::Apply, None) => {
            let mut doc = Value::Object(Map::new());
            strategic_merge(&mut doc, patch)?;
            Ok(doc)
        }
        (_, None) => Err(ApiError::bad_request(
            "only server-side apply can create an object",
        )),
    }
}

fn named_items(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i["name"].is_string())
}

fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return Ok(());
    };
    for (k, v) in patch_map {
        if k.starts_with("$setElementOrder/") {
            continue;
        }
        if k.starts_with('$') {
            return Err(ApiError::bad_request(format!(
                "strategic merge patch directive {k:?} is not supported by this test API server"
            )));
        }
        match v {
            Value::Null => {
                target_map.remove(k);
            }
            Value::Object(_) => {
                let slot = target_map.entry(k.clone()).or_insert(Value::Null);
                strategic_merge(slot, v)?;
            }
            Value::Array(items) if named_items(items) => {
                let slot = target_map
                    .entry(k.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                merge_named_list(slot, items)?;
            }
            _ => {
                target_map.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

fn merge_named_list(slot: &mut Value, items: &[Value]) -> Result<(), ApiError> {
    let existing = match slot {
        Value::Array(a) if a.iter().all(|i| i["name"].is_string()) => std::mem::take(a),
        _ => Vec::new(),
    };
    let mut merged = existing;
    for item in items {
        let name = item["name"].clone();
        let delete = item["$patch"] == "delete";
        let pos = merged.iter().position(|e| e["name"] == name);
        match (pos, delete) {
            (Some(i), true) => {
                merged.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut merged[i], item)?,
            (None, false) => {
                let mut fresh = Value::Object(Map::new());
                strategic_merge(&mut fresh, item)?;
                merged.push(fresh);
            }
        }
    }
    *slot = Value::Array(merged);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn four_patch_types() {
        let cur = json!({"data": {"a": "1", "b": "2"}, "list": [1, 2],
            "webhooks": [{"name": "x", "caBundle": "old", "sideEffects": "None"}, {"name": "y"}]});
        let jp = apply(
            PatchType::Json,
            Some(&cur),
            &json!([{"op": "replace", "path": "/data/a", "value": "9"}]),
        )
        .unwrap();
        assert_eq!(jp["data"], json!({"a": "9", "b": "2"}));
        let e = apply(
            PatchType::Json,
            Some(&cur),
            &json!([{"op": "test", "path": "/data/a", "value": "0"}]),
        )
        .unwrap_err();
        assert_eq!(e.code, 422);

        let mp = apply(
            PatchType::Merge,
            Some(&cur),
            &json!({"data": {"b": null}, "list": [3]}),
        )
        .unwrap();
        assert_eq!(mp["data"], json!({"a": "1"}));
        assert_eq!(mp["list"], json!([3]));
        // Merge patch replaces the webhooks array wholesale.
        let mp = apply(
            PatchType::Merge,
            Some(&cur),
            &json!({"webhooks": [{"name": "x", "caBundle": "new"}]}),
        )
        .unwrap();
        assert_eq!(mp["webhooks"], json!([{"name": "x", "caBundle": "new"}]));

        // Strategic merge merges named items and keeps their other fields.
        let sp = apply(
            PatchType::Strategic,
            Some(&cur),
            &json!({"webhooks": [{"name": "x", "caBundle": "new"}, {"name": "y", "$patch": "delete"}]}),
        )
        .unwrap();
        assert_eq!(
            sp["webhooks"],
            json!([{"name": "x", "caBundle": "new", "sideEffects": "None"}])
        );
        let e = apply(
            PatchType::Strategic,
            Some(&cur),
            &json!({"$retainKeys": []}),
        )
        .unwrap_err();
        assert_eq!(e.code, 400);

        let body = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: dg==\n";
        let applied = parse_body(PatchType::Apply, body).unwrap();
        let created = apply(PatchType::Apply, None, &applied).unwrap();
        assert_eq!(created["metadata"]["name"], "s");
        assert_eq!(created["data"]["k"], "dg==");
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(),
            PatchType::Merge
        );
        assert_eq!(
            PatchType::from_content_type("text/plain").unwrap_err().code,
            415
        );
    }
}
