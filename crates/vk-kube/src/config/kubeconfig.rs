//! Kubeconfig files: merged as `kubectl` merges `KUBECONFIG` (the first `current-context`
//! set wins, and the first entry of each name), then the current context's cluster and user
//! resolved. Relative file paths resolve against the directory of the file naming them. A key
//! of the used entries that this client does not implement is an error naming it.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::tls::{Pem, TlsInputs};
use super::token::{Auth, TOKEN_REFRESH, TokenFile};
use super::{ClusterConfig, ConfigError};

/// One named entry of `clusters`, `users` or `contexts`, with the file it comes from.
struct Entry {
    name: String,
    body: Map<String, Value>,
    file: Rc<PathBuf>,
}

#[derive(Default)]
struct Merged {
    current_context: Option<(String, Rc<PathBuf>)>,
    clusters: Vec<Entry>,
    users: Vec<Entry>,
    contexts: Vec<Entry>,
}

/// Loads and merges `paths` (in order) and resolves the current context.
pub(crate) fn load(paths: &[PathBuf]) -> Result<ClusterConfig, ConfigError> {
    let mut merged = Merged::default();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        merged.add(Rc::new(path.clone()), &text)?;
    }
    let label = || {
        PathBuf::from(
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        )
    };
    merged.resolve(label)
}

fn invalid(path: &Path, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

fn unsupported(path: &Path, key: String, hint: &'static str) -> ConfigError {
    ConfigError::Unsupported {
        path: path.to_owned(),
        key,
        hint,
    }
}

impl Merged {
    fn add(&mut self, file: Rc<PathBuf>, text: &str) -> Result<(), ConfigError> {
        let doc: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_norway::from_str(text).map_err(|source| ConfigError::Yaml {
                path: file.to_path_buf(),
                source,
            })?
        };
        let doc = match doc {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(invalid(&file, "the document is not a mapping")),
        };
        if self.current_context.is_none()
            && let Some(current) = doc.get("current-context")
        {
            match current {
                Value::String(name) if !name.is_empty() => {
                    self.current_context = Some((name.clone(), file.clone()));
                }
                Value::String(_) | Value::Null => {}
                _ => return Err(invalid(&file, "current-context is not a string")),
            }
        }
        for (list, field, inner) in [
            (&mut self.clusters, "clusters", "cluster"),
            (&mut self.users, "users", "user"),
            (&mut self.contexts, "contexts", "context"),
        ] {
            let items = match doc.get(field) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => items,
                Some(_) => return Err(invalid(&file, format!("{field} is not a list"))),
            };
            for item in items {
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(&file, format!("an entry of {field} has no name")))?;
                if list.iter().any(|e| e.name == name) {
                    continue;
                }
                let body = match item.get(inner) {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(body)) => body.clone(),
                    Some(_) => {
                        return Err(invalid(
                            &file,
                            format!("{field}[name={name:?}].{inner} is not a mapping"),
                        ));
                    }
                };
                list.push(Entry {
                    name: name.to_owned(),
                    body,
                    file: file.clone(),
                });
            }
        }
        Ok(())
    }

    fn resolve(self, label: impl Fn() -> PathBuf) -> Result<ClusterConfig, ConfigError> {
        let Some((context_name, context_file)) = self.current_context else {
            return Err(invalid(
                &label(),
                "no current-context is set; set one with `kubectl config use-context NAME`",
            ));
        };
        let find = |list: &'_ [Entry], name: &str| list.iter().position(|e| e.name == name);
        let context = find(&self.contexts, &context_name)
            .map(|i| &self.contexts[i])
            .ok_or_else(|| {
                invalid(
                    &context_file,
                    format!("current-context {context_name:?} is not defined under contexts"),
                )
            })?;
        let at = |key: &str| format!("contexts[name={context_name:?}].context.{key}");
        let mut cluster_name = None;
        let mut user_name = None;
        for (key, value) in &context.body {
            match key.as_str() {
                "cluster" => cluster_name = Some(string(&context.file, &at(key), value)?),
                "user" => user_name = Some(string(&context.file, &at(key), value)?),
                // The client always names the namespace of each call.
                "namespace" | "extensions" => {}
                _ => {
                    return Err(unsupported(
                        &context.file,
                        at(key),
                        "remove it from the context",
                    ));
                }
            }
        }
        let cluster_name = cluster_name
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid(&context.file, format!("{} is not set", at("cluster"))))?;
        let cluster = find(&self.clusters, &cluster_name)
            .map(|i| &self.clusters[i])
            .ok_or_else(|| {
                invalid(
                    &context.file,
                    format!("cluster {cluster_name:?} of context {context_name:?} is not defined under clusters"),
                )
            })?;
        let user = match user_name.filter(|u| !u.is_empty()) {
            None => None,
            Some(user_name) => Some(find(&self.users, &user_name).map(|i| &self.users[i]).ok_or_else(
                || {
                    invalid(
                        &context.file,
                        format!("user {user_name:?} of context {context_name:?} is not defined under users"),
                    )
                },
            )?),
        };
        let (server, mut tls) = read_cluster(cluster)?;
        let auth = match user {
            None => Auth::None,
            Some(user) => read_user(user, &mut tls)?,
        };
        Ok(ClusterConfig {
            server,
            tls: tls.build()?,
            auth,
        })
    }
}

