//! The Vault Agent configuration carried in `VAULT_CONFIG` (spec §4), built as an ordered JSON
//! object in upstream's struct field order and serialised with Go's escaping.

use serde_json::{Map, Value, json};

use crate::agent::{Agent, DefaultTemplate};
use crate::annotations as k;
use crate::paths;
use crate::primitives::split_comma;
use crate::secrets::Secret;
use crate::telemetry;

fn put_str(m: &mut Map<String, Value>, key: &str, v: &str) {
    if !v.is_empty() {
        m.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

fn default_template(kind: DefaultTemplate, path: &str) -> String {
    match kind {
        DefaultTemplate::Map => {
            format!(
                "{{{{ with secret \"{path}\" }}}}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}"
            )
        }
        DefaultTemplate::Json => {
            format!("{{{{ with secret \"{path}\" }}}}{{{{ .Data | toJSON }}}}\n{{{{ end }}}}")
        }
    }
}

fn template(agent: &Agent<'_>, s: &Secret<'_>) -> Value {
    let mut t = Map::new();
    let destination = if s.file_path_and_name.is_empty() {
        format!("{}/{}", s.mount_path, s.name)
    } else {
        paths::join(&[s.mount_path, s.file_path_and_name])
    };
    t.insert("destination".to_owned(), Value::String(destination));
    let contents = if !s.template_file.is_empty() {
        String::new()
    } else if !s.template.is_empty() {
        s.template.to_owned()
    } else {
        default_template(agent.default_template, s.path)
    };
    put_str(&mut t, "contents", &contents);
    let delim =
        |v: &str, fallback: &str| Value::String(if v.is_empty() { fallback } else { v }.to_owned());
    t.insert("left_delimiter".to_owned(), delim(s.left_delimiter, "{{"));
    t.insert(
        "right_delimiter".to_owned(),
        delim(s.right_delimiter, "}}"),
    );
    put_str(&mut t, "command", s.command);
    put_str(&mut t, "source", s.template_file);
    put_str(&mut t, "perms", s.file_permission);
    if s.err_missing_key {
        t.insert("error_on_missing_key".to_owned(), Value::Bool(true));
    }
    Value::Object(t)
}

fn auth_config(agent: &Agent<'_>) -> Map<String, Value> {
    let sa = &agent.service_account;
    let mut config = std::collections::BTreeMap::new();
    config.insert(
        "token_path".to_owned(),
        paths::join(&[&sa.mount_path, &sa.token_path]),
    );
    for (key, value) in agent.annotations.pod().iter() {
        if let Some(param) = key.strip_prefix(k::AUTH_CONFIG_PREFIX) {
            config.insert(param.replace('-', "_"), value.to_owned());
        }
    }
    let role = agent.get(k::ROLE);
    if !role.is_empty() {
        config.insert("role".to_owned(), role.to_owned());
    }
    config
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

fn listener(port: &str) -> Value {
    json!({"type": "tcp", "address": format!("127.0.0.1:{port}"), "tls_disable": true})
}

/// The base64 `VAULT_CONFIG` values of both agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) init: String,
    pub(crate) sidecar: String,
}

/// Renders both configs. They differ only in `exit_after_auth`: the cache/listener variant that
/// is sidecar-only applies when there is no init agent, so one tree serves both.
/// The error is Go's marshalling failure for non-finite floats.
pub(crate) fn render(agent: &Agent<'_>) -> Result<Rendered, String> {
    use base64::Engine as _;
    let mut root = build(agent)?;
    let init = base64::engine::general_purpose::STANDARD.encode(crate::gojson::to_vec(&root));
    root.insert("exit_after_auth".to_owned(), Value::Bool(false));
    let sidecar = base64::engine::general_purpose::STANDARD.encode(crate::gojson::to_vec(&root));
    Ok(Rendered { init, sidecar })
}

/// The init agent's config tree (`exit_after_auth: true`).
fn build(agent: &Agent<'_>) -> Result<Map<String, Value>, String> {
    let mut method = Map::new();
    method.insert(
        "type".to_owned(),
        Value::String(agent.get(k::AUTH_TYPE).to_owned()),
    );
    put_str(&mut method, "mount_path", agent.get(k::AUTH_PATH));
    put_str(&mut method, "min_backoff", agent.get(k::AUTH_MIN_BACKOFF));
    put_str(&mut method, "max_backoff", agent.get(k::AUTH_MAX_BACKOFF));
    put_str(&mut method, "namespace", agent.get(k::NAMESPACE));
    let config = auth_config(agent);
    if !config.is_empty() {
        method.insert("config".to_owned(), Value::Object(config));
    }
    if agent.auto_auth_exit_on_err {
        method.insert("exit_on_err".to_owned(), Value::Bool(true));
    }
    let mut sinks = vec![json!({"type": "file", "config": {"path": "/home/vault/.vault-token"}})];
    if agent.inject_token {
        let path = paths::join(&[agent.get(k::SECRET_VOLUME_PATH), "token"]);
        sinks.push(json!({"type": "file", "config": {"path": path}}));
    }

    let mut root = Map::new();
    root.insert(
        "auto_auth".to_owned(),
        json!({"method": Value::Object(method), "sink": sinks}),
    );
    root.insert("exit_after_auth".to_owned(), Value::Bool(true));
    root.insert(
        "pid_file".to_owned(),
        Value::String("/home/vault/.pid".to_owned()),
    );

    let mut vault = Map::new();
    vault.insert(
        "address".to_owned(),
        Value::String(agent.get(k::SERVICE).to_owned()),
    );
    put_str(&mut vault, "ca_cert", agent.get(k::CA_CERT));
    put_str(&mut vault, "ca_path", agent.get(k::CA_KEY));
    if agent.tls_skip_verify {
        vault.insert("tls_skip_verify".to_owned(), Value::Bool(true));
    }
    put_str(&mut vault, "client_cert", agent.get(k::CLIENT_CERT));
    put_str(&mut vault, "client_key", agent.get(k::CLIENT_KEY));
    put_str(&mut vault, "tls_server_name", agent.get(k::TLS_SERVER_NAME));
    root.insert("vault".to_owned(), Value::Object(vault));

    if !agent.secrets.is_empty() {
        let templates = agent.secrets.iter().map(|s| template(agent, s)).collect();
        root.insert("template".to_owned(), Value::Array(templates));
    }

    let port = agent.get(k::AGENT_CACHE_LISTENER_PORT);
    let mut listeners: Vec<Value> = Vec::new();
    let mut cache: Option<Map<String, Value>> = None;
    let cache_base = || {
        let mut c = Map::new();
        put_str(
            &mut c,
            "use_auto_auth_token",
            agent.get(k::AGENT_CACHE_USE_AUTO_AUTH_TOKEN),
        );
        c
    };
    if agent.cache_persist() {
        listeners.push(listener(port));
        let mut c = cache_base();
        let mut persist = Map::new();
        persist.insert("type".to_owned(), Value::String("kubernetes".to_owned()));
        persist.insert(
            "path".to_owned(),
            Value::String("/vault/agent-cache".to_owned()),
        );
        if agent.cache_exit_on_err {
            persist.insert("exit_on_err".to_owned(), Value::Bool(true));
        }
        c.insert("persist".to_owned(), Value::Object(persist));
        cache = Some(c);
    } else if agent.cache_enable && !agent.pre_populate_only && !agent.pre_populate {
        listeners.push(listener(port));
        cache = Some(cache_base());
    }
    if agent.enable_quit {
        if listeners.is_empty() {
            listeners.push(listener(port));
        }
        if let Some(Value::Object(l)) = listeners.first_mut() {
            l.insert("agent_api".to_owned(), json!({"enable_quit": true}));
        }
        cache.get_or_insert_with(Map::new);
    }
    if !listeners.is_empty() {
        root.insert("listener".to_owned(), Value::Array(listeners));
    }
    if let Some(c) = cache {
        root.insert("cache".to_owned(), Value::Object(c));
    }

    let mut tc = Map::new();
    tc.insert(
        "exit_on_retry_failure".to_owned(),
        Value::Bool(agent.exit_on_retry_failure),
    );
    put_str(
        &mut tc,
        "static_secret_render_interval",
        agent.get(k::TEMPLATE_STATIC_SECRET_RENDER_INTERVAL),
    );
    if agent.max_connections_per_host != 0 {
        tc.insert(
            "max_connections_per_host".to_owned(),
            Value::from(agent.max_connections_per_host),
        );
    }
    let threshold = agent.lease_renewal_threshold;
    if threshold != 0.0 {
        // Go's encoder refuses NaN and infinities, spelled as strconv.FormatFloat('g') does.
        if threshold.is_nan() {
            return Err("json: unsupported value: NaN".to_owned());
        }
        if threshold.is_infinite() {
            let sign = if threshold > 0.0 { "+" } else { "-" };
            return Err(format!("json: unsupported value: {sign}Inf"));
        }
        tc.insert("lease_renewal_threshold".to_owned(), json!(threshold));
    }
    root.insert("template_config".to_owned(), Value::Object(tc));

    for (key, ann) in [
        (
            "disable_idle_connections",
            k::AGENT_DISABLE_IDLE_CONNECTIONS,
        ),
        ("disable_keep_alives", k::AGENT_DISABLE_KEEP_ALIVES),
    ] {
        let v = agent.get(ann);
        if !v.is_empty() {
            root.insert(key.to_owned(), json!(split_comma(v)));
        }
    }
    if let Some(t) = telemetry::stanza(&telemetry::collect(agent.annotations.pod().iter())) {
        root.insert("telemetry".to_owned(), t);
    }
    Ok(root)
}
