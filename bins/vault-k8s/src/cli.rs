//! Top-level command line (spec §1.1): `mitchellh/cli` conventions — help and version flags are
//! found by a pre-scan, the first non-flag argument is the subcommand, unknown or missing
//! subcommands exit 127. The pre-scan is mitchellh/cli's, not Go's `flag` (it sees `-h` after
//! the subcommand too); the subcommands' own flags are parsed by `vk_go::flag`, and their help
//! lists come from the same flag tables.

use vk_agent::AgentFlags;
use vk_injector::config::{FlagKind, FlagSpec, INJECT_FLAGS, RENDER_FLAGS};

pub(crate) const TOP_HELP: &str = "Usage: vault-k8s [--version] [--help] <command> [<args>]

Available commands are:
    agent           Vault Agent replacement: log in, render secret templates, keep them fresh
    agent-inject    Vault Agent injector service
    version         Prints the version

";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invocation<'a> {
    TopHelp { exit: u8 },
    TopVersion,
    FlagsBeforeSubcommand,
    SubcommandHelp(String),
    Version,
    AgentInject(&'a [String]),
    Render(&'a [String]),
    Agent(&'a [String]),
}

pub(crate) fn parse(args: &[String]) -> Invocation<'_> {
    let scan_end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let help = args[..scan_end]
        .iter()
        .any(|a| matches!(a.as_str(), "-h" | "-help" | "--help"));
    let sub_at = args[..scan_end].iter().position(|a| !a.starts_with('-'));
    let before_sub = &args[..sub_at.unwrap_or(scan_end)];
    if before_sub
        .iter()
        .any(|a| matches!(a.as_str(), "-v" | "-version" | "--version"))
    {
        return Invocation::TopVersion;
    }
    let Some(at) = sub_at else {
        return Invocation::TopHelp {
            exit: if help { 0 } else { 127 },
        };
    };
    let sub = args[at].as_str();
    let rest = &args[at + 1..];
    if !matches!(sub, "agent" | "agent-inject" | "version") {
        return Invocation::TopHelp { exit: 127 };
    }
    if before_sub
        .iter()
        .any(|a| !matches!(a.as_str(), "-h" | "-help" | "--help"))
    {
        return Invocation::FlagsBeforeSubcommand;
    }
    let render = sub == "agent-inject" && rest.first().is_some_and(|a| a == "render");
    match (sub, help, render) {
        ("version", true, _) => Invocation::SubcommandHelp(
            "Usage: vault-k8s version\n\n  Prints the version of this binary.".into(),
        ),
        ("version", false, _) => Invocation::Version,
        ("agent", true, _) => Invocation::SubcommandHelp(agent_help()),
        ("agent", false, _) => Invocation::Agent(rest),
        (_, true, false) => Invocation::SubcommandHelp(inject_help()),
        (_, true, true) => Invocation::SubcommandHelp(render_help()),
        (_, false, false) => Invocation::AgentInject(rest),
        (_, false, true) => Invocation::Render(&rest[1..]),
    }
}

const AGENT_USAGE: &str =
    "Usage: vault-k8s agent [-config=FILE] [-exit-after-auth[=BOOL]] [-revoke-on-exit] [-ready-file=PATH]
       vault-k8s agent probe -ready-file=PATH
  Run the agent: authenticate to Vault, write the token sinks, render every template into
  its destination and keep it fresh. Reads the Vault Agent configuration (HCL or JSON) from
  -config, or, without it, the base64 JSON in VAULT_CONFIG (what agent-inject sets).
  VAULT_ADDR, VAULT_CACERT, VAULT_SKIP_VERIFY … override the file; VAULT_LOG_LEVEL and
  VAULT_LOG_FORMAT choose the logging. With -ready-file the agent writes that file after
  every template rendered once; `agent probe` exits 0 only once it is there (the native
  sidecar's startup probe).";

fn agent_help() -> String {
    format!(
        "{AGENT_USAGE}\n\nCommand Options\n\n{}",
        flag_list(AgentFlags::SPECS)
    )
}

pub(crate) fn inject_help() -> String {
    format!(
        "Usage: vault-k8s agent-inject [options]\n  Run the Admission Webhook server for injecting Vault Agent containers into pods.\n\n  \
         vault-k8s agent-inject render -f FILE [-o pod|patch] [options]\n  Preview the mutation of a manifest offline.\n\nCommand Options\n\n{}",
        flag_list(INJECT_FLAGS)
    )
}

pub(crate) fn render_help() -> String {
    format!(
        "Usage: vault-k8s agent-inject render -f FILE [-o pod|patch] [-namespace NS] [injector options]\n  \
         Admit the pods of a manifest offline, as the API server and the webhook would, and print the result.\n\n\
         Render Options\n\n{}\n\nInjector Options (see vault-k8s agent-inject -h)",
        flag_list(RENDER_FLAGS)
    )
}

/// Upstream's layout: `  -name=<string>` (or `  -name` for bools), usage indented 5 spaces.
fn flag_list(table: &[FlagSpec]) -> String {
    let mut blocks = Vec::new();
    for flag in table {
        let head = match flag.kind {
            FlagKind::Bool => format!("  -{}", flag.name),
            kind => format!("  -{}=<{}>", flag.name, kind.type_name()),
        };
        let mut usage = flag.usage.to_owned();
        if !flag.default.is_empty() && flag.kind != FlagKind::Bool {
            usage.push_str(&format!(" (default {:?})", flag.default));
        }
        if !flag.env.is_empty() {
            usage.push_str(&format!(" [env {}]", flag.env.join(", ")));
        }
        blocks.push(format!("{head}\n{}", wrap(&usage, 67, "     ")));
    }
    blocks.join("\n\n")
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn dispatch_follows_mitchellh_cli() {
        assert_eq!(parse(&args(&[])), Invocation::TopHelp { exit: 127 });
        assert_eq!(parse(&args(&["--help"])), Invocation::TopHelp { exit: 0 });
        assert_eq!(parse(&args(&["nope"])), Invocation::TopHelp { exit: 127 });
        assert_eq!(parse(&args(&["--version"])), Invocation::TopVersion);
        assert_eq!(
            parse(&args(&["-v", "agent-inject"])),
            Invocation::TopVersion
        );
        assert_eq!(
            parse(&args(&["-x", "agent-inject"])),
            Invocation::FlagsBeforeSubcommand
        );
        assert_eq!(parse(&args(&["version", "extra"])), Invocation::Version);
        let a = args(&["agent-inject", "-listen=:1", "2>&1"]);
        assert_eq!(parse(&a), Invocation::AgentInject(&a[1..]));
        let a = args(&["agent-inject", "render", "-f", "x"]);
        assert_eq!(parse(&a), Invocation::Render(&a[2..]));
        assert!(
            matches!(parse(&args(&["agent-inject", "-h"])), Invocation::SubcommandHelp(t) if t.contains("-vault-address=<string>"))
        );
        assert!(
            matches!(parse(&args(&["agent-inject", "render", "--help"])), Invocation::SubcommandHelp(t) if t.contains("-f=<string>"))
        );
        assert!(
            matches!(parse(&args(&["agent", "-h"])), Invocation::SubcommandHelp(t) if t.contains("-revoke-grace=<uint>"))
        );
        // After `--` nothing is a help flag.
        let a = args(&["agent-inject", "--", "-h"]);
        assert_eq!(parse(&a), Invocation::AgentInject(&a[1..]));
    }
}
