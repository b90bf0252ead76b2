//! Sprig's defaults and flow functions (`defaults.go`): `default`, `empty`, `coalesce`, `ternary`,
//! `fail`, the JSON encoders and decoders, `deepCopy`.

use super::{define, empty};
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};
use crate::json::{self, Numbers, Style};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("default", &[P::Any], Some(P::Any), |_, a| {
        Ok(if a.len() < 2 || empty(&a[1]) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    s("empty", &[P::Any], None, |_, a| {
        Ok(Value::Bool(empty(&a[0])))
    });
    s("coalesce", &[], Some(P::Any), |_, a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    s("all", &[], Some(P::Any), |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    s("any", &[], Some(P::Any), |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    s("ternary", &[P::Any, P::Any, P::Bool], None, |_, a| {
        Ok(if a[2].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    s("fail", &[P::Str], None, |_, a| {
        Err(arg_str(&a[0]).to_string().into())
    });
    s("toJson", &[P::Any], None, |_, a| {
        ok_str(sprig_json(&a[0], true, None))
    });
    s("toPrettyJson", &[P::Any], None, |_, a| {
        ok_str(sprig_json(&a[0], true, Some("  ")))
    });
    s("toRawJson", &[P::Any], None, |_, a| {
        ok_str(sprig_json(&a[0], false, None))
    });
    s("mustToJson", &[P::Any], None, |_, a| {
        json::encode(
            &a[0],
            Style {
                escape_html: true,
                indent: None,
            },
        )
        .map(Value::string)
        .map_err(Into::into)
    });
    s("mustToPrettyJson", &[P::Any], None, |_, a| {
        json::encode(
            &a[0],
            Style {
                escape_html: true,
                indent: Some("  "),
            },
        )
        .map(Value::string)
        .map_err(Into::into)
    });
    s("mustToRawJson", &[P::Any], None, |_, a| {
        json::encode(
            &a[0],
            Style {
                escape_html: false,
                indent: None,
            },
        )
        .map(Value::string)
        .map_err(Into::into)
    });
    s("fromJson", &[P::Str], None, |_, a| {
        Ok(json::parse(arg_str(&a[0]), Numbers::Float).unwrap_or(Value::Nil))
    });
    s("mustFromJson", &[P::Str], None, |_, a| {
        json::parse(arg_str(&a[0]), Numbers::Float).map_err(Into::into)
    });
    s("deepCopy", &[P::Any], None, |_, a| Ok(a[0].deep_copy(0)));
    s(
        "mustDeepCopy",
        &[P::Any],
        None,
        |_, a| Ok(a[0].deep_copy(0)),
    );
}

fn sprig_json(v: &Value, escape_html: bool, indent: Option<&'static str>) -> String {
    json::encode(
        v,
        Style {
            escape_html,
            indent,
        },
    )
    .unwrap_or_default()
}
