//! Whole error chains in one line, for logs and client-facing messages.

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its causes, `a: b: c`. Library errors keep their cause
/// in `source()` instead of their message, so plain `{}` would drop the part that says why.
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorChain;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot load certificate")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn prints_every_cause() {
        let err = Outer(std::io::Error::other("no such file"));
        assert_eq!(
            ErrorChain(&err).to_string(),
            "cannot load certificate: no such file"
        );
    }
}