fn string(file: &Path, key: &str, value: &Value) -> Result<String, ConfigError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(invalid(file, format!("{key} is not a string"))),
    }
}

/// A path named in a kubeconfig: relative ones are relative to that file's directory.
fn relative_path(entry: &Entry, value: &str) -> PathBuf {
    let path = Path::new(value);
    match entry.file.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}

/// A file's contents, the path relative to the kubeconfig's directory.
fn read_relative(entry: &Entry, key: &str, value: &str) -> Result<Pem, ConfigError> {
    let path = relative_path(entry, value);
    let bytes = std::fs::read(&path).map_err(|e| {
        invalid(
            &entry.file,
            format!("{key}: cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(Pem {
        bytes,
        origin: format!("{} ({key} in {})", path.display(), entry.file.display()),
    })
}

fn decode_data(entry: &Entry, key: &str, value: &str) -> Result<Pem, ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| invalid(&entry.file, format!("{key} is not base64: {e}")))?;
    Ok(Pem {
        bytes,
        origin: format!("{key} in {}", entry.file.display()),
    })
}

fn read_cluster(cluster: &Entry) -> Result<(String, TlsInputs), ConfigError> {
    let at = |key: &str| format!("clusters[name={:?}].cluster.{key}", cluster.name);
    let mut server = None;
    let mut ca_file = None;
    let mut ca_data = None;
    let mut tls = TlsInputs::default();
    for (key, value) in &cluster.body {
        let text = || string(&cluster.file, &at(key), value);
        match key.as_str() {
            "server" => server = Some(text()?),
            "certificate-authority" => ca_file = Some(text()?).filter(|s| !s.is_empty()),
            "certificate-authority-data" => ca_data = Some(text()?).filter(|s| !s.is_empty()),
            "insecure-skip-tls-verify" => {
                tls.insecure = match value {
                    Value::Bool(b) => *b,
                    Value::Null => false,
                    _ => {
                        return Err(invalid(
                            &cluster.file,
                            format!("{} is not true or false", at(key)),
                        ));
                    }
                }
            }
            "tls-server-name" => tls.server_name = Some(text()?).filter(|s| !s.is_empty()),
            // This client never asks for compressed answers.
            "disable-compression" | "extensions" => {}
            "proxy-url" => {
                return Err(unsupported(
                    &cluster.file,
                    at(key),
                    "the injector connects to the API server directly; remove proxy-url",
                ));
            }
            _ => {
                return Err(unsupported(
                    &cluster.file,
                    at(key),
                    "remove it from the cluster entry",
                ));
            }
        }
    }
    let server = server
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(&cluster.file, format!("{} is not set", at("server"))))?;
    let uri: http::Uri = server.parse().map_err(|_| {
        invalid(
            &cluster.file,
            format!("{} {server:?} is not a URL", at("server")),
        )
    })?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.authority().is_none() {
        return Err(invalid(
            &cluster.file,
            format!(
                "{} {server:?} is not an https:// or http:// URL",
                at("server")
            ),
        ));
    }
    // certificate-authority-data takes precedence over the file, as in client-go.
    tls.ca = match (ca_data, ca_file) {
        (Some(data), _) => Some(decode_data(
            cluster,
            &at("certificate-authority-data"),
            &data,
        )?),
        (None, Some(file)) => Some(read_relative(cluster, &at("certificate-authority"), &file)?),
        (None, None) => None,
    };
    Ok((server.trim_end_matches('/').to_owned(), tls))
}

