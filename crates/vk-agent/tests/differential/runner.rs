//! One agent configuration file, run by both agents: `bao agent -config=F` in `<dir>/bao` and our
//! agent (the `agent` example) with the same `-config=F` in `<dir>/ours`. Destinations are relative,
//! so each agent writes under its own working directory while reading the very same file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::bao;
use super::cases::AgentCase;

/// How long one agent may run in init mode before it counts as hung.
const AGENT_TIMEOUT: Duration = Duration::from_secs(60);

/// What one agent did for one template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Rendered(Vec<u8>),
    /// The agent exited non-zero; `msg` is its error, `wrote` whether the destination exists.
    Failed {
        msg: String,
        wrote: bool,
    },
}

impl Outcome {
    pub(crate) fn text(&self) -> String {
        match self {
            Outcome::Rendered(b) => String::from_utf8_lossy(b).into_owned(),
            Outcome::Failed { msg, .. } => msg.clone(),
        }
    }
}

/// How one agent process ended.
pub(crate) struct Run {
    pub(crate) success: bool,
    pub(crate) status: String,
    /// Its error, decoded from the log (bao: hclog's `template server error`; ours: the
    /// `error: …` line it prints last).
    pub(crate) error: String,
}

#[derive(Clone, Copy)]
pub(crate) struct Agents<'a> {
    pub(crate) bao: &'a Path,
    pub(crate) ours: &'a Path,
    /// `127.0.0.1:PORT` of the seeded dev server.
    pub(crate) server: &'a str,
    pub(crate) token_file: &'a Path,
}

/// The agent configuration both sides read: token_file auth, init mode, no retries (as the
/// vk-template differential's reference runs).
pub(crate) fn config(agents: Agents<'_>, cases: &[&AgentCase]) -> String {
    let templates: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut t = serde_json::Map::new();
            t.insert("source".into(), json!(c.source.display().to_string()));
            t.insert("destination".into(), json!(c.destination()));
            t.insert(
                "error_on_missing_key".into(),
                json!(c.case.error_on_missing_key),
            );
            if !c.case.left_delim.is_empty() {
                t.insert("left_delimiter".into(), json!(c.case.left_delim));
            }
            if !c.case.right_delim.is_empty() {
                t.insert("right_delimiter".into(), json!(c.case.right_delim));
            }
            for (k, v) in &c.stanza_extra {
                t.insert(k.clone(), v.clone());
            }
            Value::Object(t)
        })
        .collect();
    let doc = json!({
        "vault": {
            "address": format!("http://{}", agents.server),
            "retry": { "num_retries": -1 }
        },
        // OpenBao's JSON loader wants the method as a one-element list.
        "auto_auth": {
            "method": [{
                "type": "token_file",
                "config": { "token_file_path": agents.token_file.display().to_string() }
            }]
        },
        "exit_after_auth": true,
        "template_config": { "exit_on_retry_failure": true },
        "template": templates
    });
    serde_json::to_string_pretty(&doc).expect("config JSON")
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Side {
    Bao,
    Ours,
}

impl Side {
    pub(crate) fn dir_name(self) -> &'static str {
        match self {
            Side::Bao => "bao",
            Side::Ours => "ours",
        }
    }
}

/// Runs one side over `config` (already written) in `<dir>/<side>` with exactly `env`.
pub(crate) fn run(
    agents: Agents<'_>,
    side: Side,
    dir: &Path,
    config: &Path,
    env: &BTreeMap<String, String>,
) -> Run {
    let cwd = dir.join(side.dir_name());
    fs::create_dir_all(&cwd).expect("agent working dir");
    let mut cmd = match side {
        Side::Bao => {
            let mut c = Command::new(agents.bao);
            c.arg("agent");
            c
        }
        Side::Ours => Command::new(agents.ours),
    };
    cmd.arg(format!("-config={}", config.display()))
        .env_clear()
        // HOME only so bao's token-helper setup needs no shell; templates never read it.
        .env("HOME", &cwd)
        .envs(env)
        .current_dir(&cwd);
    let out = vk_test_utils::util::run_with_timeout(&mut cmd, AGENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("running {side:?} agent: {e:#}"));
    let log = format!("{}{}", out.stdout_str(), out.stderr_str());
    let _ = fs::write(dir.join(format!("{}.log", side.dir_name())), &log);
    let status = out
        .status
        .map_or_else(|| "killed after the 60 s timeout".into(), |s| s.to_string());
    let error = if out.success() {
        String::new()
    } else {
        match side {
            Side::Bao => bao::agent_error(&log).unwrap_or_else(|| format!("bao agent {status}")),
            Side::Ours => our_error(&out.stderr_str()).unwrap_or_else(|| format!("agent {status}")),
        }
    };
    Run {
        success: out.success(),
        status,
        error,
    }
}

/// The error our agent prints last (`error: <chain>`, possibly over several lines), without the
/// `template server: ` context, which bao logs as a separate field.
fn our_error(stderr: &str) -> Option<String> {
    let start = if stderr.starts_with("error: ") {
        0
    } else {
        stderr.rfind("\nerror: ")? + 1
    };
    let msg = stderr[start + "error: ".len()..].trim_end();
    Some(
        msg.strip_prefix("template server: ")
            .unwrap_or(msg)
            .to_string(),
    )
}

/// The outcome of one template after a run.
pub(crate) fn outcome(run: &Run, dest: &Path) -> Outcome {
    if run.success {
        match fs::read(dest) {
            Ok(b) => Outcome::Rendered(b),
            Err(e) => Outcome::Failed {
                msg: format!("agent exited 0 without writing {}: {e}", dest.display()),
                wrote: false,
            },
        }
    } else {
        Outcome::Failed {
            msg: run.error.clone(),
            wrote: dest.exists(),
        }
    }
}

/// Writes the config for `cases` to `<dir>/agent.json` and returns its path.
pub(crate) fn write_config(agents: Agents<'_>, dir: &Path, cases: &[&AgentCase]) -> PathBuf {
    fs::create_dir_all(dir).expect("batch dir");
    let path = dir.join("agent.json");
    fs::write(&path, config(agents, cases)).expect("write agent config");
    path
}

/// Both agents over one config holding just `case`.
pub(crate) fn single(agents: Agents<'_>, dir: &Path, case: &AgentCase) -> (Outcome, Outcome) {
    let config = write_config(agents, dir, &[case]);
    let side = |s: Side| {
        let run = run(agents, s, dir, &config, &case.case.env);
        outcome(&run, &dir.join(s.dir_name()).join(case.destination()))
    };
    (side(Side::Bao), side(Side::Ours))
}
