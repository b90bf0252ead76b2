//! A string that must never be printed: tokens, secret ids, JWTs.

use std::fmt;

/// A credential (Vault token, AppRole secret id, JWT). `Debug` and `Display` print
/// `<redacted>`; the value is only reachable through [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself. Call sites are the only places a secret can leak: keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` for an empty credential.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Length in bytes (safe to log: it does not reveal the value).
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("SecretString(<empty>)")
        } else {
            f.write_str("SecretString(<redacted>)")
        }
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = SecretString::new("s.VERYSECRETTOKEN");
        assert_eq!(format!("{s:?}"), "SecretString(<redacted>)");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    SecretString(<redacted>),\n)"
        );
        assert_eq!(s.expose(), "s.VERYSECRETTOKEN");
        assert_eq!(
            format!("{:?}", SecretString::default()),
            "SecretString(<empty>)"
        );
    }
}
