//! The Vault Agent configuration carried in `VAULT_CONFIG` (spec §4), written straight to JSON
//! text in upstream's struct field order with Go's escaping (it is never read back, so no
//! `Value` tree is built).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::agent::{Agent, DefaultTemplate};
use crate::annotations::{self as k, known};
use crate::jsonw::Obj;
use crate::paths;
use crate::secrets::Secret;
use crate::telemetry;

pub(crate) fn default_template(kind: DefaultTemplate, path: &str) -> String {
    // Concatenated rather than `format!`, whose many literal pieces cost ~1k instructions per
    // secret (webapp bench).
    let body = match kind {
        DefaultTemplate::Map => {
            "\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}"
        }
        DefaultTemplate::Json => "\" }}{{ .Data | toJSON }}\n{{ end }}",
    };
    let head = "{{ with secret \"";
    let mut text = String::with_capacity(head.len() + path.len() + body.len());
    text.push_str(head);
    text.push_str(path);
    text.push_str(body);
    text
}

fn str_or<'a>(v: &'a str, fallback: &'a str) -> &'a str {
    if v.is_empty() { fallback } else { v }
}

/// Where the agent writes secret `s`.
pub(crate) fn destination(s: &Secret<'_>) -> String {
    if s.file_path_and_name.is_empty() {
        // Concatenated: `format!` cost more than the rest of this function.
        let mut path = String::with_capacity(s.mount_path.len() + 1 + s.name.len());
        path.push_str(s.mount_path);
        path.push('/');
        path.push_str(&s.name);
        path
    } else {
        paths::join(&[s.mount_path, s.file_path_and_name])
    }
}

fn template(t: &mut Obj<'_>, agent: &Agent<'_>, s: &Secret<'_>) {
    t.str("destination", &destination(s));
    if s.template_file.is_empty() {
        if s.template.is_empty() {
            t.str(
                "contents",
                &default_template(agent.default_template, s.path),
            );
        } else {
            t.str("contents", s.template);
        }
    }
    t.str("left_delimiter", str_or(s.left_delimiter, "{{"));
    t.str("right_delimiter", str_or(s.right_delimiter, "}}"));
    t.str_nonempty("command", s.command);
    t.str_nonempty("source", s.template_file);
    t.str_nonempty("perms", s.file_permission);
    if s.err_missing_key {
        t.bool("error_on_missing_key", true);
    }
}

/// `auto_auth.method.config`: the token path, `auth-config-*` (dashes become underscores) and
/// the role, in Go's sorted map order.
fn auth_config<'a>(agent: &'a Agent<'_>) -> BTreeMap<Cow<'a, str>, Cow<'a, str>> {
    let sa = &agent.service_account;
    let mut config = BTreeMap::new();
    config.insert(
        Cow::Borrowed("token_path"),
        Cow::Owned(paths::join(&[&sa.mount_path, &sa.token_path])),
    );
    for (key, value) in agent.annotations.pod().iter() {
        if let Some(param) = key.strip_prefix(k::AUTH_CONFIG_PREFIX) {
            let param = if param.contains('-') {
                Cow::Owned(param.replace('-', "_"))
            } else {
                Cow::Borrowed(param)
            };
            config.insert(param, Cow::Borrowed(value));
        }
    }
    let role = agent.get(known::ROLE);
    if !role.is_empty() {
        config.insert(Cow::Borrowed("role"), Cow::Borrowed(role));
    }
    config
}

fn listener(l: &mut Obj<'_>, port: &str, enable_quit: bool) {
    l.str_static("type", "tcp");
    l.str("address", &format!("127.0.0.1:{port}"));
    l.bool("tls_disable", true);
    if enable_quit {
        l.obj("agent_api", |a| a.bool("enable_quit", true));
    }
}

/// The metrics-only listener of `agent-metrics` (no TLS: it serves only metrics, reachable
/// in-cluster by the scraper; the container port is named `agent-metrics`).
fn metrics_listener(l: &mut Obj<'_>) {
    l.str_static("type", "tcp");
    l.str("address", &format!("0.0.0.0:{}", crate::AGENT_METRICS_PORT));
    l.bool("tls_disable", true);
    l.str_static("role", "metrics_only");
}

/// The base64 `VAULT_CONFIG` values of both agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) init: String,
    pub(crate) sidecar: String,
}

/// Renders both configs. They differ only in `exit_after_auth` (the cache/listener variant
/// that is sidecar-only applies when there is no init agent), so the text before and after
/// that value is written once and shared.
/// The error is Go's marshalling failure for non-finite floats.
pub(crate) fn render(agent: &Agent<'_>) -> Result<Rendered, String> {
    let threshold = agent.lease_renewal_threshold;
    // Go's encoder refuses NaN and infinities, spelled as strconv.FormatFloat('g') does.
    if threshold.is_nan() {
        return Err("json: unsupported value: NaN".to_owned());
    }
    if threshold.is_infinite() {
        let sign = if threshold > 0.0 { "+" } else { "-" };
        return Err(format!("json: unsupported value: {sign}Inf"));
    }
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"{\"auto_auth\":");
    Obj::write(&mut head, |o| auto_auth(o, agent));
    head.extend_from_slice(b",\"exit_after_auth\":");
    // The rest is an object whose opening brace stands in for the separating comma.
    let mut tail = Vec::with_capacity(512);
    Obj::write(&mut tail, |o| rest(o, agent));
    if let Some(brace) = tail.first_mut() {
        *brace = b',';
    }
    let encode = |exit: &[u8]| {
        let mut doc = Vec::with_capacity(head.len() + exit.len() + tail.len());
        doc.extend_from_slice(&head);
        doc.extend_from_slice(exit);
        doc.extend_from_slice(&tail);
        vk_go::base64_std(&doc)
    };
    Ok(Rendered {
        init: encode(b"true"),
        sidecar: encode(b"false"),
    })
}

