//! Command line and configuration loading (spec §1.1).

use std::collections::BTreeMap;
use std::path::PathBuf;

use vk_agent_config::{Config, Loaded};

use crate::error::AgentError;

/// Where the configuration came from, for messages.
pub const VAULT_CONFIG_NAME: &str = "VAULT_CONFIG";

/// The credential handoff directory (set by the injector on both agents of a classic pod):
/// the init agent leaves its token and leases there, the sidecar takes them over. Any
/// directory works; the injector points it at the pod's in-memory `vault-agent-cache` volume.
pub const HANDOFF_DIR_ENV: &str = "VAULT_K8S_AGENT_HANDOFF_DIR";

/// What `vault-k8s agent` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct AgentArgs {
    /// `-config=FILE` (HCL or JSON). Without it, `VAULT_CONFIG` (base64 JSON) is read.
    pub config_path: Option<PathBuf>,
    /// `-exit-after-auth` (overrides the file's `exit_after_auth`).
    pub exit_after_auth: Option<bool>,
    /// `-revoke-on-exit`: revoke the auto-auth token when the sidecar shuts down.
    pub revoke_on_exit: bool,
    /// `-revoke-grace=SECONDS`: how long the sidecar keeps its token after SIGTERM before
    /// revoking it, so the application can finish with the credentials (the injector's
    /// `agent-revoke-grace`; upstream's `preStop` hook sleeps as long).
    pub revoke_grace: std::time::Duration,
    /// `-ready-file=PATH`: written after the first full render (removed at start), for the
    /// native sidecar's startup probe (`vault-k8s agent probe`, see [`crate::readiness`]).
    pub ready_file: Option<PathBuf>,
    /// The process environment (env overrides, `VAULT_CONFIG`, template `env`).
    pub env: BTreeMap<String, String>,
    /// [`HANDOFF_DIR_ENV`]: hand the token and leases over between the pod's agents.
    pub handoff_dir: Option<PathBuf>,
}

impl AgentArgs {
    /// Parses Go-style flags (`-config=FILE`, `-config FILE`, `--config=FILE`,
    /// `-exit-after-auth[=bool]`, `-revoke-on-exit`, `-revoke-grace=SECONDS`). A leading `agent` word is skipped, so the
    /// binary can be invoked as `vault agent -config=…`.
    pub fn parse(args: &[String], env: BTreeMap<String, String>) -> Result<Self, AgentError> {
        let handoff_dir = env
            .get(HANDOFF_DIR_ENV)
            .filter(|d| !d.trim().is_empty())
            .map(PathBuf::from);
        let mut out = AgentArgs {
            env,
            handoff_dir,
            ..AgentArgs::default()
        };
        let mut it = args.iter().peekable();
        if it.peek().is_some_and(|a| a.as_str() == "agent") {
            it.next();
        }
        while let Some(arg) = it.next() {
            let flag = arg
                .strip_prefix("--")
                .or_else(|| arg.strip_prefix('-'))
                .ok_or_else(|| AgentError::Usage(format!("unexpected argument {arg:?}")))?;
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            match name {
                "config" => {
                    let v = match value {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| AgentError::Usage("-config needs a value".into()))?,
                    };
                    out.config_path = Some(PathBuf::from(v));
                }
                "exit-after-auth" => out.exit_after_auth = Some(parse_bool(name, value)?),
                "revoke-on-exit" => out.revoke_on_exit = parse_bool(name, value)?,
                "revoke-grace" => {
                    let v = value.ok_or_else(|| {
                        AgentError::Usage("-revoke-grace needs a value in seconds".into())
                    })?;
                    let secs = v.parse::<u64>().map_err(|_| {
                        AgentError::Usage(format!(
                            "invalid value {v:?} for -revoke-grace: expected whole seconds"
                        ))
                    })?;
                    out.revoke_grace = std::time::Duration::from_secs(secs);
                }
                "ready-file" => {
                    let v = match value {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| AgentError::Usage("-ready-file needs a path".into()))?,
                    };
                    if v.is_empty() {
                        return Err(AgentError::Usage("-ready-file needs a path".into()));
                    }
                    out.ready_file = Some(PathBuf::from(v));
                }
                other => return Err(AgentError::Usage(format!("unknown flag -{other}"))),
            }
        }
        Ok(out)
    }
}

fn parse_bool(name: &str, value: Option<String>) -> Result<bool, AgentError> {
    // Go's flag package: a bare boolean flag is true, a value goes through strconv.ParseBool.
    match value.as_deref() {
        None => Ok(true),
        Some(v) => vk_go::parse_bool(v).map_err(|e| {
            AgentError::Usage(format!("invalid boolean value {v:?} for -{name}: {e}"))
        }),
    }
}

