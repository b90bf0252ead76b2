//! The template runner (spec §3.1, §6): one fetch per distinct dependency shared by all
//! templates, render passes until nothing is missing, atomic writes, commands.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument as _;
use vk_template::{DataSource, Dependency, Lookup, RenderOptions};
use vk_vault_client::{VaultClient, VaultError, shim_list_path};

use crate::backoff::{self, AfterFetch, Jitter};
use crate::error::AgentError;
use crate::files;
use crate::lease::{self, LeaseWatch, Next, Target};

/// Render passes per round before giving up (templates that discover dependencies one
/// level at a time need one pass per level).
const MAX_PASSES: usize = 32;

/// A parsed `template` stanza.
#[derive(Debug)]
pub(crate) struct Prepared {
    cfg: vk_agent_config::Template,
    template: vk_template::Template,
    dest: PathBuf,
    opts: RenderOptions,
    owner: Option<files::Owner>,
    /// The command run after a write (`exec.command`, else `command`) and its time limit.
    command: Vec<String>,
    command_timeout: std::time::Duration,
}

/// Parses every `template` stanza (contents or source file, delimiters).
pub(crate) fn prepare(
    cfgs: &[vk_agent_config::Template],
    file: &str,
) -> Result<Vec<Prepared>, AgentError> {
    let mut out = Vec::with_capacity(cfgs.len());
    for (i, cfg) in cfgs.iter().enumerate() {
        let (text, name) = match (&cfg.source, &cfg.contents) {
            (Some(src), _) if !src.is_empty() => {
                let text =
                    std::fs::read_to_string(src).map_err(|source| AgentError::TemplateSource {
                        path: src.into(),
                        key: format!("template[{i}].source"),
                        file: file.to_string(),
                        source,
                    })?;
                (text, src.clone())
            }
            (_, Some(c)) => (c.clone(), String::new()),
            _ => (String::new(), String::new()),
        };
        let owner = crate::owner::resolve(cfg).map_err(|(key, reason)| AgentError::Setting {
            key: format!("template[{i}].{key}"),
            file: file.to_string(),
            reason,
        })?;
        // `exec { command timeout }` is the newer spelling of `command`/`command_timeout`.
        let (command, command_timeout) = match &cfg.exec {
            Some(exec) if !exec.command.is_empty() => (exec.command.clone(), exec.timeout),
            _ => (cfg.command.clone(), cfg.command_timeout),
        };
        let parse_opts = vk_template::ParseOptions {
            name,
            left_delim: cfg.left_delimiter.clone(),
            right_delim: cfg.right_delimiter.clone(),
        };
        let template = vk_template::parse(&text, &parse_opts)
            .map_err(|e| AgentError::Template(e.agent_message()))?;
        out.push(Prepared {
            opts: RenderOptions {
                error_on_missing_key: cfg.error_on_missing_key,
                destination: cfg.destination.clone(),
                ..RenderOptions::default()
            },
            dest: PathBuf::from(&cfg.destination),
            cfg: cfg.clone(),
            template,
            owner,
            command,
            command_timeout,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone)]
struct Entry {
    lookup: Lookup,
    /// When the dependency is renewed (with `lease`) or fetched again (sidecar mode).
    due: Instant,
    /// The lifetime watcher of a renewable secret (§6.3): at `due` it renews, and when it
    /// ends the secret is fetched again.
    lease: Option<LeaseWatch>,
    /// When `lookup`'s lease duration was current (fetch or last renewal; persistent cache).
    at: std::time::SystemTime,
}

/// Timing settings of the engine.
#[derive(Debug, Clone)]
pub(crate) struct EngineSettings {
    pub(crate) retry: vk_lease::RetryPolicy,
    pub(crate) static_interval: Duration,
    pub(crate) threshold: f64,
    /// Template `wait` applies (sidecar mode after the first render; a one-shot init render
    /// and the sidecar's first render do not wait, as `bao agent`).
    pub(crate) quiescence: bool,
}

/// A changed render held back by the template's `wait` (quiescence timer): written when no
/// new change came for `min`, or at the latest `max` after the first held change.
#[derive(Debug, Clone, Copy)]
struct Held {
    first: Instant,
    write_at: Instant,
}

/// What one render round did.
#[derive(Debug, Default)]
pub(crate) struct RoundReport {
    /// Indices of the templates whose destination was (re)written.
    pub(crate) written: Vec<usize>,
    /// Dependencies fetched in this round.
    pub(crate) fetched: usize,
    /// Destinations that existed and were replaced by different bytes (reload actions).
    pub(crate) rewritten: Vec<PathBuf>,
    /// Commands that failed or timed out (the files were written; what this means for the
    /// agent depends on the mode, see `render_until_ok`).
    pub(crate) command_errors: Vec<AgentError>,
}

/// The template engine with its dependency store.
#[derive(Debug)]
pub(crate) struct Engine {
    templates: Vec<Prepared>,
    store: HashMap<Dependency, Entry>,
    settings: EngineSettings,
    env: BTreeMap<String, String>,
    jitter: Jitter,
    /// Per template: the held change and the output it was held for.
    held: Vec<Option<(Held, String)>>,
    /// The first round is written at once, `wait` or not (as `bao agent`).
    first_round_done: bool,
    /// What to do after a destination is rewritten (sidecar mode; `reload.rs`).
    reloads: crate::reload::Reloads,
    /// Where renewals are counted (none in unit tests).
    metrics: Option<std::sync::Arc<crate::metrics::AgentMetrics>>,
}

struct View<'a> {
    store: &'a HashMap<Dependency, Entry>,
    env: &'a BTreeMap<String, String>,
}

impl DataSource for View<'_> {
    fn lookup(&mut self, dependency: &Dependency) -> Lookup {
        self.store
            .get(dependency)
            .map_or(Lookup::Missing, |e| e.lookup.clone())
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn now(&self) -> (i64, u32) {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        )
    }

    fn read_file(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("stat {path}: no such file or directory"),
            _ => format!("read {path}: {e}"),
        })
    }
}

