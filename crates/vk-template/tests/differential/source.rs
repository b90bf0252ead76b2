//! The engine side's data: a `DataSource` over the same live dev server, following what the agent
//! does for each dependency kind (agent spec §3.3, §5.3). Fetches are cached and shared by all
//! templates, as one agent run shares one watcher per dependency.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use vk_template::{DataSource, Dependency, Lookup};

use super::http;
use super::json::{self, Json};

pub(crate) struct Fetcher {
    addr: String,
    token: String,
    cache: HashMap<Dependency, Lookup>,
    /// path → KV v2 mount path (`secret/`) or None.
    mounts: HashMap<String, Option<String>>,
    /// Every request made, for debugging reports.
    pub(crate) requests: usize,
}

impl Fetcher {
    pub(crate) fn new(addr: &str, token: &str) -> Fetcher {
        Fetcher {
            addr: addr.to_string(),
            token: token.to_string(),
            cache: HashMap::new(),
            mounts: HashMap::new(),
            requests: 0,
        }
    }

    pub(crate) fn cached(&self, dep: &Dependency) -> Lookup {
        self.cache.get(dep).cloned().unwrap_or(Lookup::Missing)
    }

    /// Fetches `dep` unless already fetched.
    pub(crate) fn fetch(&mut self, dep: &Dependency) {
        if self.cache.contains_key(dep) {
            return;
        }
        let result = match dep {
            Dependency::Read { path } => self.read(path),
            Dependency::Write { path, data } => self.write(path, data),
            Dependency::List { path } => self.list(path),
            Dependency::PkiCert {
                path,
                data,
                destination,
            } => self.pki(path, data, destination),
        };
        self.cache.insert(dep.clone(), result);
    }

    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<http::Response, String> {
        self.requests += 1;
        http::request(
            method,
            &self.addr,
            &format!("/v1/{path}"),
            Some(&self.token),
            body,
        )
    }

