//! Vault's `parseutil.ParseBool` and `parseutil.ParseInt` on strings: the empty string is the
//! zero value, anything else goes through `strconv`. Vault and vault-k8s read annotations,
//! environment variables and method settings with them, so their texts reach users.

use crate::strconv::{NumError, parse_bool, parse_int};

/// `parseutil.ParseBool`'s error: the `strconv` error wrapped by mapstructure's weak decoding,
/// which names no field (hence the empty `''`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse '' as bool: {0}")]
pub struct WeakBoolError(pub NumError);

/// `parseutil.ParseBool` on a string: `""` is false, otherwise Go `strconv.ParseBool`.
pub fn parseutil_bool(s: &str) -> Result<bool, WeakBoolError> {
    if s.is_empty() {
        return Ok(false);
    }
    parse_bool(s).map_err(WeakBoolError)
}

/// `parseutil.ParseInt` on a string: `""` is 0, otherwise Go `strconv.ParseInt(s, 10, 64)`.
pub fn parseutil_int(s: &str) -> Result<i64, NumError> {
    if s.is_empty() {
        return Ok(0);
    }
    parse_int(s, 10, 64)
}