impl Engine {
    pub(crate) fn new(
        templates: Vec<Prepared>,
        settings: EngineSettings,
        env: BTreeMap<String, String>,
    ) -> Self {
        Self {
            held: vec![None; templates.len()],
            first_round_done: false,
            templates,
            store: HashMap::new(),
            settings,
            env,
            jitter: Jitter::new(),
            reloads: crate::reload::Reloads::default(),
            metrics: None,
        }
    }

    /// The reload actions run after a round that rewrote their files.
    pub(crate) fn set_reloads(&mut self, reloads: crate::reload::Reloads) {
        self.reloads = reloads;
    }

    /// Counts renewals (and lets the caller count rounds) in `metrics`.
    pub(crate) fn set_metrics(&mut self, metrics: std::sync::Arc<crate::metrics::AgentMetrics>) {
        self.metrics = Some(metrics);
    }

    pub(crate) fn metrics(&self) -> Option<&crate::metrics::AgentMetrics> {
        self.metrics.as_deref()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Drops every fetched value (a new token restarts the engine, spec §6.9).
    pub(crate) fn reset(&mut self) {
        self.store.clear();
    }

    /// The leased secrets of the store (fetched bodies with a lease watcher), with the time
    /// their lease duration was current: what the persistent cache keeps.
    pub(crate) fn leased(&self) -> Vec<(&Dependency, &str, std::time::SystemTime)> {
        self.store
            .iter()
            .filter(|(_, e)| e.lease.is_some())
            .filter_map(|(d, e)| match &e.lookup {
                Lookup::Ready(body) => Some((d, body.as_str(), e.at)),
                _ => None,
            })
            .collect()
    }

    /// Seeds the store with a leased secret restored from the persistent cache: templates
    /// render it without a fetch, and its lease (with `remaining` left) is renewed at once by
    /// the usual watcher (§6.3). `false` when the body has nothing to renew (not seeded).
    pub(crate) fn seed(
        &mut self,
        dep: Dependency,
        body: String,
        remaining: vk_lease::LeaseInfo,
        at: std::time::SystemTime,
    ) -> bool {
        let Some(target) = Target::of(&body) else {
            return false;
        };
        let (watch, next) = LeaseWatch::start(remaining, target, &mut self.jitter);
        let Next::Renew(due) = next else {
            return false;
        };
        self.store.insert(
            dep,
            Entry {
                lookup: Lookup::Ready(body),
                due,
                lease: Some(watch),
                at,
            },
        );
        true
    }

    /// The earliest time a dependency must be fetched again or a held render written.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let held = self.held.iter().flatten().map(|(h, _)| h.write_at);
        self.store.values().map(|e| e.due).chain(held).min()
    }

    /// Whether a render held by `wait` is due to be written (the caller renders again).
    pub(crate) fn held_due(&self) -> bool {
        let now = Instant::now();
        self.held.iter().flatten().any(|(h, _)| h.write_at <= now)
    }

