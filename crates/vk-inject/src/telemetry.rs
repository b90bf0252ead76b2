//! The `telemetry` stanza (spec §4.4): `agent-telemetry-*` annotations go through a Go JSON
//! round trip into a fixed struct — keys match case-insensitively, unknown keys vanish, and any
//! type mismatch silently drops the whole stanza.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::annotations::TELEMETRY_PREFIX;

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    StrList,
}

/// The telemetry struct's JSON names in declaration (= emission) order.
const FIELDS: &[(&str, Kind)] = &[
    ("usage_gauge_period", Kind::Str),
    ("maximum_gauge_cardinality", Kind::Int),
    ("disable_hostname", Kind::Bool),
    ("enable_hostname_label", Kind::Bool),
    ("lease_metrics_epsilon", Kind::Str),
    ("num_lease_metrics_buckets", Kind::Int),
    ("add_lease_metrics_namespace_labels", Kind::Bool),
    ("filter_default", Kind::Bool),
    ("prefix_filter", Kind::StrList),
    ("statsite_address", Kind::Str),
    ("statsd_address", Kind::Str),
    ("circonus_api_token", Kind::Str),
    ("circonus_api_app", Kind::Str),
    ("circonus_api_url", Kind::Str),
    ("circonus_submission_interval", Kind::Str),
    ("circonus_submission_url", Kind::Str),
    ("circonus_check_id", Kind::Str),
    ("circonus_check_force_metric_activation", Kind::Bool),
    ("circonus_check_instance_id", Kind::Str),
    ("circonus_check_search_tag", Kind::Str),
    ("circonus_check_display_name", Kind::Str),
    ("circonus_check_tags", Kind::Str),
    ("circonus_broker_id", Kind::Str),
    ("circonus_broker_select_tag", Kind::Str),
    ("dogstatsd_addr", Kind::Str),
    ("dogstatsd_tags", Kind::StrList),
    ("prometheus_retention_time", Kind::Str),
    ("stackdriver_project_id", Kind::Str),
    ("stackdriver_location", Kind::Str),
    ("stackdriver_namespace", Kind::Str),
    ("stackdriver_debug_logs", Kind::Bool),
];

/// The raw map built from the annotations: key `-` → `_`, value JSON-decoded when it is JSON.
pub(crate) fn collect<'a>(
    ann: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, Value> {
    ann.into_iter()
        .filter_map(|(key, value)| {
            let param = key.strip_prefix(TELEMETRY_PREFIX)?;
            let v = if crate::goscan::syntax_error(value.as_bytes()).is_none() {
                serde_json::from_str::<Value>(value)
                    .unwrap_or_else(|_| Value::String(value.to_owned()))
            } else {
                Value::String(value.to_owned())
            };
            Some((param.replace('-', "_"), v))
        })
        .collect()
}

/// Converts one JSON value into the field's Go type; `None` is a type mismatch, `Some(None)` a
/// zero value (omitted on output).
fn convert(kind: Kind, v: &Value) -> Option<Option<Value>> {
    if v.is_null() {
        return Some(None);
    }
    match kind {
        Kind::Str => v
            .as_str()
            .map(|s| (!s.is_empty()).then(|| Value::String(s.to_owned()))),
        Kind::Bool => v.as_bool().map(|b| b.then_some(Value::Bool(true))),
        Kind::Int => {
            // Go decoded the annotation as float64 and re-encoded it: integral values below
            // 1e21 print without fraction or exponent and then parse as int64.
            let f = v.as_f64()?;
            if f.fract() != 0.0
                || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
            {
                return None;
            }
            let i = f as i64;
            Some((i != 0).then(|| Value::from(i)))
        }
        Kind::StrList => {
            let items = v.as_array()?;
            let strings: Option<Vec<Value>> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Some(Value::String(s.clone())),
                    Value::Null => Some(Value::String(String::new())),
                    _ => None,
                })
                .collect();
            strings.map(|s| (!s.is_empty()).then_some(Value::Array(s)))
        }
    }
}

/// `stanza` with Prometheus turned on (`agent-metrics`): the annotations' own
/// `prometheus_retention_time` and `disable_hostname` win; otherwise 24h and true.
pub(crate) fn with_prometheus(stanza: Option<Value>) -> Value {
    let mut map = match stanza {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    map.entry("prometheus_retention_time")
        .or_insert_with(|| Value::String("24h".to_owned()));
    map.entry("disable_hostname").or_insert(Value::Bool(true));
    Value::Object(map)
}

/// The stanza to emit, or `None` (no telemetry annotations, or a type mismatch).
pub(crate) fn stanza(raw: &BTreeMap<String, Value>) -> Option<Value> {
    if raw.is_empty() {
        return None;
    }
    let mut slots: Vec<Option<Value>> = vec![None; FIELDS.len()];
    // Go's map encoding sorts keys bytewise and the decoder lets later duplicates win.
    for (key, value) in raw {
        let Some(idx) = FIELDS
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(key))
        else {
            continue;
        };
        let kind = FIELDS.get(idx)?.1;
        let slot = slots.get_mut(idx)?;
        *slot = convert(kind, value)?;
    }
    let mut out = Map::new();
    for ((name, _), slot) in FIELDS.iter().zip(slots) {
        if let Some(v) = slot {
            out.insert((*name).to_owned(), v);
        }
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ann(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{TELEMETRY_PREFIX}{k}"), (*v).to_owned()))
            .collect()
    }

    fn collect(pairs: &[(String, String)]) -> BTreeMap<String, Value> {
        super::collect(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    #[test]
    fn parses_json_values_and_keeps_strings() {
        let raw = collect(&ann(&[
            ("prometheus_retention_time", "5s"),
            ("disable_hostname", "true"),
            ("maximum-gauge-cardinality", "3"),
            ("prefix_filter", r#"["+vault.token", "-vault.expire"]"#),
        ]));
        assert_eq!(raw.get("prometheus_retention_time"), Some(&json!("5s")));
        assert_eq!(raw.get("disable_hostname"), Some(&json!(true)));
        assert_eq!(raw.get("maximum_gauge_cardinality"), Some(&json!(3)));
        assert_eq!(
            stanza(&raw),
            Some(
                json!({"maximum_gauge_cardinality": 3, "disable_hostname": true,
                "prefix_filter": ["+vault.token", "-vault.expire"], "prometheus_retention_time": "5s"})
            )
        );
    }

    #[test]
    fn mismatch_drops_everything_and_unknown_keys_vanish() {
        assert_eq!(
            stanza(&collect(&ann(&[
                ("disable_hostname", "yes"),
                ("statsd_address", "x")
            ]))),
            None
        );
        assert_eq!(
            stanza(&collect(&ann(&[("maximum_gauge_cardinality", "1.5")]))),
            None
        );
        assert_eq!(stanza(&collect(&ann(&[("nope", "1")]))), Some(json!({})));
        assert_eq!(
            stanza(&collect(&ann(&[("Disable_Hostname", "true")]))),
            Some(json!({"disable_hostname": true}))
        );
        assert_eq!(
            stanza(&collect(&ann(&[("num_lease_metrics_buckets", "5e2")]))),
            Some(json!({"num_lease_metrics_buckets": 500}))
        );
        assert_eq!(stanza(&BTreeMap::new()), None);
    }
}
