//! Go's `flag` package: one parser for every command line of the binary.
//!
//! A flag set is a struct declared with [`go_flags!`](crate::go_flags): one typed field per
//! flag, so a caller reads `flags.listen`, never a value looked up by name, and a misspelt flag
//! does not compile. The same declaration yields the flag table ([`FlagSpec`]) that help texts
//! and docs are generated from.
//!
//! Parsing follows `flag.FlagSet.Parse` with `ContinueOnError`: `-f v`, `-f=v`, `--f`, `--f=v`;
//! a bool flag never takes the next argument (`-b`, `-b=false`); `--` ends the flags and is
//! dropped; parsing stops at the first argument that is not a flag (a lone `-` is one); a flag
//! given twice keeps its last value. Errors carry Go's texts.

mod value;

pub use value::{Duration, FlagValue, ValueError};

use crate::quote::quote;

/// The Go type of a flag, as `flag.PrintDefaults` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    String,
    Bool,
    Int,
    Uint,
    Duration,
}

impl FlagKind {
    /// Go's name for the type (`string`, `bool`, `int`, `uint`, `duration`).
    pub fn type_name(self) -> &'static str {
        match self {
            FlagKind::String => "string",
            FlagKind::Bool => "bool",
            FlagKind::Int => "int",
            FlagKind::Uint => "uint",
            FlagKind::Duration => "duration",
        }
    }
}

/// One row of a flag table: what help texts and generated docs show.
#[derive(Debug)]
pub struct FlagSpec {
    /// The name on the command line, without dashes.
    pub name: &'static str,
    pub kind: FlagKind,
    /// The default as Go's help shows it (`""` for none).
    pub default: &'static str,
    /// Environment variables a caller consults after parsing (first non-empty wins). The
    /// parser never reads them: it only carries the names so one table describes the flag.
    pub env: &'static [&'static str],
    pub usage: &'static str,
}

/// A set of flags the parser can fill: implemented by [`go_flags!`](crate::go_flags) structs and
/// by pairs of them (two tables parsed as one command line).
pub trait FlagSet {
    /// The kind of the flag called `name`, or `None` when the set does not define it.
    fn flag_kind(&self, name: &str) -> Option<FlagKind>;
    /// Parse `value` into the flag called `name`; `None` when the set does not define it.
    fn set_flag(&mut self, name: &str, value: &str) -> Option<Result<(), ValueError>>;
}

impl<A: FlagSet, B: FlagSet> FlagSet for (A, B) {
    fn flag_kind(&self, name: &str) -> Option<FlagKind> {
        self.0.flag_kind(name).or_else(|| self.1.flag_kind(name))
    }

    fn set_flag(&mut self, name: &str, value: &str) -> Option<Result<(), ValueError>> {
        if self.0.flag_kind(name).is_some() {
            self.0.set_flag(name, value)
        } else {
            self.1.set_flag(name, value)
        }
    }
}

/// A command line that Go's `flag` package rejects; `Display` is Go's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("flag provided but not defined: -{0}")]
    Undefined(String),
    /// `-h` or `-help` on a set that does not define them (Go's `flag.ErrHelp`).
    #[error("flag: help requested")]
    Help,
    #[error("bad flag syntax: {0}")]
    BadSyntax(String),
    #[error("flag needs an argument: -{0}")]
    NeedsArgument(String),
    #[error("invalid boolean value {} for -{name}: {reason}", quote(value))]
    InvalidBool {
        name: String,
        value: String,
        reason: ValueError,
    },
    #[error("invalid value {} for flag -{name}: {reason}", quote(value))]
    InvalidValue {
        name: String,
        value: String,
        reason: ValueError,
    },
}

/// Parse `args` (the words after the command name) into `set`, as Go's `FlagSet.Parse`.
/// Returns the arguments left after the flags (Go's `FlagSet.Args`): everything from the first
/// positional argument on, or after `--`.
pub fn parse<'a, S: FlagSet>(set: &mut S, args: &'a [String]) -> Result<&'a [String], FlagError> {
    let mut at = 0;
    while let Some(arg) = args.get(at) {
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let body = match arg.strip_prefix("--") {
            Some("") => return Ok(&args[at + 1..]),
            Some(body) => body,
            None => &arg[1..],
        };
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::BadSyntax(arg.clone()));
        }
        at += 1;
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let Some(kind) = set.flag_kind(name) else {
            if name == "help" || name == "h" {
                return Err(FlagError::Help);
            }
            return Err(FlagError::Undefined(name.to_owned()));
        };
        let value = match (kind, inline) {
            (FlagKind::Bool, inline) => inline.unwrap_or("true"),
            (_, Some(value)) => value,
            // Go takes the next argument verbatim, even when it starts with a dash.
            (_, None) => {
                let value = args
                    .get(at)
                    .ok_or_else(|| FlagError::NeedsArgument(name.to_owned()))?;
                at += 1;
                value
            }
        };
        if let Some(Err(reason)) = set.set_flag(name, value) {
            let (name, value) = (name.to_owned(), value.to_owned());
            return Err(if kind == FlagKind::Bool {
                FlagError::InvalidBool {
                    name,
                    value,
                    reason,
                }
            } else {
                FlagError::InvalidValue {
                    name,
                    value,
                    reason,
                }
            });
        }
    }
    Ok(&args[at..])
}

/// Declare a flag set: a struct with one typed field per flag, its [`FlagSpec`] table
/// (`NAME::SPECS`), a `Default` holding every flag's default and the [`FlagSet`] the parser
/// fills. A field's type picks the flag's kind through [`FlagValue`]: `String`, `bool`, `i64`,
/// `u64`, [`Duration`], or `Option` of one of them (`None` until the flag is given).
///
/// ```ignore
/// vk_go::go_flags! {
///     pub struct ServeFlags {
///         pub listen: String => "listen" { default: ":8080", env: ["LISTEN"], usage: "Address to bind" },
///         pub verbose: bool => "v" { default: "false", env: [], usage: "Log more" },
///     }
/// }
/// ```
#[macro_export]
macro_rules! go_flags {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $ty:ty => $flag:literal {
                    default: $default:expr,
                    env: [$($env:expr),* $(,)?],
                    usage: $usage:expr $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $name {
            /// The flag table, in declaration order.
            $vis const SPECS: &'static [$crate::flag::FlagSpec] = &[
                $(
                    $crate::flag::FlagSpec {
                        name: $flag,
                        kind: <$ty as $crate::flag::FlagValue>::KIND,
                        default: $default,
                        env: &[$($env),*],
                        usage: $usage,
                    },
                )*
            ];
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: <$ty as $crate::flag::FlagValue>::from_default($default), )*
                }
            }
        }

        impl $crate::flag::FlagSet for $name {
            fn flag_kind(&self, name: &str) -> ::core::option::Option<$crate::flag::FlagKind> {
                Self::SPECS.iter().find(|spec| spec.name == name).map(|spec| spec.kind)
            }

            fn set_flag(
                &mut self,
                name: &str,
                value: &str,
            ) -> ::core::option::Option<::core::result::Result<(), $crate::flag::ValueError>> {
                match name {
                    $(
                        $flag => ::core::option::Option::Some(
                            <$ty as $crate::flag::FlagValue>::parse_flag(value)
                                .map(|parsed| self.$field = parsed),
                        ),
                    )*
                    _ => ::core::option::Option::None,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests;