/// Reads, parses, applies the environment and validates. Returns the config and the name
/// used for it in messages (the file path, or `VAULT_CONFIG`).
pub(crate) fn load_config(args: &AgentArgs) -> Result<(Config, String), AgentError> {
    let (loaded, name) = match &args.config_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| AgentError::ReadConfig {
                path: path.clone(),
                source,
            })?;
            let name = path.display().to_string();
            let loaded =
                vk_agent_config::load(&text, &name, &args.env).map_err(AgentError::Config)?;
            (loaded, name)
        }
        None => {
            let value = args
                .env
                .get(VAULT_CONFIG_NAME)
                .filter(|v| !v.trim().is_empty())
                .ok_or(AgentError::NoConfig)?;
            let mut loaded = vk_agent_config::parse_vault_config(value, VAULT_CONFIG_NAME)
                .map_err(AgentError::Config)?;
            vk_agent_config::apply_env(&mut loaded.config, &args.env)
                .map_err(AgentError::Config)?;
            vk_agent_config::validate(&loaded.config, VAULT_CONFIG_NAME)
                .map_err(AgentError::Config)?;
            (loaded, VAULT_CONFIG_NAME.to_string())
        }
    };
    let Loaded {
        mut config,
        warnings,
    } = loaded;
    for w in &warnings {
        tracing::warn!(warning = %w, "configuration key ignored");
    }
    crate::support::check(&config, &warnings, &name)?;
    if let Some(v) = args.exit_after_auth {
        config.exit_after_auth = v;
    }
    Ok((config, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    #[test]
    fn flags() {
        let a = AgentArgs::parse(
            &s(&["agent", "-config=/x.json", "-exit-after-auth"]),
            BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(a.config_path, Some(PathBuf::from("/x.json")));
        assert_eq!(a.exit_after_auth, Some(true));
        let a = AgentArgs::parse(&s(&["--config", "c.hcl"]), BTreeMap::new()).unwrap();
        assert_eq!(a.config_path, Some(PathBuf::from("c.hcl")));
        assert!(AgentArgs::parse(&s(&["-nope"]), BTreeMap::new()).is_err());
        assert!(AgentArgs::parse(&s(&["stray"]), BTreeMap::new()).is_err());
        let a =
            AgentArgs::parse(&s(&["agent", "-ready-file=/home/vault/r"]), BTreeMap::new()).unwrap();
        assert_eq!(a.ready_file, Some(PathBuf::from("/home/vault/r")));
        assert!(AgentArgs::parse(&s(&["-ready-file="]), BTreeMap::new()).is_err());
    }

    #[test]
    fn boolean_flags_take_go_spellings_only() {
        for (v, want) in [
            ("TRUE", true),
            ("t", true),
            ("1", true),
            ("False", false),
            ("0", false),
        ] {
            let a =
                AgentArgs::parse(&s(&[&format!("-exit-after-auth={v}")]), BTreeMap::new()).unwrap();
            assert_eq!(a.exit_after_auth, Some(want), "{v}");
        }
        for v in ["yes", "tRUE", ""] {
            let e = AgentArgs::parse(&s(&[&format!("-revoke-on-exit={v}")]), BTreeMap::new())
                .unwrap_err()
                .to_string();
            assert!(e.contains("-revoke-on-exit"), "{e}");
            assert!(e.contains("strconv.ParseBool"), "{e}");
        }
    }

    #[test]
    fn no_config() {
        let a = AgentArgs::parse(&[], BTreeMap::new()).unwrap();
        assert!(matches!(load_config(&a), Err(AgentError::NoConfig)));
    }
}

#[cfg(test)]
mod vault_config_tests {
    use super::*;

    #[test]
    fn vault_config_with_env_override() {
        let json = r#"{"auto_auth":{"method":{"type":"token_file","config":{"token_file_path":"/t"}},"sink":[{"type":"file","config":{"path":"/s"}}]},"exit_after_auth":true,"vault":{"address":"http://file:8200"}}"#;
        let b64 = to_base64(json.as_bytes());
        let env: BTreeMap<String, String> = [
            (VAULT_CONFIG_NAME.to_string(), b64),
            ("VAULT_ADDR".to_string(), "http://env:8200".to_string()),
        ]
        .into();
        let a = AgentArgs::parse(&[], env).unwrap();
        let (cfg, name) = load_config(&a).unwrap();
        assert_eq!(name, VAULT_CONFIG_NAME);
        assert_eq!(cfg.vault.address, "http://env:8200");
        assert!(cfg.exit_after_auth);
    }

    fn to_base64(data: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(data)
    }
}