    /// Applies the template's `wait` to a changed output: `true` to write it now.
    fn release(&mut self, i: usize, output: &str) -> bool {
        let Some(wait) = self.templates[i].cfg.wait.filter(|w| !w.min.is_zero()) else {
            return true;
        };
        if !self.settings.quiescence || !self.first_round_done {
            return true;
        }
        let now = Instant::now();
        match &mut self.held[i] {
            Some((h, held_output)) => {
                if held_output != output {
                    // New data: the quiet period starts again, capped by `max`.
                    h.write_at = (now + wait.min).min(h.first + wait.max.max(wait.min));
                    *held_output = output.to_owned();
                }
                if h.write_at <= now {
                    self.held[i] = None;
                    return true;
                }
                false
            }
            None => {
                self.held[i] = Some((
                    Held {
                        first: now,
                        write_at: now + wait.min,
                    },
                    output.to_owned(),
                ));
                tracing::debug!(
                    template = i,
                    wait_ms = u64::try_from(wait.min.as_millis()).unwrap_or(u64::MAX),
                    "render held by wait"
                );
                false
            }
        }
    }

    /// Renews the leases and fetches again the dependencies whose time has come (a secret
    /// whose lease watcher ended is fetched at once); returns how many were renewed or fetched.
    #[tracing::instrument(name = "refresh", skip_all)]
    pub(crate) async fn refresh_due(&mut self, client: &VaultClient) -> usize {
        let now = Instant::now();
        let mut renew = Vec::new();
        let mut fetch = Vec::new();
        for (dep, e) in self.store.iter().filter(|(_, e)| e.due <= now) {
            if e.lease.is_some() {
                renew.push(dep.clone());
            } else {
                fetch.push(dep.clone());
            }
        }
        let n = renew.len() + fetch.len();
        fetch.extend(self.renew_all(client, renew).await);
        self.fetch_all(client, fetch).await;
        n
    }

