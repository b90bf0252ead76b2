//! Typed reads of one key from an item list, with HCL1's lenient decoding rules (the last of
//! repeated keys wins; numbers decode into strings). Errors are `(line, message)` pairs; the
//! caller adds the stanza wrapper and the file.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::ast::{self, Item, Kind, Lit, Node};
use crate::values;

pub(crate) type FieldError = (Option<u32>, String);
pub(crate) type Field<T> = Result<Option<T>, FieldError>;

/// The last item named `key`.
pub(crate) fn last<'a>(items: &'a [Item], key: &str) -> Option<&'a Item> {
    ast::filter(items, key).last()
}

/// Go type names, for messages.
pub(crate) fn go_type(node: &Node) -> &'static str {
    match &node.kind {
        Kind::Lit(Lit::Str(_)) => "string",
        Kind::Lit(Lit::Int(_)) => "int",
        Kind::Lit(Lit::Float(_)) => "float64",
        Kind::Lit(Lit::Bool(_)) => "bool",
        Kind::List(_) => "[]interface {}",
        Kind::Object(_) => "map[string]interface {}",
    }
}

fn scalar<'a>(item: &'a Item, want: &str) -> Result<&'a Lit, FieldError> {
    match &item.value.kind {
        Kind::Lit(l) => Ok(l),
        _ => Err((
            item.line,
            format!(
                "{}: expected {want}, got {}",
                item.name(),
                go_type(&item.value)
            ),
        )),
    }
}

/// A string; numbers are accepted and rendered as written.
pub(crate) fn string(items: &[Item], key: &str) -> Field<String> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    match scalar(item, "a string")? {
        Lit::Str(s) => Ok(Some(s.clone())),
        Lit::Int(i) => Ok(Some(i.to_string())),
        Lit::Float(f) => Ok(Some(f.to_string())),
        Lit::Bool(_) => Err((item.line, format!("{key}: expected a string, got bool"))),
    }
}

/// A strictly typed boolean (HCL `bool` fields accept only `true`/`false`).
pub(crate) fn boolean(items: &[Item], key: &str) -> Field<bool> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    match scalar(item, "a bool")? {
        Lit::Bool(b) => Ok(Some(*b)),
        _ => Err((
            item.line,
            format!("{key}: expected a bool, got {}", go_type(&item.value)),
        )),
    }
}

/// Prefixes a conversion error with the key it is about: upstream's texts (`time: invalid
/// duration "x"`, `cannot parse '' as bool: …`) do not say which setting was wrong.
fn keyed(key: &str, msg: String) -> String {
    if msg.starts_with(key) {
        msg
    } else {
        format!("{key}: {msg}")
    }
}

/// `parseutil.ParseBool`: booleans, Go bool strings, numbers.
pub(crate) fn weak_bool(items: &[Item], key: &str) -> Field<bool> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    values::weak_bool(scalar(item, "a bool")?)
        .map(Some)
        .map_err(|e| (item.line, keyed(key, e)))
}

/// `parseutil.ParseDurationSecond`.
pub(crate) fn duration(items: &[Item], key: &str) -> Field<Duration> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    values::duration_second(scalar(item, "a duration")?)
        .map(Some)
        .map_err(|e| (item.line, keyed(key, e)))
}

/// `parseutil.SafeParseInt`: integers and decimal strings.
pub(crate) fn int(items: &[Item], key: &str) -> Field<i64> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    match scalar(item, "an int")? {
        Lit::Int(i) => Ok(Some(*i)),
        Lit::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Some(*f as i64)),
        Lit::Str(s) => s.trim().parse().map(Some).map_err(|_| {
            (
                item.line,
                format!("{key}: strconv.ParseInt: parsing {s:?}: invalid syntax"),
            )
        }),
        other => Err((
            item.line,
            format!("{key}: cannot parse {other:?} as an int"),
        )),
    }
}

/// A float (numbers or numeric strings).
pub(crate) fn float(items: &[Item], key: &str) -> Field<f64> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    let v = match scalar(item, "a number")? {
        Lit::Int(i) => *i as f64,
        Lit::Float(f) => *f,
        Lit::Str(s) => s.trim().parse().map_err(|_| {
            (
                item.line,
                format!("{key}: strconv.ParseFloat: parsing {s:?}: invalid syntax"),
            )
        })?,
        Lit::Bool(_) => return Err((item.line, format!("{key}: expected a number, got bool"))),
    };
    if v.is_finite() {
        Ok(Some(v))
    } else {
        Err((item.line, format!("{key}: {v} is not a finite number")))
    }
}

/// A list of strings; a single string counts as a one-element list.
pub(crate) fn strings(items: &[Item], key: &str) -> Field<Vec<String>> {
    let Some(item) = last(items, key) else {
        return Ok(None);
    };
    let bad = |n: &Node| {
        (
            item.line,
            format!("{key}: expected a list of strings, got {}", go_type(n)),
        )
    };
    match &item.value.kind {
        Kind::Lit(Lit::Str(s)) => Ok(Some(vec![s.clone()])),
        Kind::List(elems) => elems
            .iter()
            .map(|e| match &e.kind {
                Kind::Lit(Lit::Str(s)) => Ok(s.clone()),
                _ => Err(bad(e)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(bad(&item.value)),
    }
}

/// Every `key` block or object merged into one JSON map (generic decode).
pub(crate) fn object(items: &[Item], key: &str) -> Field<Map<String, Value>> {
    let mut found: Vec<Item> = Vec::new();
    for item in ast::filter(items, key) {
        if item.labels().is_empty() && item.value.object().is_none() {
            return Err((
                item.line,
                format!("{key}: expected an object, got {}", go_type(&item.value)),
            ));
        }
        found.push(item.clone());
    }
    if found.is_empty() {
        return Ok(None);
    }
    match ast::items_to_json(&found).remove(key) {
        Some(Value::Object(m)) => Ok(Some(m)),
        _ => Ok(Some(Map::new())),
    }
}
