//! Environment overrides (spec §1.1: environment beats the file) and the injector's
//! `VAULT_CONFIG` transport, as pure functions: the caller passes the variables in.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::decode::check_subsystems;
use crate::error::ConfigError;
use crate::model::Config;

/// Applies `VAULT_ADDR`, `VAULT_CACERT`, `VAULT_CAPATH`, `VAULT_CLIENT_CERT`,
/// `VAULT_CLIENT_KEY`, `VAULT_SKIP_VERIFY`, `VAULT_TLS_SERVER_NAME`, `VAULT_NAMESPACE` and the
/// `VAULT_AGENT_DISABLE_*` lists. Empty variables count as unset, as upstream's checks do.
///
/// `VAULT_SKIP_VERIFY` is a boolean (Vault 2.0.x): `"false"` keeps verification on.
pub fn apply_env(config: &mut Config, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let get = |name: &str| env.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let vault = &mut config.vault;
    for (name, slot) in [
        ("VAULT_ADDR", &mut vault.address),
        ("VAULT_CACERT", &mut vault.ca_cert),
        ("VAULT_CAPATH", &mut vault.ca_path),
        ("VAULT_CLIENT_CERT", &mut vault.client_cert),
        ("VAULT_CLIENT_KEY", &mut vault.client_key),
        ("VAULT_TLS_SERVER_NAME", &mut vault.tls_server_name),
        ("VAULT_NAMESPACE", &mut vault.namespace),
    ] {
        if let Some(v) = get(name) {
            *slot = v.to_owned();
        }
    }
    if let Some(v) = get("VAULT_SKIP_VERIFY") {
        // Upstream's text does not repeat the value.
        vault.tls_skip_verify = vk_go::parse_bool(v).map_err(|_| ConfigError::Env {
            name: "VAULT_SKIP_VERIFY".to_owned(),
            message: "could not parse VAULT_SKIP_VERIFY".to_owned(),
        })?;
    }
    for (name, key, slot) in [
        (
            "VAULT_AGENT_DISABLE_IDLE_CONNECTIONS",
            "disable_idle_connections",
            &mut config.disable_idle_connections,
        ),
        (
            "VAULT_AGENT_DISABLE_KEEP_ALIVES",
            "disable_keep_alives",
            &mut config.disable_keep_alives,
        ),
    ] {
        if let Some(v) = get(name) {
            // Lower-cased, comma-separated, items trimmed (parseutil.ParseCommaStringSlice).
            let list: Vec<String> = v
                .to_lowercase()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            check_subsystems(key, &list).map_err(|message| ConfigError::Env {
                name: name.to_owned(),
                message,
            })?;
            *slot = list;
        }
    }
    Ok(())
}

/// Decodes the injector's `VAULT_CONFIG` value (standard padded base64; line breaks ignored, as
/// `base64 -d` in the container entrypoint ignores them) into the JSON text.
pub fn decode_vault_config(value: &str) -> Result<String, ConfigError> {
    let cleaned: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| ConfigError::Base64(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ConfigError::Base64(format!("not UTF-8 text: {e}")))
}
