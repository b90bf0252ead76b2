//! Syntax tree → [`Config`], stanza by stanza, with upstream's per-stanza error wrappers and
//! "at most one block" rules. Unknown keys are ignored (as HCL1 decoding does) but reported as
//! warnings; the `template` stanza is strict (see [`crate::template`]).

use std::time::Duration;

use crate::ast::{self, Item, Kind};
use crate::error::{ConfigError, Location, Warning};
use crate::fields::{self, FieldError};
use crate::model::*;
use crate::values::parse_bool_str;

/// Decoding state: the file name for messages and the warnings collected so far.
pub(crate) struct Decoder<'a> {
    pub(crate) file: &'a str,
    pub(crate) warnings: Vec<Warning>,
}

const TOP_KEYS: &[&str] = &[
    "vault",
    "auto_auth",
    "template",
    "template_config",
    "exit_after_auth",
    "pid_file",
    "listener",
    "cache",
    "api_proxy",
    "telemetry",
    "disable_idle_connections",
    "disable_keep_alives",
    // Shared server/agent settings the agent reads from the environment instead.
    "log_level",
    "log_format",
    "log_file",
    "log_rotate_bytes",
    "log_rotate_duration",
    "log_rotate_max_files",
    "disable_mlock",
];

/// The subsystems `disable_idle_connections` / `disable_keep_alives` may name.
pub(crate) fn check_subsystems(key: &str, values: &[String]) -> Result<(), String> {
    for v in values {
        if !matches!(
            v.as_str(),
            "auto-auth" | "caching" | "proxying" | "templating" | ""
        ) {
            return Err(format!("unknown {key} value: {v}"));
        }
    }
    Ok(())
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(file: &'a str) -> Self {
        Self {
            file,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn error(&self, section: &'static str, (line, message): FieldError) -> ConfigError {
        ConfigError::Invalid {
            at: Location {
                file: self.file.to_owned(),
                line,
            },
            section,
            message,
        }
    }

    /// Records a warning for every key of `items` not in `known`.
    pub(crate) fn warn_unknown(&mut self, items: &[Item], known: &[&str], section: &str) {
        for item in items {
            if !known.contains(&item.name()) {
                self.warnings.push(Warning {
                    at: Location {
                        file: self.file.to_owned(),
                        line: item.line,
                    },
                    section: section.to_owned(),
                    key: item.name().to_owned(),
                });
            }
        }
    }

    /// The single block named `name`, if any; more than one is `too_many`.
    fn single<'i>(
        &self,
        items: &'i [Item],
        name: &str,
        section: &'static str,
        too_many: String,
    ) -> Result<Option<&'i Item>, ConfigError> {
        let mut found = ast::filter(items, name);
        let first = found.next();
        if let Some(second) = found.next() {
            return Err(self.error(section, (second.line, too_many)));
        }
        Ok(first)
    }

    /// The object body of a block, or upstream's "could not parse" error.
    fn body<'i>(&self, item: &'i Item, section: &'static str) -> Result<&'i [Item], ConfigError> {
        item.value.object().ok_or_else(|| {
            self.error(
                section,
                (
                    item.line,
                    format!("could not parse {:?} as an object", item.name()),
                ),
            )
        })
    }

    pub(crate) fn config(&mut self, root: &[Item]) -> Result<Config, ConfigError> {
        self.warn_unknown(root, TOP_KEYS, "top level");
        let top = |e: FieldError| self.error("", e);
        let mut config = Config {
            exit_after_auth: fields::boolean(root, "exit_after_auth")
                .map_err(top)?
                .unwrap_or(false),
            pid_file: fields::string(root, "pid_file")
                .map_err(top)?
                .unwrap_or_default(),
            disable_idle_connections: fields::strings(root, "disable_idle_connections")
                .map_err(top)?
                .unwrap_or_default(),
            disable_keep_alives: fields::strings(root, "disable_keep_alives")
                .map_err(top)?
                .unwrap_or_default(),
            telemetry: fields::object(root, "telemetry").map_err(top)?,
            ..Config::default()
        };
        config.auto_auth = self.auto_auth(root)?;
        config.cache = self.cache(root)?;
        config.api_proxy = self.api_proxy(root)?;
        config.template_config = self.template_config(root)?;
        config.templates = ast::filter(root, "template")
            .map(|item| crate::template::decode(self, item))
            .collect::<Result<_, _>>()?;
        if let Some(vault) = self.vault(root)? {
            config.vault = vault;
        }
        config.listeners = ast::filter(root, "listener")
            .map(|item| self.listener(item))
            .collect::<Result<_, _>>()?;
        for (key, list) in [
            ("disable_idle_connections", &config.disable_idle_connections),
            ("disable_keep_alives", &config.disable_keep_alives),
        ] {
            let line = fields::last(root, key).and_then(|i| i.line);
            check_subsystems(key, list).map_err(|m| self.error("", (line, m)))?;
        }
        Ok(config)
    }

    fn vault(&mut self, root: &[Item]) -> Result<Option<Vault>, ConfigError> {
        const S: &str = "error parsing 'vault':";
        let msg = "one and only one \"vault\" block is required".to_owned();
        let Some(item) = self.single(root, "vault", S, msg)? else {
            return Ok(None);
        };
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "address",
                "ca_cert",
                "ca_path",
                "tls_skip_verify",
                "client_cert",
                "client_key",
                "tls_server_name",
                "namespace",
                "retry",
            ],
            "vault",
        );
        let e = |r| self.error(S, r);
        let s = |key: &str| fields::string(body, key).map(Option::unwrap_or_default);
        let mut vault = Vault {
            address: s("address").map_err(e)?,
            ca_cert: s("ca_cert").map_err(e)?,
            ca_path: s("ca_path").map_err(e)?,
            client_cert: s("client_cert").map_err(e)?,
            client_key: s("client_key").map_err(e)?,
            tls_server_name: s("tls_server_name").map_err(e)?,
            namespace: s("namespace").map_err(e)?,
            tls_skip_verify: fields::weak_bool(body, "tls_skip_verify")
                .map_err(e)?
                .unwrap_or(false),
            ..Vault::default()
        };
        if vault.address.is_empty() {
            vault.address = DEFAULT_ADDRESS.to_owned();
        }
        const R: &str = "error parsing 'vault':error parsing 'retry': ";
        let msg = "one and only one \"retry\" block is required".to_owned();
        if let Some(retry) = self.single(body, "retry", R, msg)? {
            let retry_body = self.body(retry, R)?;
            self.warn_unknown(retry_body, &["num_retries"], "vault.retry");
            let n = fields::int(retry_body, "num_retries")
                .map_err(|err| self.error(R, err))?
                .unwrap_or(0);
            // 0 means "the default", -1 (or any negative) "no retries".
            vault.num_retries = match n {
                0 => DEFAULT_RETRIES,
                n if n < 0 => 0,
                n => u32::try_from(n).unwrap_or(u32::MAX),
            };
        }
        Ok(Some(vault))
    }

    fn auto_auth(&mut self, root: &[Item]) -> Result<Option<AutoAuth>, ConfigError> {
        const S: &str = "error parsing 'auto_auth': ";
        let msg = "at most one \"auto_auth\" block is allowed".to_owned();
        let Some(item) = self.single(root, "auto_auth", S, msg)? else {
            return Ok(None);
        };
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "method",
                "sink",
                "sinks",
                "enable_reauth_on_new_credentials",
            ],
            "auto_auth",
        );
        let method = self.method(body)?;
        let mut sinks = Vec::new();
        for sink in ast::filter(body, "sink") {
            sinks.push(self.sink(sink)?);
        }
        // The documented JSON form `"sinks": [{"sink": {…}}]`, used only when no `sink` exists.
        if sinks.is_empty() {
            for wrapper in ast::filter(body, "sinks") {
                for sink in ast::filter(wrapper.value.object().unwrap_or(&[]), "sink") {
                    sinks.push(self.sink(sink)?);
                }
            }
        }
        if method.wrap_ttl.is_some_and(|d| !d.is_zero()) {
            let problem = if sinks.len() != 1 {
                Some(
                    "error parsing auto_auth: wrapping enabled on auth method and 0 or many sinks defined",
                )
            } else if sinks
                .iter()
                .any(|s| s.wrap_ttl.is_some_and(|d| !d.is_zero()))
            {
                Some("error parsing auto_auth: wrapping enabled both on auth method and sink")
            } else {
                None
            };
            if let Some(p) = problem {
                return Err(self.error(S, (item.line, p.to_owned())));
            }
        }
        let enable_reauth_on_new_credentials =
            fields::boolean(body, "enable_reauth_on_new_credentials")
                .map_err(|r| self.error(S, r))?
                .unwrap_or(false);
        Ok(Some(AutoAuth {
            method,
            sinks,
            enable_reauth_on_new_credentials,
        }))
    }

    fn method(&mut self, auto_auth: &[Item]) -> Result<Method, ConfigError> {
        const S: &str = "error parsing 'auto_auth': error parsing 'method': ";
        let mut found = ast::filter(auto_auth, "method");
        let (Some(item), None) = (found.next(), found.next()) else {
            let line = ast::filter(auto_auth, "method").nth(1).and_then(|i| i.line);
            return Err(self.error(
                S,
                (
                    line,
                    "one and only one \"method\" block is required".to_owned(),
                ),
            ));
        };
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "type",
                "mount_path",
                "namespace",
                "wrap_ttl",
                "min_backoff",
                "max_backoff",
                "exit_on_err",
                "config",
            ],
            "auto_auth.method",
        );
        let e = |r| self.error(S, r);
        let kind = block_type(item, fields::string(body, "type").map_err(e)?)
            .ok_or_else(|| e((item.line, "method type must be specified".to_owned())))?;
        let mut mount_path = fields::string(body, "mount_path")
            .map_err(e)?
            .unwrap_or_default();
        if mount_path.is_empty() {
            mount_path = format!("auth/{kind}");
        }
        if let Some(stripped) = mount_path.strip_suffix('/') {
            mount_path = stripped.to_owned();
        }
        // Backoff errors are reported by upstream with the auto_auth wrapper only.
        let b = |r| self.error("error parsing 'auto_auth': ", r);
        let nonzero = |d: Option<Duration>| d.filter(|d| !d.is_zero());
        Ok(Method {
            mount_path,
            namespace: canonical_namespace(
                &fields::string(body, "namespace")
                    .map_err(e)?
                    .unwrap_or_default(),
            ),
            wrap_ttl: fields::duration(body, "wrap_ttl").map_err(e)?,
            min_backoff: nonzero(fields::duration(body, "min_backoff").map_err(b)?)
                .unwrap_or(DEFAULT_MIN_BACKOFF),
            max_backoff: nonzero(fields::duration(body, "max_backoff").map_err(b)?)
                .unwrap_or(DEFAULT_MAX_BACKOFF),
            exit_on_err: fields::boolean(body, "exit_on_err")
                .map_err(e)?
                .unwrap_or(false),
            config: fields::object(body, "config")
                .map_err(e)?
                .unwrap_or_default(),
            kind,
        })
    }

    fn sink(&mut self, item: &Item) -> Result<Sink, ConfigError> {
        const S: &str = "error parsing 'auto_auth': error parsing 'sink' stanzas: ";
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "type",
                "wrap_ttl",
                "dh_type",
                "dh_path",
                "derive_key",
                "aad",
                "aad_env_var",
                "config",
            ],
            "auto_auth.sink",
        );
        let e = |r| self.error(S, r);
        let kind = block_type(item, fields::string(body, "type").map_err(e)?)
            .ok_or_else(|| e((item.line, "sink type must be specified".to_owned())))?;
        let label = kind.clone();
        let prefixed = |(line, m): FieldError| e((line, format!("sink.{label}: {m}")));
        let s = |key: &str| fields::string(body, key).map(Option::unwrap_or_default);
        let config = fields::object(body, "config")
            .map_err(e)?
            .unwrap_or_default();
        let sink = Sink {
            wrap_ttl: fields::duration(body, "wrap_ttl").map_err(prefixed)?,
            dh_type: s("dh_type").map_err(e)?,
            dh_path: s("dh_path").map_err(e)?,
            derive_key: fields::boolean(body, "derive_key")
                .map_err(e)?
                .unwrap_or(false),
            aad: s("aad").map_err(e)?,
            aad_env_var: s("aad_env_var").map_err(e)?,
            path: config
                .get("path")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned(),
            mode: sink_mode(config.get("mode")).map_err(|m| prefixed((item.line, m)))?,
            config,
            kind,
        };
        let fail = |m: &str| Err(prefixed((item.line, m.to_owned())));
        if !matches!(sink.dh_type.as_str(), "" | "curve25519") {
            return fail("invalid value for 'dh_type'");
        }
        match (sink.dh_path.is_empty(), sink.dh_type.is_empty()) {
            (true, true) if !sink.aad.is_empty() => {
                return fail("specifying AAD data without 'dh_type' does not make sense");
            }
            (true, true) if sink.derive_key => {
                return fail("specifying 'derive_key' data without 'dh_type' does not make sense");
            }
            (true, true) | (false, false) => {}
            _ => return fail("'dh_type' and 'dh_path' must be specified together"),
        }
        if sink.kind == "file" && sink.path.is_empty() {
            return fail("'path' not specified for file sink");
        }
        Ok(sink)
    }

    fn template_config(&mut self, root: &[Item]) -> Result<TemplateConfig, ConfigError> {
        const S: &str = "error parsing 'template_config': ";
        let msg = "at most one \"template_config\" block is allowed".to_owned();
        let Some(item) = self.single(root, "template_config", S, msg)? else {
            return Ok(TemplateConfig::default());
        };
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "exit_on_retry_failure",
                "static_secret_render_interval",
                "max_connections_per_host",
                "lease_renewal_threshold",
            ],
            "template_config",
        );
        let e = |r| self.error(S, r);
        let d = TemplateConfig::default();
        Ok(TemplateConfig {
            exit_on_retry_failure: fields::boolean(body, "exit_on_retry_failure")
                .map_err(e)?
                .unwrap_or(d.exit_on_retry_failure),
            static_secret_render_interval: fields::duration(body, "static_secret_render_interval")
                .map_err(e)?
                .filter(|d| !d.is_zero())
                .unwrap_or(d.static_secret_render_interval),
            max_connections_per_host: fields::int(body, "max_connections_per_host")
                .map_err(e)?
                .unwrap_or(d.max_connections_per_host),
            lease_renewal_threshold: fields::float(body, "lease_renewal_threshold")
                .map_err(e)?
                .unwrap_or(d.lease_renewal_threshold),
        })
    }

    fn listener(&mut self, item: &Item) -> Result<Listener, ConfigError> {
        const S: &str = "error parsing 'listener': ";
        let body = self.body(item, S)?;
        let e = |r| self.error(S, r);
        let kind = block_type(item, fields::string(body, "type").map_err(e)?)
            .ok_or_else(|| e((item.line, "listener type must be specified".to_owned())))?;
        let enable_quit = match fields::last(body, "agent_api").and_then(|a| a.value.object()) {
            Some(api) => fields::weak_bool(api, "enable_quit")
                .map_err(e)?
                .unwrap_or(false),
            None => false,
        };
        Ok(Listener {
            address: fields::string(body, "address")
                .map_err(e)?
                .unwrap_or_default(),
            tls_disable: fields::weak_bool(body, "tls_disable")
                .map_err(e)?
                .unwrap_or(false),
            require_request_header: fields::weak_bool(body, "require_request_header")
                .map_err(e)?
                .unwrap_or(false),
            role: fields::string(body, "role").map_err(e)?.unwrap_or_default(),
            enable_quit,
            raw: ast::items_to_json(body),
            kind,
        })
    }

    fn cache(&mut self, root: &[Item]) -> Result<Option<Cache>, ConfigError> {
        const S: &str = "error parsing 'cache':";
        let msg = "one and only one \"cache\" block is required".to_owned();
        let Some(item) = self.single(root, "cache", S, msg)? else {
            return Ok(None);
        };
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "use_auto_auth_token",
                "enforce_consistency",
                "when_inconsistent",
                "persist",
            ],
            "cache",
        );
        let use_auto_auth_token = auto_auth_token(body).map_err(|r| self.error(S, r))?;
        const P: &str = "error parsing 'cache':error parsing persist: ";
        let msg = "only one \"persist\" block is required".to_owned();
        let persist = match self.single(body, "persist", P, msg)? {
            None => None,
            Some(p) => {
                let pb = self.body(p, P)?;
                let e = |r| self.error(P, r);
                let kind = block_type(p, fields::string(pb, "type").map_err(e)?)
                    .ok_or_else(|| e((p.line, "persist type must be specified".to_owned())))?;
                Some(Persist {
                    kind,
                    path: fields::string(pb, "path").map_err(e)?.unwrap_or_default(),
                    keep_after_import: fields::boolean(pb, "keep_after_import")
                        .map_err(e)?
                        .unwrap_or(false),
                    exit_on_err: fields::boolean(pb, "exit_on_err")
                        .map_err(e)?
                        .unwrap_or(false),
                    service_account_token_file: fields::string(pb, "service_account_token_file")
                        .map_err(e)?
                        .unwrap_or_default(),
                })
            }
        };
        Ok(Some(Cache {
            use_auto_auth_token,
            persist,
            raw: ast::items_to_json(body),
        }))
    }

    fn api_proxy(&mut self, root: &[Item]) -> Result<Option<ApiProxy>, ConfigError> {
        const S: &str = "error parsing 'api_proxy':";
        let msg = "one and only one \"api_proxy\" block is required".to_owned();
        let Some(item) = self.single(root, "api_proxy", S, msg)? else {
            return Ok(None);
        };
        let body = self.body(item, S)?;
        self.warn_unknown(
            body,
            &[
                "use_auto_auth_token",
                "enforce_consistency",
                "when_inconsistent",
            ],
            "api_proxy",
        );
        Ok(Some(ApiProxy {
            use_auto_auth_token: auto_auth_token(body).map_err(|r| self.error(S, r))?,
            raw: ast::items_to_json(body),
        }))
    }
}