fn auto_auth(o: &mut Obj<'_>, agent: &Agent<'_>) {
    o.obj("method", |m| {
        m.str("type", agent.get(known::AUTH_TYPE));
        m.str_nonempty("mount_path", agent.get(known::AUTH_PATH));
        m.str_nonempty("min_backoff", agent.get(known::AUTH_MIN_BACKOFF));
        m.str_nonempty("max_backoff", agent.get(known::AUTH_MAX_BACKOFF));
        m.str_nonempty("namespace", agent.get(known::NAMESPACE));
        // The token path is always present, so the map is never empty.
        m.obj("config", |c| {
            for (key, value) in &auth_config(agent) {
                c.str_any_key(key, value);
            }
        });
        if agent.auto_auth_exit_on_err {
            m.bool("exit_on_err", true);
        }
    });
    o.arr("sink", |a| {
        a.obj(|s| {
            s.str_static("type", "file");
            s.obj("config", |c| {
                c.str_static("path", "/home/vault/.vault-token")
            });
        });
        if agent.inject_token {
            let path = paths::join(&[agent.get(known::SECRET_VOLUME_PATH), "token"]);
            a.obj(|s| {
                s.str_static("type", "file");
                s.obj("config", |c| c.str("path", &path));
            });
        }
    });
}

/// Everything after `exit_after_auth`.
fn rest(root: &mut Obj<'_>, agent: &Agent<'_>) {
    root.str_static("pid_file", "/home/vault/.pid");
    root.obj("vault", |v| {
        v.str("address", agent.get(known::SERVICE));
        v.str_nonempty("ca_cert", agent.get(known::CA_CERT));
        v.str_nonempty("ca_path", agent.get(known::CA_KEY));
        if agent.tls_skip_verify {
            v.bool("tls_skip_verify", true);
        }
        v.str_nonempty("client_cert", agent.get(known::CLIENT_CERT));
        v.str_nonempty("client_key", agent.get(known::CLIENT_KEY));
        v.str_nonempty("tls_server_name", agent.get(known::TLS_SERVER_NAME));
    });
    if !agent.secrets.is_empty() {
        root.arr("template", |a| {
            for s in &agent.secrets {
                a.obj(|t| template(t, agent, s));
            }
        });
    }

    // At most one listener exists; the quit API rides on it, creating it (and an empty cache
    // stanza) when nothing else asked for one.
    let port = agent.get(known::AGENT_CACHE_LISTENER_PORT);
    let persist = agent.cache_persist();
    let plain_cache =
        !persist && agent.cache_enable && !agent.pre_populate_only && !agent.pre_populate;
    let cache_listener = persist || plain_cache || agent.enable_quit;
    if cache_listener || agent.metrics {
        root.arr("listener", |a| {
            if cache_listener {
                a.obj(|l| listener(l, port, agent.enable_quit));
            }
            if agent.metrics {
                a.obj(metrics_listener);
            }
        });
    }
    if persist || plain_cache || agent.enable_quit {
        root.obj("cache", |c| {
            if !(persist || plain_cache) {
                return;
            }
            c.str_nonempty(
                "use_auto_auth_token",
                agent.get(known::AGENT_CACHE_USE_AUTO_AUTH_TOKEN),
            );
            if persist {
                c.obj("persist", |p| {
                    p.str_static("type", "kubernetes");
                    p.str_static("path", "/vault/agent-cache");
                    if agent.cache_exit_on_err {
                        p.bool("exit_on_err", true);
                    }
                });
            }
        });
    }

    root.obj("template_config", |tc| {
        tc.bool("exit_on_retry_failure", agent.exit_on_retry_failure);
        tc.str_nonempty(
            "static_secret_render_interval",
            agent.get(known::TEMPLATE_STATIC_SECRET_RENDER_INTERVAL),
        );
        if agent.max_connections_per_host != 0 {
            tc.int("max_connections_per_host", agent.max_connections_per_host);
        }
        let threshold = agent.lease_renewal_threshold;
        if threshold != 0.0 {
            tc.raw(
                "lease_renewal_threshold",
                &crate::gojson::go_float(threshold),
            );
        }
    });

    for (key, ann) in [
        (
            "disable_idle_connections",
            known::AGENT_DISABLE_IDLE_CONNECTIONS,
        ),
        ("disable_keep_alives", known::AGENT_DISABLE_KEEP_ALIVES),
    ] {
        let v = agent.get(ann);
        if !v.is_empty() {
            root.arr(key, |a| v.split(',').for_each(|item| a.str(item)));
        }
    }
    let stanza = telemetry::stanza(&telemetry::collect(agent.annotations.pod().iter()));
    let stanza = if agent.metrics {
        Some(telemetry::with_prometheus(stanza))
    } else {
        stanza
    };
    if let Some(t) = stanza {
        root.value("telemetry", &t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_templates_text() {
        assert_eq!(
            default_template(DefaultTemplate::Map, "secret/data/a\"b"),
            "{{ with secret \"secret/data/a\"b\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}"
        );
        assert_eq!(
            default_template(DefaultTemplate::Json, "kv/x"),
            "{{ with secret \"kv/x\" }}{{ .Data | toJSON }}\n{{ end }}"
        );
    }
}
