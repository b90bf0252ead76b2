//! Go `flag` package syntax: `-f=v`, `--f=v`, `-f v`, `--f v`, bare bool `-f`; parsing stops at
//! the first positional argument (or after `--`) and the rest is ignored, as upstream does —
//! Helm passes `agent-inject 2>&1` literally.

use std::collections::BTreeMap;

use super::flags::{Flag, FlagKind};
use super::goparse::parse_bool;

/// Flag values after parsing (every flag present, defaults filled in). Bools hold `true`/`false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValues {
    values: BTreeMap<&'static str, String>,
    kinds: BTreeMap<&'static str, FlagKind>,
}

/// A command line that Go's `flag` package would reject. Messages are Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("flag provided but not defined: -{0}")]
    Undefined(String),
    #[error("bad flag syntax: {0}")]
    BadSyntax(String),
    #[error("flag needs an argument: -{0}")]
    NeedsArgument(String),
    #[error("invalid boolean value \"{value}\" for -{name}: parse error")]
    InvalidBool { name: String, value: String },
}

// === FlagValues ===

impl FlagValues {
    /// Every flag of `tables` at its default.
    pub fn defaults(tables: &[&'static [Flag]]) -> Self {
        let mut values = BTreeMap::new();
        let mut kinds = BTreeMap::new();
        for flag in tables.iter().flat_map(|t| t.iter()) {
            values.insert(flag.name, flag.default.to_owned());
            kinds.insert(flag.name, flag.kind);
        }
        Self { values, kinds }
    }

    /// The current value of `name` (empty for a name outside the tables).
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// A bool flag's value; values are validated on the way in, so anything else is `false`.
    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "true"
    }

    /// Set a known flag; unknown names are ignored (callers iterate the same tables).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        if let Some(slot) = self.values.get_mut(name) {
            *slot = value.into();
        }
    }

    fn kind(&self, name: &str) -> Option<(&'static str, FlagKind)> {
        self.kinds.get_key_value(name).map(|(k, v)| (*k, *v))
    }
}

/// Parse `args` (everything after the subcommand) against `tables`.
pub fn parse_go_flags(
    args: &[String],
    tables: &[&'static [Flag]],
) -> Result<FlagValues, FlagError> {
    let mut values = FlagValues::defaults(tables);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let body = match arg.strip_prefix("--") {
            Some("") => break,
            Some(body) => body,
            None => &arg[1..],
        };
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::BadSyntax(arg.clone()));
        }
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let Some((name, kind)) = values.kind(name) else {
            return Err(FlagError::Undefined(name.to_owned()));
        };
        let value = match (kind, inline) {
            (FlagKind::Bool, None) => "true".to_owned(),
            (FlagKind::Bool, Some(v)) => match parse_bool(v) {
                // Go's flag package uses strconv.ParseBool, which rejects the empty string.
                Ok(b) if !v.is_empty() => b.to_string(),
                _ => {
                    return Err(FlagError::InvalidBool {
                        name: name.to_owned(),
                        value: v.to_owned(),
                    });
                }
            },
            (FlagKind::String, Some(v)) => v.to_owned(),
            // Go takes the next argument verbatim, even if it starts with a dash.
            (FlagKind::String, None) => rest
                .next()
                .cloned()
                .ok_or_else(|| FlagError::NeedsArgument(name.to_owned()))?,
        };
        values.set(name, value);
    }
    Ok(values)
}