/// `type`, else the single block label (lower-cased), else `None`.
fn block_type(item: &Item, explicit: Option<String>) -> Option<String> {
    match explicit.filter(|t| !t.is_empty()) {
        Some(t) => Some(t),
        None => match item.labels() {
            [label] if !label.is_empty() => Some(label.to_lowercase()),
            _ => None,
        },
    }
}

/// Vault's namespace canonical form: no leading `/`, one trailing `/`, empty stays empty.
fn canonical_namespace(ns: &str) -> String {
    if ns.is_empty() {
        return String::new();
    }
    let trimmed = ns.trim_start_matches('/');
    if trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// `config.mode` of a sink: a number (HCL octal literals arrive already converted) or an octal
/// string; absent means 0640.
fn sink_mode(v: Option<&serde_json::Value>) -> Result<u32, String> {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => Ok(DEFAULT_SINK_MODE),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| format!("invalid file mode {n}")),
        Some(Value::String(s)) => u32::from_str_radix(s, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| format!("invalid file mode {s:?}")),
        Some(other) => Err(format!("invalid file mode {other}")),
    }
}

/// `use_auto_auth_token`: a bool, a bool string, or `force` (any case).
fn auto_auth_token(body: &[Item]) -> Result<Option<AutoAuthToken>, FieldError> {
    let Some(item) = fields::last(body, "use_auto_auth_token") else {
        return Ok(None);
    };
    let invalid = |raw: &str| {
        (
            item.line,
            format!(
                "value of 'use_auto_auth_token' can be either true/false/force, {raw:?} is an invalid option"
            ),
        )
    };
    match &item.value.kind {
        Kind::Lit(crate::ast::Lit::Str(s)) if s.eq_ignore_ascii_case("force") => {
            Ok(Some(AutoAuthToken::Force))
        }
        Kind::Lit(crate::ast::Lit::Str(s)) => match parse_bool_str(s) {
            Ok(true) => Ok(Some(AutoAuthToken::Yes)),
            Ok(false) => Ok(Some(AutoAuthToken::No)),
            Err(_) => Err(invalid(s)),
        },
        _ => match fields::weak_bool(body, "use_auto_auth_token")? {
            Some(true) => Ok(Some(AutoAuthToken::Yes)),
            _ => Ok(Some(AutoAuthToken::No)),
        },
    }
}