    fn api_error(&self, method: &str, path: &str, r: &http::Response) -> String {
        let errors = json::parse(&r.body)
            .ok()
            .and_then(|j| j.get("errors").cloned())
            .and_then(|e| {
                e.as_array().map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(|s| format!("* {s}")))
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_default();
        format!(
            "Error making API request.\n\nURL: {method} http://{}/v1/{path}\nCode: {}. Errors:\n\n{}",
            self.addr,
            r.status,
            errors.join("\n")
        )
    }

    /// The KV v2 mount containing `path`, if any (`GET sys/internal/ui/mounts/<path>`).
    fn kv2_mount(&mut self, path: &str) -> Option<String> {
        if let Some(m) = self.mounts.get(path) {
            return m.clone();
        }
        let m = match self.call("GET", &format!("sys/internal/ui/mounts/{path}"), None) {
            Ok(r) if r.status == 200 => json::parse(&r.body).ok().and_then(|j| {
                let d = j.get("data")?;
                let is_kv2 = d.get("type")?.as_str()? == "kv"
                    && d.at(&["options", "version"]).and_then(Json::as_str) == Some("2");
                if is_kv2 {
                    d.get("path")?.as_str().map(str::to_string)
                } else {
                    None
                }
            }),
            _ => None,
        };
        self.mounts.insert(path.to_string(), m.clone());
        m
    }

    /// §5.3 read/write shim.
    fn shim_data(&mut self, path: &str) -> String {
        let Some(mount) = self.kv2_mount(path) else {
            return path.to_string();
        };
        let trimmed_mount = mount.trim_end_matches('/');
        if path == trimmed_mount || path == mount {
            return format!("{mount}data");
        }
        let rest = path.strip_prefix(mount.as_str()).unwrap_or(path);
        for p in ["data/", "metadata/", "subkeys/"] {
            if rest.starts_with(p) {
                return path.to_string();
            }
        }
        format!("{mount}data/{rest}")
    }

    /// §5.3 list shim.
    fn shim_list(&mut self, path: &str) -> String {
        let Some(mount) = self.kv2_mount(path) else {
            return path.to_string();
        };
        let rest = if path == mount.trim_end_matches('/') {
            ""
        } else {
            path.strip_prefix(mount.as_str()).unwrap_or(path)
        };
        if rest == "metadata" || rest.starts_with("metadata/") {
            return path.to_string();
        }
        format!("{mount}metadata/{rest}")
    }

    fn read(&mut self, full: &str) -> Lookup {
        let (path, query) = match full.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (full, None),
        };
        let shimmed = self.shim_data(path);
        let url = match query {
            Some(q) => format!("{shimmed}?{q}"),
            None => shimmed.clone(),
        };
        // The agent names a versioned read `path.vN` in its messages.
        let version = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("version=")));
        let full = match version {
            Some(v) => format!("{path}.v{v}"),
            None => full.to_string(),
        };
        let not_found =
            Lookup::Failed(format!("vault.read({full}): no secret exists at {shimmed}"));
        let r = match self.call("GET", &url, None) {
            Ok(r) => r,
            Err(e) => return Lookup::Failed(format!("vault.read({full}): {e}")),
        };
        if r.status == 404 || r.status == 204 || r.body.trim().is_empty() {
            return not_found;
        }
        if r.status != 200 {
            return Lookup::Failed(format!(
                "vault.read({full}): {}",
                self.api_error("GET", &url, &r)
            ));
        }
        // A soft-deleted latest version (deletion_time set) counts as missing. The harness only
        // soft-deletes in the past, so "set" is enough here.
        if let Ok(j) = json::parse(&r.body)
            && let Some(Json::Str(t)) = j.at(&["data", "metadata", "deletion_time"])
            && !t.is_empty()
        {
            return not_found;
        }
        Lookup::Ready(r.body)
    }

    fn write(&mut self, path: &str, data: &[(String, String)]) -> Lookup {
        let shimmed = self.shim_data(path);
        let obj = Json::Obj(
            data.iter()
                .map(|(k, v)| (k.clone(), Json::Str(v.clone())))
                .collect(),
        );
        let body = if self.kv2_mount(path).is_some() {
            Json::Obj(vec![("data".into(), obj)])
        } else {
            obj
        };
        let r = match self.call("PUT", &shimmed, Some(&body.encode())) {
            Ok(r) => r,
            Err(e) => return Lookup::Failed(format!("vault.write({path}): {e}")),
        };
        if !(200..300).contains(&r.status) {
            return Lookup::Failed(format!(
                "vault.write({path}): {}",
                self.api_error("PUT", &shimmed, &r)
            ));
        }
        // A write without a response body (KV v1, 204) is handed over as an empty body.
        Lookup::Ready(r.body)
    }

    fn list(&mut self, path: &str) -> Lookup {
        let shimmed = self.shim_list(path);
        let r = match self.call("GET", &format!("{shimmed}?list=true"), None) {
            Ok(r) => r,
            Err(e) => return Lookup::Failed(format!("vault.list({path}): {e}")),
        };
        if r.status == 404 || r.body.trim().is_empty() {
            // Non-existent path → empty list (spec §3.3).
            return Lookup::Ready(r#"{"data":{"keys":[]}}"#.to_string());
        }
        if r.status != 200 {
            return Lookup::Failed(format!(
                "vault.list({path}): {}",
                self.api_error("LIST", &shimmed, &r)
            ));
        }
        Lookup::Ready(r.body)
    }

    fn pki(&mut self, path: &str, data: &[(String, String)], dest: &str) -> Lookup {
        // The engine's destination file never exists in this harness, so every pkiCert issues.
        let body = Json::Obj(
            data.iter()
                .map(|(k, v)| (k.clone(), Json::Str(v.clone())))
                .collect(),
        );
        match self.call("PUT", path, Some(&body.encode())) {
            Ok(r) if (200..300).contains(&r.status) => Lookup::Ready(r.body),
            Ok(r) => Lookup::Failed(format!(
                "vault.pki({path}->{dest}): {}",
                self.api_error("PUT", path, &r)
            )),
            Err(e) => Lookup::Failed(format!("vault.pki({path}->{dest}): {e}")),
        }
    }
}

/// The per-case view handed to the engine: cached fetches, the case's env, clock, files.
///
/// Like the agent's template runner, a template sees only what it asked for on an earlier pass:
/// the first pass has nothing (every lookup `Missing`), later passes see the dependencies that
/// earlier passes reported missing (`known`), even when another case already fetched them.
pub(crate) struct CaseSource<'a> {
    pub(crate) fetcher: &'a Fetcher,
    pub(crate) known: &'a HashSet<Dependency>,
    pub(crate) env: &'a BTreeMap<String, String>,
}

impl DataSource for CaseSource<'_> {
    fn lookup(&mut self, dependency: &Dependency) -> Lookup {
        if !self.known.contains(dependency) {
            return Lookup::Missing;
        }
        self.fetcher.cached(dependency)
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn now(&self) -> (i64, u32) {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (d.as_secs() as i64, d.subsec_nanos())
    }

    fn read_file(&self, path: &str) -> Result<String, String> {
        // The reason only, worded like Go's os.Stat error; the engine adds the `file(<path>): `
        // prefix the agent's file dependency puts in front.
        std::fs::read_to_string(Path::new(path)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("stat {path}: no such file or directory"),
            _ => format!("read {path}: {e}"),
        })
    }
}