const EXEC_HINT: &str = "credential plugins are not run; give the user a token, tokenFile or client certificate instead";
const IMPERSONATION_HINT: &str = "impersonation is not supported; remove it";

fn read_user(user: &Entry, tls: &mut TlsInputs) -> Result<Auth, ConfigError> {
    let at = |key: &str| format!("users[name={:?}].user.{key}", user.name);
    let mut token = None;
    let mut token_file = None;
    let mut username = None;
    let mut password = None;
    let (mut cert_file, mut cert_data, mut key_file, mut key_data) = (None, None, None, None);
    for (key, value) in &user.body {
        let text =
            || string(&user.file, &at(key), value).map(|s| Some(s).filter(|s| !s.is_empty()));
        match key.as_str() {
            "token" => token = text()?,
            "tokenFile" => token_file = text()?,
            "username" => username = text()?,
            "password" => password = text()?,
            "client-certificate" => cert_file = text()?,
            "client-certificate-data" => cert_data = text()?,
            "client-key" => key_file = text()?,
            "client-key-data" => key_data = text()?,
            "extensions" => {}
            "exec" | "auth-provider" => {
                return Err(unsupported(&user.file, at(key), EXEC_HINT));
            }
            "as" | "as-uid" | "as-groups" | "as-user-extra" => {
                return Err(unsupported(&user.file, at(key), IMPERSONATION_HINT));
            }
            _ => {
                return Err(unsupported(
                    &user.file,
                    at(key),
                    "remove it from the user entry",
                ));
            }
        }
    }
    let cert = match (cert_data, cert_file) {
        (Some(data), _) => Some(decode_data(user, &at("client-certificate-data"), &data)?),
        (None, Some(file)) => Some(read_relative(user, &at("client-certificate"), &file)?),
        (None, None) => None,
    };
    let key = match (key_data, key_file) {
        (Some(data), _) => Some(decode_data(user, &at("client-key-data"), &data)?),
        (None, Some(file)) => Some(read_relative(user, &at("client-key"), &file)?),
        (None, None) => None,
    };
    tls.client_cert = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(invalid(
                &user.file,
                format!(
                    "{} is set without client-key or client-key-data",
                    at("client-certificate")
                ),
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                &user.file,
                format!(
                    "{} is set without client-certificate or client-certificate-data",
                    at("client-key")
                ),
            ));
        }
    };
    let bearer = token.is_some() || token_file.is_some();
    if bearer && (username.is_some() || password.is_some()) {
        return Err(invalid(
            &user.file,
            format!(
                "users[name={:?}].user sets both a token and username/password; keep one",
                user.name
            ),
        ));
    }
    if token.is_some() && token_file.is_some() {
        // kubectl prefers the file, kube-rs preferred the fixed token: ask rather than pick.
        return Err(invalid(
            &user.file,
            format!(
                "users[name={:?}].user sets both token and tokenFile; keep one (tokenFile if the token rotates)",
                user.name
            ),
        ));
    }
    let header_error = |key: &'static str| {
        move |problem: String| invalid(&user.file, format!("{}: {problem}", at(key)))
    };
    if let Some(token) = token {
        return Auth::bearer(&token).map_err(header_error("token"));
    }
    if let Some(file) = token_file {
        let file = TokenFile::new(relative_path(user, &file), TOKEN_REFRESH);
        file.check()
            .map_err(|e| invalid(&user.file, format!("{}: {e}", at("tokenFile"))))?;
        return Ok(Auth::File(file));
    }
    match (username, password) {
        (None, None) => Ok(Auth::None),
        (Some(username), password) => Auth::basic(&username, password.as_deref().unwrap_or(""))
            .map_err(header_error("username")),
        (None, Some(_)) => Err(invalid(
            &user.file,
            format!("{} is set without username", at("password")),
        )),
    }
}

#[cfg(test)]
#[path = "kubeconfig_tests.rs"]
mod tests;
