//! Go standard-library behaviour the agent and the injector must match byte for byte, because
//! Vault, Vault Agent and consul-template parse their settings with it: `strconv.ParseBool`,
//! `strconv.ParseInt`, `strconv.ParseFloat`, `strconv.FormatFloat`, `strconv.Quote`, `encoding/json`'s string and float
//! text, `time.ParseDuration`, `time.Duration.String` and
//! `path.Clean`, UTC calendar dates from Unix seconds, the `flag` package's command-line syntax, and Vault's `parseutil` string wrappers over them.
//!
//! Owns: these conversions and Go's error texts. Must never: perform I/O, read a clock or the
//! environment — it is a pure library, one implementation for every crate.

mod base64;
mod civil;
mod duration;
pub mod flag;
mod float;
mod float_format;
mod json;
mod parseutil;
mod path;
mod quote;
mod short_copy;
mod strconv;

pub use base64::{base64_std, push_base64_std};
pub use civil::{UtcDateTime, civil_from_days, days_from_civil};
pub use duration::{
    DurationError, format_duration, format_std, parse_duration, parse_std_duration,
};
pub use float::parse_float;
pub use float_format::{format_e, format_f, format_g, format_g_shortest, format_json_float};
pub use json::{json_escape, push_json_string, push_json_string_bytes};
pub use parseutil::{WeakBoolError, parseutil_bool, parseutil_int};
pub use path::path_clean;
pub use quote::{is_print, quote, quote_bytes, quote_to_ascii};
pub use short_copy::push_bytes;
pub use strconv::{NumError, NumErrorKind, parse_bool, parse_int, parse_uint};
