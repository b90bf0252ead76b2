//! Configuration model of our agent (`vault-k8s agent -config=FILE`), compatible with Vault
//! Agent's (spec agent.md §1): an HCL1 reader and the JSON form the injector generates, both
//! decoded into one typed [`Config`] with upstream's defaults, stanza errors, strict `template`
//! decoding, environment overrides and whole-config validation.
//!
//! Owns: parsing, defaults, validation, `VAULT_CONFIG` decoding. Must never: touch the file
//! system, the process environment (variables are passed in as a map), the network or a clock,
//! nor depend on async/TLS crates — it is a pure library.

mod ast;
mod decode;
mod env;
mod error;
mod fields;
mod hcl;
mod json;
mod method_config;
mod model;
mod template;
mod validate;
pub mod values;

use std::collections::BTreeMap;

pub use env::{apply_env, decode_vault_config};
pub use error::{ConfigError, Location, Warning};
pub use method_config::*;
pub use model::*;
pub use validate::validate;

/// A decoded configuration and the keys that were ignored on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// Parses HCL1 text; `file` is used in messages.
pub fn parse_hcl(text: &str, file: &str) -> Result<Loaded, ConfigError> {
    let root = hcl::parse(text, file)?;
    decode_root(&root, file)
}

/// Parses JSON text (blocks may be objects or lists of objects); `file` is used in messages.
pub fn parse_json(text: &str, file: &str) -> Result<Loaded, ConfigError> {
    let root = json::parse(text, file)?;
    decode_root(&root, file)
}

/// Parses either form, choosing as upstream's reader does: text whose first non-blank
/// character is `{` is JSON, anything else HCL1.
pub fn parse(text: &str, file: &str) -> Result<Loaded, ConfigError> {
    if text.trim_start().starts_with('{') {
        parse_json(text, file)
    } else {
        parse_hcl(text, file)
    }
}

/// What the agent does at start-up: parse, apply the environment, validate.
pub fn load(text: &str, file: &str, env: &BTreeMap<String, String>) -> Result<Loaded, ConfigError> {
    let mut loaded = parse(text, file)?;
    apply_env(&mut loaded.config, env)?;
    validate(&loaded.config, file)?;
    Ok(loaded)
}

/// Decodes and parses an injector `VAULT_CONFIG` value (base64 JSON).
pub fn parse_vault_config(value: &str, file: &str) -> Result<Loaded, ConfigError> {
    parse_json(&decode_vault_config(value)?, file)
}

fn decode_root(root: &[ast::Item], file: &str) -> Result<Loaded, ConfigError> {
    let mut decoder = decode::Decoder::new(file);
    let config = decoder.config(root)?;
    Ok(Loaded {
        config,
        warnings: decoder.warnings,
    })
}
