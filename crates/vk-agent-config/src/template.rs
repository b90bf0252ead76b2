//! The `template` stanza, decoded strictly as consul-template's `TemplateConfig` is upstream:
//! an unknown key or a value of the wrong type fails loading (spec §1.1, E17). Hooks upstream
//! installs are reproduced: octal `perms` strings, comma-split `command` strings, Go duration
//! strings, and `wait = "min[:max]"`.

use std::time::Duration;

use crate::ast::{self, Item, Kind, Lit, Node};
use crate::decode::Decoder;
use crate::error::ConfigError;
use crate::fields::{FieldError, go_type};
use crate::model::{DEFAULT_COMMAND_TIMEOUT, Exec, Template, Wait};
use crate::values::parse_go_duration;

const SECTION: &str = "error parsing 'template': ";
const PREAMBLE: &str = "decoding failed due to the following error(s):\n\n";

const KEYS: &[&str] = &[
    "backup",
    "command",
    "command_timeout",
    "contents",
    "create_dest_dirs",
    "destination",
    "error_fatal",
    "error_on_missing_key",
    "exec",
    "function_blacklist",
    "function_denylist",
    "gid",
    "group",
    "left_delimiter",
    "perms",
    "right_delimiter",
    "sandbox_path",
    "source",
    "uid",
    "user",
    "wait",
];

const EXEC_KEYS: &[&str] = &[
    "command",
    "enabled",
    "env",
    "kill_signal",
    "kill_timeout",
    "reload_signal",
    "splay",
    "timeout",
];

const WAIT_KEYS: &[&str] = &["enabled", "min", "max"];

/// Keys of `items` outside `known`, sorted and de-duplicated (mapstructure's report order).
fn invalid_keys(items: &[Item], known: &[&str]) -> Vec<String> {
    let mut bad: Vec<String> = items
        .iter()
        .map(Item::name)
        .filter(|k| !known.contains(k))
        .map(str::to_owned)
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

fn unconvertible(key: &str, want: &str, node: &Node) -> String {
    format!(
        "'{key}' expected type '{want}', got unconvertible type '{}'",
        go_type(node)
    )
}

/// Decodes one `template` block.
pub(crate) fn decode(dec: &mut Decoder<'_>, item: &Item) -> Result<Template, ConfigError> {
    let fail = |dec: &Decoder<'_>, line: Option<u32>, msg: String| {
        dec.error(SECTION, (line, format!("{PREAMBLE}{msg}")))
    };
    let Some(body) = item.value.object() else {
        return Err(dec.error(SECTION, (item.line, "error converting config".to_owned())));
    };
    let bad = invalid_keys(body, KEYS);
    if !bad.is_empty() {
        let line = body
            .iter()
            .find(|i| bad.iter().any(|b| b == i.name()))
            .and_then(|i| i.line)
            .or(item.line);
        return Err(fail(
            dec,
            line,
            format!(
                "'config.TemplateConfig' has invalid keys: {}",
                bad.join(", ")
            ),
        ));
    }
    let mut t = Template::default();
    for field in body {
        // Repeated keys: the last one wins, as the generic decode keeps the last map value.
        apply(&mut t, field).map_err(|(line, msg)| fail(dec, line.or(item.line), msg))?;
    }
    Ok(t)
}

