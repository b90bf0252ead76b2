//! How the injected `vault-agent-init` / `vault-agent` containers start the agent.
//!
//! Upstream's containers run `/bin/sh -ec 'echo ${VAULT_CONFIG?} | base64 -d > … && vault agent
//! -config=…'`, which needs a shell, `base64` and `vault` in the image. This project's runtime
//! image has none of them, only `/usr/local/bin/vault-k8s`, whose `agent` subcommand reads
//! `VAULT_CONFIG` itself. So the command depends on the image:
//!
//! * [`AgentCommandStyle::Native`]: `["/usr/local/bin/vault-k8s"]` + `["agent", …]`, no shell;
//! * [`AgentCommandStyle::Shell`]: upstream's command, byte for byte;
//! * [`AgentCommandStyle::Auto`] (the default) picks native exactly when [`is_own_image`] says
//!   the image is ours, and upstream's shell command for anything else.
//!
//! Unknown images get the shell command on purpose: every configuration that worked with
//! upstream's injector names a Vault-compatible image with a shell (often a mirror under another
//! name), and it must keep working after the switch. Only an image recognisably ours, which has
//! no shell, gets the native command; a renamed copy of ours needs the explicit override.

/// Where the agent binary lives in this project's images (docs/images.md).
pub const AGENT_BINARY: &str = "/usr/local/bin/vault-k8s";

/// The repository name (last path segment) that marks an image as this project's own.
pub const OWN_IMAGE_NAME: &str = "vault-k8s";

/// How the injected containers start the agent (flag `-agent-command-style`, annotation
/// `vault.hashicorp.com/agent-command-style`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgentCommandStyle {
    /// Native for this project's image, upstream's shell command for any other.
    #[default]
    Auto,
    /// Always `/usr/local/bin/vault-k8s agent`, without a shell.
    Native,
    /// Always upstream's `/bin/sh -ec …` command.
    Shell,
}

/// A command style that is not `auto`, `native` or `shell`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown agent command style {0:?} (expected auto, native or shell)")]
pub struct UnknownCommandStyle(pub String);

impl AgentCommandStyle {
    /// The accepted spellings, in help order.
    pub const NAMES: [&'static str; 3] = ["auto", "native", "shell"];

    /// Parses `auto`, `native` or `shell` (exact, lower case, as the flag documents them).
    pub fn parse(s: &str) -> Result<Self, UnknownCommandStyle> {
        match s {
            "auto" => Ok(Self::Auto),
            "native" => Ok(Self::Native),
            "shell" => Ok(Self::Shell),
            other => Err(UnknownCommandStyle(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Native => "native",
            Self::Shell => "shell",
        }
    }

    /// Whether containers running `image` get the native command (`false`: upstream's shell).
    pub fn is_native_for(self, image: &str) -> bool {
        match self {
            Self::Auto => is_own_image(image),
            Self::Native => true,
            Self::Shell => false,
        }
    }
}

/// The repository's last path segment of an image reference, without registry host, tag or
/// digest: `docker.io/openbao/openbao:2.2@sha256:…` → `openbao`, `localhost:5000/vault-k8s`
/// → `vault-k8s`.
pub fn image_name(image: &str) -> &str {
    let without_digest = image.split_once('@').map_or(image, |(name, _)| name);
    // A registry port's colon sits before the last slash, a tag's after it.
    let last = without_digest
        .rsplit_once('/')
        .map_or(without_digest, |(_, last)| last);
    last.split_once(':').map_or(last, |(name, _)| name)
}

/// True when `image` is this project's agent image: its [`image_name`] is `vault-k8s`
/// (ASCII case-insensitive), whatever the registry, path, tag or digest.
pub fn is_own_image(image: &str) -> bool {
    image_name(image.trim()).eq_ignore_ascii_case(OWN_IMAGE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_name_ignores_registry_tag_and_digest() {
        for (image, name) in [
            ("vault", "vault"),
            ("hashicorp/vault:1.18", "vault"),
            ("docker.io/openbao/openbao:2.2@sha256:0123abcd", "openbao"),
            ("quay.io/openbao/openbao@sha256:0123abcd", "openbao"),
            ("localhost:5000/vault-k8s", "vault-k8s"),
            ("localhost:5000/team/vault-k8s:0.1.0", "vault-k8s"),
            ("registry.example/team/vault-k8s:0.1.0", "vault-k8s"),
            ("vault-k8s@sha256:ff", "vault-k8s"),
            ("", ""),
        ] {
            assert_eq!(image_name(image), name, "{image}");
        }
    }

    #[test]
    fn own_image_is_recognised_by_its_name_only() {
        for own in [
            "localhost/vault-k8s",
            "localhost/vault-k8s:0.1.0-dev",
            "registry.example/team/vault-k8s:0.1.0",
            "ghcr.io/example/VAULT-K8S:1",
            crate::DEFAULT_AGENT_IMAGE,
        ] {
            assert!(is_own_image(own), "{own}");
        }
        for other in [
            "hashicorp/vault:1.18",
            "hashicorp/vault-enterprise:1.18-ent",
            "docker.io/openbao/openbao:2.2@sha256:0123",
            "bao",
            "foobar-image",
            "hashicorp/vault-k8s-fork:1",
            "vault-k8s/vault:1",
            "",
        ] {
            assert!(!is_own_image(other), "{other}");
        }
    }

    #[test]
    fn styles_parse_and_resolve() {
        for name in AgentCommandStyle::NAMES {
            let style = AgentCommandStyle::parse(name).expect("known style");
            assert_eq!(style.as_str(), name);
        }
        assert_eq!(
            AgentCommandStyle::parse("Native").unwrap_err().to_string(),
            "unknown agent command style \"Native\" (expected auto, native or shell)"
        );
        assert!(AgentCommandStyle::Auto.is_native_for("localhost/vault-k8s"));
        assert!(!AgentCommandStyle::Auto.is_native_for("hashicorp/vault:1.18"));
        assert!(AgentCommandStyle::Native.is_native_for("hashicorp/vault:1.18"));
        assert!(!AgentCommandStyle::Shell.is_native_for("localhost/vault-k8s"));
    }
}