    /// Runs the due step of each lease watcher (§6.3); returns the dependencies whose watcher
    /// ended and that are to be fetched again now.
    async fn renew_all(&mut self, client: &VaultClient, deps: Vec<Dependency>) -> Vec<Dependency> {
        let mut set = JoinSet::new();
        for dep in deps {
            let Some(watch) = self.store.get(&dep).and_then(|e| e.lease.as_ref()) else {
                continue;
            };
            let target = watch.renews().then(|| watch.target().clone());
            let client = client.clone();
            // Child of the current (refresh) span; the dependency names a path, never a value.
            let span = tracing::info_span!("renew", dependency = %describe(&dep), kind = watch.target().kind());
            set.spawn(
                async move {
                    let outcome = match target {
                        Some(t) => Some(t.renew(&client).await),
                        None => None,
                    };
                    (dep, outcome)
                }
                .instrument(span),
            );
        }
        let mut refetch_now = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (dep, outcome) = match joined {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(error = %e, "renewal task failed");
                    continue;
                }
            };
            let Some(entry) = self.store.get_mut(&dep) else {
                continue;
            };
            let Some(watch) = entry.lease.as_mut() else {
                continue;
            };
            let kind = watch.target().kind();
            if let (Some(m), Some(result)) = (&self.metrics, &outcome) {
                let renewed = match kind {
                    "token" => crate::metrics::RenewalKind::Token,
                    _ => crate::metrics::RenewalKind::Lease,
                };
                m.renewal(renewed, result.is_ok());
            }
            match &outcome {
                Some(Ok(ttl)) => {
                    tracing::info!(
                        dependency = %describe(&dep),
                        kind,
                        ttl_secs = ttl.as_secs(),
                        "renewed secret lease"
                    );
                    // Publish the renewed secret: same data, current lease (§6.3).
                    if let Lookup::Ready(body) = &entry.lookup {
                        entry.lookup = Lookup::Ready(lease::with_lease_duration(body, *ttl));
                    }
                    entry.at = std::time::SystemTime::now();
                }
                Some(Err(e)) => tracing::warn!(
                    dependency = %describe(&dep),
                    kind,
                    error = %e,
                    "secret lease renewal failed"
                ),
                None => {}
            }
            match watch.on_outcome(outcome.as_ref(), &mut self.jitter) {
                Next::Renew(at) => entry.due = at,
                Next::Refetch(at) => {
                    tracing::info!(
                        dependency = %describe(&dep),
                        "secret lease watcher ended; fetching the secret again"
                    );
                    entry.lease = None;
                    entry.due = at;
                    if at <= Instant::now() {
                        refetch_now.push(dep);
                    }
                }
            }
        }
        refetch_now
    }

    async fn fetch_all(&mut self, client: &VaultClient, deps: Vec<Dependency>) {
        let mut set = JoinSet::new();
        for dep in deps {
            let client = client.clone();
            let policy = self.settings.retry;
            let threshold = self.settings.threshold;
            // One span per path fetched, child of the round or refresh that needs it.
            let span = tracing::info_span!("fetch", dependency = %describe(&dep));
            set.spawn(
                async move {
                    let r = fetch_with_retries(&client, &dep, policy, threshold).await;
                    (dep, r)
                }
                .instrument(span),
            );
        }
        while let Some(joined) = set.join_next().await {
            let (dep, lookup) = match joined {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(error = %e, "fetch task failed");
                    continue;
                }
            };
            let mut lease = None;
            let wait = match (&dep, &lookup) {
                (Dependency::List { .. }, _) => {
                    vk_lease::list_sleep(false, self.settings.static_interval)
                }
                // Look at the certificate again at its renewal point (spec §6.5).
                (Dependency::PkiCert { .. }, Lookup::Ready(body)) => {
                    crate::pki_cache::recheck_after(body, self.settings.threshold, backoff::now())
                        .unwrap_or(self.settings.static_interval)
                }
                (_, Lookup::Ready(body)) => {
                    let (wait, watch) = self.schedule(body);
                    lease = watch;
                    wait
                }
                // A failed fetch stops the engine; it is fetched anew when it restarts.
                _ => self.settings.static_interval,
            };
            self.store.insert(
                dep,
                Entry {
                    lookup,
                    due: Instant::now() + wait,
                    lease,
                    at: std::time::SystemTime::now(),
                },
            );
        }
    }

    /// After a successful fetch: a lifetime watcher for a renewable secret (§6.3, its first
    /// renewal due at once), else the wait before the next fetch (§6.2).
    fn schedule(&mut self, body: &str) -> (Duration, Option<LeaseWatch>) {
        match backoff::after_fetch(
            body,
            self.settings.static_interval,
            self.settings.threshold,
            &mut self.jitter,
        ) {
            AfterFetch::Sleep(wait) => (wait, None),
            AfterFetch::Renew(info) => match Target::of(body) {
                Some(target) => {
                    let (watch, next) = LeaseWatch::start(info, target, &mut self.jitter);
                    match next {
                        Next::Renew(at) => {
                            (at.saturating_duration_since(Instant::now()), Some(watch))
                        }
                        Next::Refetch(at) => (at.saturating_duration_since(Instant::now()), None),
                    }
                }
                // Renewable without a lease id or token to renew with: fetch again at the
                // usual share of the lease (§6.2).
                None => (
                    vk_lease::scale(info.ttl, self.settings.threshold.clamp(0.05, 1.0)),
                    None,
                ),
            },
        }
    }

    /// One round (spec §3.1): render everything with what is known, fetch what is missing,
    /// render again until nothing is missing; then write what changed and run the commands of
    /// the written templates.
    #[tracing::instrument(name = "render_round", skip_all, fields(templates = self.templates.len()))]
    pub(crate) async fn round(&mut self, client: &VaultClient) -> Result<RoundReport, AgentError> {
        let mut report = RoundReport::default();
        for _ in 0..MAX_PASSES {
            let mut outputs = Vec::with_capacity(self.templates.len());
            let mut missing = Vec::new();
            {
                let _render =
                    tracing::info_span!("render", templates = self.templates.len()).entered();
                let mut view = View {
                    store: &self.store,
                    env: &self.env,
                };
                for t in &self.templates {
                    let r = t
                        .template
                        .render(&mut view, &t.opts)
                        .map_err(|e| AgentError::Template(e.agent_message()))?;
                    for d in r.missing {
                        if !missing.contains(&d) {
                            missing.push(d);
                        }
                    }
                    outputs.push(r.output);
                }
            }
            if missing.is_empty() {
                self.write(&outputs, &mut report)?;
                report.command_errors = self.run_commands(&report.written).await;
                if !self.reloads.is_empty() {
                    self.reloads.run(&report.rewritten).await;
                }
                return Ok(report);
            }
            tracing::debug!(count = missing.len(), "fetching missing dependencies");
            report.fetched += missing.len();
            self.fetch_all(client, missing).await;
        }
        Err(AgentError::Template(format!(
            "templates still had missing dependencies after {MAX_PASSES} render passes"
        )))
    }

    /// Writes the destinations whose bytes changed, all in one batch (spec §6.7); the
    /// commands run after this returns, so after every write of the pass.
    #[tracing::instrument(name = "write", skip_all, fields(written = tracing::field::Empty))]
    fn write(&mut self, outputs: &[String], report: &mut RoundReport) -> Result<(), AgentError> {
        let write_err = |t: &Prepared, source| AgentError::Write {
            what: "template destination",
            path: t.dest.clone(),
            source,
        };
        // (template, mode) of each destination whose bytes changed.
        let mut changed: Vec<(usize, u32)> = Vec::new();
        for (i, (t, out)) in self.templates.iter().zip(outputs).enumerate() {
            // Two templates with one destination: the later one wins, as when written in turn.
            changed.retain(|&(j, _)| self.templates[j].dest != t.dest);
            if let Some(mode) = files::mode_if_changed(&t.dest, out.as_bytes(), t.cfg.perms)
                .map_err(|e| write_err(t, e))?
            {
                changed.push((i, mode));
            }
        }
        // `wait`: a template whose change is held back stays out of this pass.
        let unchanged: Vec<usize> = (0..self.templates.len())
            .filter(|i| !changed.iter().any(|(j, _)| j == i))
            .collect();
        for i in unchanged {
            self.held[i] = None;
        }
        changed.retain(|&(i, _)| self.release(i, &outputs[i]));
        let mut jobs: Vec<files::Job<'_>> = Vec::with_capacity(changed.len());
        for &(i, mode) in &changed {
            let t = &self.templates[i];
            if t.cfg.create_dest_dirs {
                files::create_parents(&t.dest).map_err(|e| write_err(t, e))?;
            }
            jobs.push(files::Job {
                path: &t.dest,
                contents: outputs[i].as_bytes(),
                mode,
                owner: t.owner,
                backup: t.cfg.backup,
            });
        }
        let changed: Vec<usize> = changed.into_iter().map(|(i, _)| i).collect();
        // A file created now has no reader to reload; only a replaced one counts.
        let existed: Vec<bool> = changed
            .iter()
            .map(|&i| self.templates[i].dest.exists())
            .collect();
        self.first_round_done = true;
        let mut first_err = None;
        for ((i, result), existed) in changed
            .into_iter()
            .zip(files::write_batch(&jobs))
            .zip(existed)
        {
            let t = &self.templates[i];
            match result {
                Ok(()) => {
                    if existed {
                        report.rewritten.push(t.dest.clone());
                    }
                    tracing::info!(
                        destination = %t.dest.display(),
                        bytes = outputs[i].len(),
                        "rendered template"
                    );
                    report.written.push(i);
                }
                Err(e) => {
                    first_err.get_or_insert(write_err(t, e));
                }
            }
        }
        tracing::Span::current().record("written", report.written.len());
        first_err.map_or(Ok(()), Err)
    }

    /// Commands of the written templates, in configuration order, each argv once (spec §6.8).
    /// Every command runs even when an earlier one failed; the failures are returned.
    async fn run_commands(&self, written: &[usize]) -> Vec<AgentError> {
        let mut seen: Vec<&[String]> = Vec::new();
        let mut errors = Vec::new();
        for &i in written {
            let t = &self.templates[i];
            let cmd = t.command.as_slice();
            if cmd.is_empty() || cmd.iter().all(String::is_empty) || seen.contains(&cmd) {
                continue;
            }
            seen.push(cmd);
            if let Err(e) = crate::command::run(cmd, t.command_timeout).await {
                errors.push(e);
            }
        }
        errors
    }
}

