//! The Go flag types: how a flag's text becomes its typed value, with Go's `flag` errors.

use super::FlagKind;
use crate::strconv::NumErrorKind;

/// Why a flag value was rejected; `Display` is Go's text (`errParse` / `errRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("parse error")]
    Parse,
    #[error("value out of range")]
    Range,
}

impl From<NumErrorKind> for ValueError {
    fn from(kind: NumErrorKind) -> Self {
        match kind {
            NumErrorKind::Range => ValueError::Range,
            NumErrorKind::Syntax => ValueError::Parse,
        }
    }
}

/// A Go `time.Duration` flag value: signed nanoseconds, as `time.ParseDuration` reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub i64);

impl Duration {
    /// The value as a `std::time::Duration`; `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .map(std::time::Duration::from_nanos)
    }
}

/// A type a flag can hold; its [`KIND`](FlagValue::KIND) decides the flag syntax (a bool never
/// takes the next argument).
pub trait FlagValue: Sized {
    const KIND: FlagKind;

    /// Go's `flag.Value.Set` for this type.
    fn parse_flag(text: &str) -> Result<Self, ValueError>;

    /// The declared default. A default that does not parse is a mistake in the flag table
    /// (code, not input), caught by the first test that builds the set.
    fn from_default(text: &'static str) -> Self {
        match Self::parse_flag(text) {
            Ok(value) => value,
            Err(err) => panic!("flag table default {text:?} does not parse: {err}"),
        }
    }
}

impl FlagValue for String {
    const KIND: FlagKind = FlagKind::String;

    fn parse_flag(text: &str) -> Result<Self, ValueError> {
        Ok(text.to_owned())
    }
}

impl FlagValue for bool {
    const KIND: FlagKind = FlagKind::Bool;

    /// `strconv.ParseBool`; every failure is `parse error`, as Go's `boolValue.Set`.
    fn parse_flag(text: &str) -> Result<Self, ValueError> {
        crate::parse_bool(text).map_err(|_| ValueError::Parse)
    }
}

impl FlagValue for i64 {
    const KIND: FlagKind = FlagKind::Int;

    /// `strconv.ParseInt(s, 0, 64)`: base prefixes and underscores allowed, as Go's `intValue`.
    fn parse_flag(text: &str) -> Result<Self, ValueError> {
        crate::parse_int(text, 0, 64).map_err(|e| e.kind.into())
    }
}

impl FlagValue for u64 {
    const KIND: FlagKind = FlagKind::Uint;

    /// `strconv.ParseUint(s, 0, 64)`, as Go's `uintValue`.
    fn parse_flag(text: &str) -> Result<Self, ValueError> {
        crate::parse_uint(text, 0).map_err(|e| e.kind.into())
    }
}

impl FlagValue for Duration {
    const KIND: FlagKind = FlagKind::Duration;

    /// `time.ParseDuration`; every failure is `parse error`, as Go's `durationValue.Set`.
    fn parse_flag(text: &str) -> Result<Self, ValueError> {
        crate::parse_duration(text)
            .map(Duration)
            .map_err(|_| ValueError::Parse)
    }
}

/// A flag whose absence matters: `None` until given on the command line (an empty default).
impl<T: FlagValue> FlagValue for Option<T> {
    const KIND: FlagKind = T::KIND;

    fn parse_flag(text: &str) -> Result<Self, ValueError> {
        T::parse_flag(text).map(Some)
    }

    fn from_default(text: &'static str) -> Self {
        if text.is_empty() {
            None
        } else {
            Some(T::from_default(text))
        }
    }
}
