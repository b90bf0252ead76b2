//! `toTOML`: output laid out like BurntSushi/toml's encoder (direct keys first, then tables,
//! two-space indentation per table level).

use crate::value::Value;

pub(crate) fn to_toml(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    let entries = match v {
        Value::Map(_) | Value::StrMap(_) => v.map_entries().unwrap_or_default(),
        Value::Invalid | Value::Nil => Vec::new(),
        other => {
            return Err(format!(
                "toml: top-level values must be Go maps or structs, not {}",
                other.type_name()
            ));
        }
    };
    table(&mut out, &[], &entries, 0)?;
    Ok(out)
}

fn bare(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

fn quote_key(k: &str) -> String {
    if bare(k) { k.to_string() } else { quote(k) }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_) | Value::StrMap(_))
}

fn is_table_array(v: &Value) -> bool {
    match v.list_items() {
        Some(items) => !items.is_empty() && items.iter().all(is_table),
        None => false,
    }
}

fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Nil | Value::Invalid | Value::NilPtr(_))
}

fn scalar(v: &Value, depth: usize) -> Result<String, String> {
    if depth > 128 {
        return Err("toml: nesting too deep".into());
    }
    Ok(match v {
        Value::Str(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => float(*f),
        Value::Number(n) => {
            if n.is_empty() {
                "0".into()
            } else if let Ok(i) = n.parse::<i64>() {
                i.to_string()
            } else if let Ok(f) = n.parse::<f64>() {
                float(f)
            } else {
                return Err(format!("toml: invalid number {n:?}"));
            }
        }
        Value::List(_) | Value::StrList(_) => {
            let items: Vec<Value> = v
                .list_items()
                .unwrap_or_default()
                .into_iter()
                .filter(|x| !is_nil(x))
                .collect();
            let parts: Result<Vec<String>, String> =
                items.iter().map(|x| scalar(x, depth + 1)).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Map(_) | Value::StrMap(_) => {
            let parts: Result<Vec<String>, String> = v
                .map_entries()
                .unwrap_or_default()
                .iter()
                .filter(|(_, x)| !is_nil(x))
                .map(|(k, x)| Ok(format!("{} = {}", quote_key(k), scalar(x, depth + 1)?)))
                .collect();
            format!("{{{}}}", parts?.join(", "))
        }
        other => return Err(format!("toml: unsupported type: {}", other.type_name())),
    })
}

fn float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = vk_go::format_f(f, None);
    if s.contains('.') { s } else { format!("{s}.0") }
}

fn last_line_is_header(out: &str) -> bool {
    out.trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .is_some_and(|l| l.trim_start().starts_with('['))
}

fn table(
    out: &mut String,
    path: &[String],
    entries: &[(String, Value)],
    depth: usize,
) -> Result<(), String> {
    if depth > 64 {
        return Err("toml: nesting too deep".into());
    }
    let indent = "  ".repeat(path.len().saturating_sub(0).min(path.len()));
    for (k, v) in entries {
        if is_nil(v) || is_table(v) || is_table_array(v) {
            continue;
        }
        out.push_str(&indent);
        out.push_str(&quote_key(k));
        out.push_str(" = ");
        out.push_str(&scalar(v, depth)?);
        out.push('\n');
    }
    for (k, v) in entries {
        let mut sub = path.to_vec();
        sub.push(k.clone());
        let header: Vec<String> = sub.iter().map(|p| quote_key(p)).collect();
        let head_indent = "  ".repeat(sub.len() - 1);
        if is_table(v) {
            // BurntSushi separates tables by a blank line, except right after a header that
            // has no keys of its own.
            if !out.is_empty() && !last_line_is_header(out) {
                out.push('\n');
            }
            out.push_str(&format!("{head_indent}[{}]\n", header.join(".")));
            table(out, &sub, &v.map_entries().unwrap_or_default(), depth + 1)?;
        } else if is_table_array(v) {
            for item in v.list_items().unwrap_or_default() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{head_indent}[[{}]]\n", header.join(".")));
                table(
                    out,
                    &sub,
                    &item.map_entries().unwrap_or_default(),
                    depth + 1,
                )?;
            }
        }
    }
    Ok(())
}
