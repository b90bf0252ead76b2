//! Whole-configuration checks run after loading and environment overrides (upstream's
//! `ValidateConfig`, plus the template and backoff rules of spec §1.2/§1.5).

use crate::error::ConfigError;
use crate::model::{AutoAuthToken, Config};
use vk_go::format_std as format_duration;

/// Checks cross-stanza rules; `file` names the configuration in the message.
pub fn validate(config: &Config, file: &str) -> Result<(), ConfigError> {
    check(config).map_err(|message| ConfigError::Validation {
        file: file.to_owned(),
        message,
    })
}

fn check(c: &Config) -> Result<(), String> {
    let wraps = c
        .auto_auth
        .as_ref()
        .and_then(|a| a.method.wrap_ttl)
        .is_some_and(|d| !d.is_zero());
    let cache_token = c.cache.as_ref().and_then(|x| x.use_auto_auth_token);
    let proxy_token = c.api_proxy.as_ref().and_then(|x| x.use_auto_auth_token);
    if cache_token.is_some() && proxy_token.is_some() {
        return Err("use_auto_auth_token defined in both api_proxy and cache config. Please remove this configuration from the cache block".to_owned());
    }
    let on =
        |t: Option<AutoAuthToken>| matches!(t, Some(AutoAuthToken::Yes | AutoAuthToken::Force));
    if c.cache.is_some() {
        if c.listeners.is_empty() && c.templates.is_empty() {
            return Err(
                "enabling the cache requires at least 1 template or 1 listener to be defined"
                    .to_owned(),
            );
        }
        if on(cache_token) {
            if c.auto_auth.is_none() {
                return Err(
                    "cache.use_auto_auth_token is true but auto_auth not configured".to_owned(),
                );
            }
            if wraps {
                return Err(
                    "cache.use_auto_auth_token is true and auto_auth uses wrapping".to_owned(),
                );
            }
        }
    }
    if c.api_proxy.is_some() {
        if c.listeners.is_empty() {
            return Err(
                "configuring the api_proxy requires at least 1 listener to be defined".to_owned(),
            );
        }
        if on(proxy_token) {
            if c.auto_auth.is_none() {
                return Err(
                    "api_proxy.use_auto_auth_token is true but auto_auth not configured".to_owned(),
                );
            }
            if wraps {
                return Err(
                    "api_proxy.use_auto_auth_token is true and auto_auth uses wrapping".to_owned(),
                );
            }
        }
    }
    // A cache without an api_proxy stanza lends the proxy its token setting.
    let proxy_uses_token = on(proxy_token) || (c.api_proxy.is_none() && on(cache_token));
    if let Some(a) = &c.auto_auth {
        if a.sinks.is_empty() && !proxy_uses_token && c.templates.is_empty() {
            return Err("auto_auth requires at least one sink or at least one template or api_proxy.use_auto_auth_token=true".to_owned());
        }
        if a.method.min_backoff > a.method.max_backoff {
            return Err(format!(
                "auto_auth.method: min_backoff ({}) is greater than max_backoff ({})",
                format_duration(a.method.min_backoff),
                format_duration(a.method.max_backoff)
            ));
        }
    }
    if c.auto_auth.is_none() && c.cache.is_none() && c.listeners.is_empty() {
        return Err("no auto_auth, cache, or listener block found in config".to_owned());
    }
    for t in &c.templates {
        // Empty strings count as absent (consul-template checks for non-empty values).
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        match (present(&t.source), present(&t.contents)) {
            (true, true) => {
                return Err("template: cannot specify both 'source' and 'contents'".to_owned());
            }
            (false, false) => {
                return Err(
                    "template: must specify exactly one of 'source' or 'contents'".to_owned(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}