/// Fetches one dependency, retrying per spec §6.6; never fails, a final error becomes
/// [`Lookup::Failed`] with the agent's text.
async fn fetch_with_retries(
    client: &VaultClient,
    dep: &Dependency,
    policy: vk_lease::RetryPolicy,
    threshold: f64,
) -> Lookup {
    let mut attempt = 0;
    loop {
        match fetch(client, dep, threshold).await {
            Ok(body) => return Lookup::Ready(body),
            Err(e) => {
                // A rejected token is not retried: the agent re-authenticates (spec §6.6).
                let rejected = e.is_forbidden() && crate::token_rejected(client).await;
                let wait = match policy.decide(attempt) {
                    vk_lease::RetryDecision::RetryAfter(w)
                        if e.is_retried_by_watcher() && !rejected =>
                    {
                        Some(w)
                    }
                    _ => None,
                };
                let retry = wait.is_some();
                tracing::warn!(
                    dependency = %describe(dep),
                    attempt,
                    error = %e,
                    will_retry = retry,
                    "fetch failed"
                );
                let Some(wait) = wait else {
                    return Lookup::Failed(format!("{}: {e}", describe(dep)));
                };
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// consul-template's name of a dependency (`vault.read(path)`, …), used in messages.
fn describe(dep: &Dependency) -> String {
    match dep {
        Dependency::Read { path } => match path.split_once('?') {
            Some((p, q)) => match q.split('&').find_map(|kv| kv.strip_prefix("version=")) {
                Some(v) => format!("vault.read({p}.v{v})"),
                None => format!("vault.read({path})"),
            },
            None => format!("vault.read({path})"),
        },
        Dependency::Write { path, .. } => format!("vault.write({path})"),
        Dependency::List { path } => format!("vault.list({path})"),
        Dependency::PkiCert {
            path, destination, ..
        } => format!("vault.pki({path}->{destination})"),
    }
}

fn data_object(data: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        data.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

async fn fetch(
    client: &VaultClient,
    dep: &Dependency,
    threshold: f64,
) -> Result<String, VaultError> {
    match dep {
        Dependency::Read { path } => Ok(client.read_secret(path).await?.response.body),
        Dependency::Write { path, data } => {
            Ok(client.write_secret(path, &data_object(data)).await?.body)
        }
        Dependency::List { path } => {
            let target = match client.kv_v2_mount(path).await {
                Some(m) => shim_list_path(&m.path, path),
                None => path.clone(),
            };
            let r = client.list(&target).await?;
            if r.is_not_found() || r.body.trim().is_empty() {
                Ok(r#"{"data":{"keys":[]}}"#.to_string())
            } else {
                Ok(r.body)
            }
        }
        Dependency::PkiCert {
            path,
            data,
            destination,
        } => {
            crate::pki_cache::fetch(client, path, &data_object(data), destination, threshold).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let r = |p: &str| Dependency::Read { path: p.into() };
        assert_eq!(describe(&r("secret/data/x")), "vault.read(secret/data/x)");
        assert_eq!(
            describe(&r("secret/data/x?version=2")),
            "vault.read(secret/data/x.v2)"
        );
        assert_eq!(
            describe(&Dependency::List { path: "a".into() }),
            "vault.list(a)"
        );
    }

    fn engine(dests: &[&std::path::Path]) -> Engine {
        let cfgs: Vec<_> = dests
            .iter()
            .map(|d| vk_agent_config::Template {
                contents: Some("static".into()),
                destination: d.display().to_string(),
                ..vk_agent_config::Template::default()
            })
            .collect();
        let settings = EngineSettings {
            retry: vk_lease::RetryPolicy::from_config(-1, None, None),
            static_interval: Duration::from_secs(300),
            threshold: 0.9,
            quiescence: false,
        };
        Engine::new(
            prepare(&cfgs, "cfg.hcl").unwrap(),
            settings,
            BTreeMap::new(),
        )
    }

    #[test]
    fn a_pass_writes_changed_files_and_the_last_of_a_shared_destination_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let mut e = engine(&[&a, &b, &a]);
        std::fs::write(&a, "third").unwrap();
        let outputs = |x: &str, y: &str, z: &str| vec![x.to_string(), y.to_string(), z.to_string()];

        let mut report = RoundReport::default();
        e.write(&outputs("first", "b1", "third"), &mut report)
            .unwrap();
        // `a` already holds what its last template renders: only `b` is written.
        assert_eq!(report.written, vec![1]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "third");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "b1");

        let mut report = RoundReport::default();
        e.write(&outputs("first", "b1", "new"), &mut report)
            .unwrap();
        assert_eq!(report.written, vec![2]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new");
        // Nothing else in the directory: no temp files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn prepare_reports_parse_errors_with_the_agent_prefix() {
        let t = vk_agent_config::Template {
            contents: Some("{{ if }}".into()),
            destination: "/tmp/x".into(),
            ..vk_agent_config::Template::default()
        };
        let e = prepare(&[t], "cfg.hcl").unwrap_err().to_string();
        assert!(e.starts_with("template server: (dynamic): parse: "), "{e}");
    }
}
