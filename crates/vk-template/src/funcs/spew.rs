//! `spew_*` debug helpers. `spew_sdump`/`spew_sprintf` return text (go-spew's dump layout for
//! the value types templates see); `spew_dump`/`spew_printf` print to the agent's stdout in
//! Vault and return `""` — here they only return `""` (the engine performs no I/O).

use super::{P, Registry, add, arg_str, ok_str};
use crate::printf;
use crate::value::Value;
use vk_go::quote as go_quote;

pub(super) fn register(r: &mut Registry) {
    add(r, "spew_sdump", &[], Some(P::Any), |_, a| {
        let mut out = String::new();
        for v in &a {
            dump(&mut out, v, 0);
            out.push('\n');
        }
        ok_str(out)
    });
    add(r, "spew_sprintf", &[P::Str], Some(P::Any), |_, a| {
        ok_str(printf::sprintf(arg_str(&a[0]), &a[1..]))
    });
    add(r, "spew_dump", &[], Some(P::Any), |_, _| {
        ok_str(String::new())
    });
    add(r, "spew_printf", &[P::Str], Some(P::Any), |_, _| {
        ok_str(String::new())
    });
}

fn dump(out: &mut String, v: &Value, depth: usize) {
    if depth > 64 {
        out.push_str("<max depth reached>");
        return;
    }
    let pad = " ".repeat(depth + 1);
    match v {
        Value::Invalid | Value::Nil => out.push_str("(interface {}) <nil>"),
        Value::Str(s) | Value::Number(s) => out.push_str(&format!(
            "({}) (len={}) {}",
            v.type_name(),
            s.len(),
            go_quote(s)
        )),
        Value::List(_) | Value::StrList(_) => {
            let items = v.list_items().unwrap_or_default();
            out.push_str(&format!(
                "({}) (len={n} cap={n}) {{\n",
                v.type_name(),
                n = items.len()
            ));
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                dump(out, item, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&" ".repeat(depth));
            out.push('}');
        }
        Value::Map(_) | Value::StrMap(_) => {
            let entries = v.map_entries().unwrap_or_default();
            out.push_str(&format!("({}) (len={}) {{\n", v.type_name(), entries.len()));
            for (i, (k, item)) in entries.iter().enumerate() {
                out.push_str(&pad);
                out.push_str(&format!("(string) (len={}) {}: ", k.len(), go_quote(k)));
                dump(out, item, depth + 1);
                out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
            }
            out.push_str(&" ".repeat(depth));
            out.push('}');
        }
        other => out.push_str(&format!(
            "({}) {}",
            other.type_name(),
            printf::sprint_one(other)
        )),
    }
}
