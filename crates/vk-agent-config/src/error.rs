//! Typed errors. Every message names the file, and the line when the input was HCL, so an
//! operator can find the offending key.

use std::fmt;

/// Where in the input something happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// 1-based line; `None` for JSON input (the JSON reader keeps no positions after parsing).
    pub line: Option<u32>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// A configuration that cannot be loaded or is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not HCL1 / JSON.
    #[error("error loading configuration from {file}: At {line}:{column}: {message}")]
    Syntax {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    /// A stanza failed to decode or validate; `section` is upstream's wrapper (e.g.
    /// `error parsing 'auto_auth': `), `message` the inner text.
    #[error("error loading configuration from {}: {section}{message}{}", .at.file, line_suffix(&.at.line))]
    Invalid {
        at: Location,
        section: &'static str,
        message: String,
    },
    /// Whole-config validation after loading (upstream's `ValidateConfig`).
    #[error("error validating configuration: {message} ({file})")]
    Validation { file: String, message: String },
    /// `VAULT_CONFIG` is not padded standard base64 of UTF-8 text.
    #[error("VAULT_CONFIG is not valid base64: {0}")]
    Base64(String),
    /// An environment variable could not be applied.
    #[error("error parsing environment variable {name}: {message}")]
    Env { name: String, message: String },
}

fn line_suffix(line: &Option<u32>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// An ignored key (upstream ignores unknown keys outside `template`); returned so the caller can
/// log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub at: Location,
    /// Dotted path of the stanza, e.g. `vault` or `auto_auth.method`.
    pub section: String,
    pub key: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: unknown key {:?} in {} ignored",
            self.at, self.key, self.section
        )
    }
}