fn apply(t: &mut Template, field: &Item) -> Result<(), FieldError> {
    let key = field.name();
    let node = &field.value;
    let err = |msg: String| (field.line, msg);
    let string = || match &node.kind {
        Kind::Lit(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(err(unconvertible(key, "string", node))),
    };
    let boolean = || match &node.kind {
        Kind::Lit(Lit::Bool(b)) => Ok(*b),
        _ => Err(err(unconvertible(key, "bool", node))),
    };
    let int = || match &node.kind {
        Kind::Lit(Lit::Int(i)) => Ok(*i),
        _ => Err(err(unconvertible(key, "int", node))),
    };
    match key {
        "source" => t.source = Some(string()?),
        "contents" => t.contents = Some(string()?),
        "destination" => t.destination = string()?,
        "user" => t.user = Some(string()?),
        "group" => t.group = Some(string()?),
        "left_delimiter" => t.left_delimiter = string()?,
        "right_delimiter" => t.right_delimiter = string()?,
        "sandbox_path" => t.sandbox_path = string()?,
        "create_dest_dirs" => t.create_dest_dirs = boolean()?,
        "backup" => t.backup = boolean()?,
        "error_on_missing_key" => t.error_on_missing_key = boolean()?,
        "error_fatal" => t.error_fatal = boolean()?,
        "uid" => t.uid = Some(int()?),
        "gid" => t.gid = Some(int()?),
        "perms" => t.perms = Some(perms(node).map_err(|m| err(decoding(key, m)))?),
        "command" => t.command = string_list(key, node).map_err(err)?,
        "function_denylist" | "function_blacklist" => {
            t.function_denylist = string_list(key, node).map_err(err)?;
        }
        "command_timeout" => {
            t.command_timeout = duration(key, node).map_err(|m| err(decoding(key, m)))?;
        }
        "exec" => t.exec = Some(exec(last_object(node))?),
        "wait" => t.wait = Some(wait(node).map_err(|m| err(decoding(key, m)))?),
        _ => {}
    }
    Ok(())
}

/// Names the key in a value error, as mapstructure's decode hooks do (`error decoding 'perms':
/// strconv.ParseUint: …`); texts that already name it are kept.
fn decoding(key: &str, msg: String) -> String {
    if msg.contains(&format!("'{key}'")) || msg.starts_with(&format!("{key}:")) {
        msg
    } else {
        format!("error decoding '{key}': {msg}")
    }
}

/// Upstream flattens a repeated `exec`/`wait` block to its last occurrence.
fn last_object(node: &Node) -> &Node {
    match &node.kind {
        Kind::List(elems) => elems.last().unwrap_or(node),
        _ => node,
    }
}

/// `perms`: an octal string of at most 12 bits, or a number (JSON decimal, HCL octal literal).
fn perms(node: &Node) -> Result<u32, String> {
    match &node.kind {
        Kind::Lit(Lit::Str(s)) => u32::from_str_radix(s, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| format!("strconv.ParseUint: parsing {s:?}: invalid syntax")),
        Kind::Lit(Lit::Int(i)) => {
            u32::try_from(*i).map_err(|_| format!("cannot parse 'perms', {i} overflows uint32"))
        }
        _ => Err(unconvertible("perms", "os.FileMode", node)),
    }
}

/// A string split on commas, or a list of strings.
fn string_list(key: &str, node: &Node) -> Result<Vec<String>, String> {
    match &node.kind {
        Kind::Lit(Lit::Str(s)) if s.is_empty() => Ok(Vec::new()),
        Kind::Lit(Lit::Str(s)) => Ok(s.split(',').map(str::to_owned).collect()),
        Kind::List(elems) => elems
            .iter()
            .map(|e| match &e.kind {
                Kind::Lit(Lit::Str(s)) => Ok(s.clone()),
                _ => Err(unconvertible(key, "string", e)),
            })
            .collect(),
        _ => Err(unconvertible(key, "[]string", node)),
    }
}

/// A Go duration string; a bare integer is nanoseconds (it decodes straight into
/// `time.Duration`).
fn duration(key: &str, node: &Node) -> Result<Duration, String> {
    match &node.kind {
        Kind::Lit(Lit::Str(s)) => parse_go_duration(s),
        Kind::Lit(Lit::Int(i)) => u64::try_from(*i)
            .map(Duration::from_nanos)
            .map_err(|_| format!("'{key}' must not be negative")),
        _ => Err(unconvertible(key, "time.Duration", node)),
    }
}

fn exec(node: &Node) -> Result<Exec, FieldError> {
    let line = node.line;
    let Some(body) = node.object() else {
        return Err((line, unconvertible("exec", "config.ExecConfig", node)));
    };
    let bad = invalid_keys(body, EXEC_KEYS);
    if !bad.is_empty() {
        return Err((line, format!("'exec' has invalid keys: {}", bad.join(", "))));
    }
    let mut out = Exec {
        command: Vec::new(),
        timeout: DEFAULT_COMMAND_TIMEOUT,
    };
    for field in body {
        let err = |m| (field.line.or(line), m);
        match field.name() {
            "command" => out.command = string_list("command", &field.value).map_err(err)?,
            "timeout" => {
                out.timeout =
                    duration("timeout", &field.value).map_err(|m| err(decoding("timeout", m)))?;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `wait = "min[:max]"` or `wait { min max }`; `max` defaults to 4 × `min`.
fn wait(node: &Node) -> Result<Wait, String> {
    let node = last_object(node);
    let (min, max) = match &node.kind {
        Kind::Lit(Lit::Str(s)) => {
            let mut parts = s.splitn(2, ':');
            let min = parse_go_duration(parts.next().unwrap_or("").trim())?;
            let max = parts
                .next()
                .map(|m| parse_go_duration(m.trim()))
                .transpose()?;
            (min, max)
        }
        Kind::Object(body) => {
            let bad = invalid_keys(body, WAIT_KEYS);
            if !bad.is_empty() {
                return Err(format!("'wait' has invalid keys: {}", bad.join(", ")));
            }
            let get = |k: &str| {
                ast::filter(body, k)
                    .last()
                    .map(|i| duration(k, &i.value))
                    .transpose()
            };
            (get("min")?.unwrap_or_default(), get("max")?)
        }
        _ => return Err(unconvertible("wait", "config.WaitConfig", node)),
    };
    let max = max.unwrap_or_else(|| min.saturating_mul(4));
    if max < min {
        return Err(format!(
            "wait: max ({max:?}) must be greater than or equal to min ({min:?})"
        ));
    }
    Ok(Wait { min, max })
}
