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

vk_go::go_flags! {
    /// The flags of `vault-k8s agent`, parsed with Go's `flag` rules (`vk_go::flag`).
    pub struct AgentFlags {
        pub config: Option<String> => "config" {
            default: "",
            env: [],
            usage: "Vault Agent configuration file (HCL or JSON); without it, the base64 JSON in VAULT_CONFIG is read",
        },
        pub exit_after_auth: Option<bool> => "exit-after-auth" {
            default: "",
            env: [],
            usage: "Exit after authenticating and rendering the templates once (overrides exit_after_auth in the configuration)",
        },
        pub revoke_on_exit: bool => "revoke-on-exit" {
            default: "false",
            env: [],
            usage: "Revoke the auto-auth token when the agent shuts down",
        },
        pub revoke_grace: u64 => "revoke-grace" {
            default: "0",
            env: [],
            usage: "Whole seconds to keep the token after SIGTERM before revoking it (with -revoke-on-exit)",
        },
        pub ready_file: Option<String> => "ready-file" {
            default: "",
            env: [],
            usage: "Write this file once every template has rendered (removed at start); `vault-k8s agent probe` checks it",
        },
    }
}

impl AgentArgs {
    /// Parses the command line with Go's `flag` rules (`-config=FILE`, `-config FILE`,
    /// `--config=FILE`, `-exit-after-auth[=bool]`, `-revoke-on-exit`, `-revoke-grace SECONDS`).
    /// A leading `agent` word is skipped, so the binary can be invoked as `vault agent -config=…`;
    /// an argument left after the flags is an error (the agent takes none).
    pub fn parse(args: &[String], env: BTreeMap<String, String>) -> Result<Self, AgentError> {
        let args = match args.split_first() {
            Some((first, rest)) if first == "agent" => rest,
            _ => args,
        };
        let mut flags = AgentFlags::default();
        let rest = vk_go::flag::parse(&mut flags, args).map_err(AgentError::Flags)?;
        if let Some(extra) = rest.first() {
            return Err(AgentError::Usage(format!("unexpected argument {extra:?}")));
        }
        if flags.ready_file.as_deref() == Some("") {
            return Err(AgentError::Usage("-ready-file needs a path".into()));
        }
        let handoff_dir = env
            .get(HANDOFF_DIR_ENV)
            .filter(|d| !d.trim().is_empty())
            .map(PathBuf::from);
        Ok(AgentArgs {
            config_path: flags.config.map(PathBuf::from),
            exit_after_auth: flags.exit_after_auth,
            revoke_on_exit: flags.revoke_on_exit,
            revoke_grace: std::time::Duration::from_secs(flags.revoke_grace),
            ready_file: flags.ready_file.map(PathBuf::from),
            env,
            handoff_dir,
        })
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
    fn go_flag_rules_apply_to_every_flag() {
        // A value may follow as the next word for any non-bool flag, and `--` ends the flags.
        let a = AgentArgs::parse(
            &s(&["-revoke-grace", "5", "-revoke-on-exit", "--"]),
            BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(a.revoke_grace, std::time::Duration::from_secs(5));
        assert!(a.revoke_on_exit);
        assert_eq!(a.exit_after_auth, None);
        let err = |args: &[&str]| {
            AgentArgs::parse(&s(args), BTreeMap::new())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&["-colour=red"]),
            "usage: flag provided but not defined: -colour"
        );
        assert_eq!(err(&["-config"]), "usage: flag needs an argument: -config");
        assert_eq!(
            err(&["-revoke-grace=soon"]),
            r#"usage: invalid value "soon" for flag -revoke-grace: parse error"#
        );
        assert_eq!(
            err(&["-revoke-on-exit", "--", "x"]),
            r#"usage: unexpected argument "x""#
        );
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
            // Go's flag package reports every bad bool as `parse error`.
            assert!(e.contains("parse error"), "{e}");
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
