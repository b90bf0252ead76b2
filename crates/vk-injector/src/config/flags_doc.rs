//! The `agent-inject` flag table as Markdown, for docs/configuration.md
//! (`cargo xtask docs flags` writes it there and `--check` compares it; the example
//! `flag_table` prints it, so xtask need not link this crate).

use vk_go::flag::FlagSpec;

use super::flags::INJECT_FLAGS;

/// The header row and one row per [`INJECT_FLAGS`] entry: flag, type, default, environment, usage.
pub fn flags_markdown_table() -> String {
    let mut out = String::from(
        "| Flag | Type | Default | Environment (first non-empty wins) | Description |\n\
         |---|---|---|---|---|\n",
    );
    for flag in INJECT_FLAGS {
        out.push_str(&row(flag));
        out.push('\n');
    }
    out
}

fn row(flag: &FlagSpec) -> String {
    let kind = flag.kind.type_name();
    let env = flag
        .env
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "| `-{}` | {kind} | {} | {env} | {} |",
        flag.name,
        default_cell(flag.default),
        cell_text(flag.usage)
    )
}

/// An empty default shows as `""`; the crate version inside a default (the agent image's tag)
/// shows as `<version>`, so the page does not change with every release.
fn default_cell(default: &str) -> String {
    if default.is_empty() {
        return "\"\"".to_owned();
    }
    let versionless = default.replace(env!("CARGO_PKG_VERSION"), "<version>");
    format!("`{versionless}`")
}

/// A `|` would end the Markdown cell.
fn cell_text(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_flag_with_the_header() {
        let table = flags_markdown_table();
        assert_eq!(table.lines().count(), INJECT_FLAGS.len() + 2);
        assert!(table.starts_with("| Flag | Type | Default |"));
    }

    #[test]
    fn rows_show_empty_defaults_env_lists_and_the_version_placeholder() {
        let table = flags_markdown_table();
        assert!(table.contains(
            "| `-tls-auto` | string | \"\" | `AGENT_INJECT_TLS_AUTO`, `TLS_AUTO` | MutatingWebhookConfiguration name."
        ));
        assert!(table.contains(
            "| `-revoke-on-shutdown` | bool | `false` | `AGENT_INJECT_REVOKE_ON_SHUTDOWN` |"
        ));
        assert!(table.contains("| `-vault-image` | string | `localhost/vault-k8s:<version>` |"));
    }

    #[test]
    fn pipes_in_text_are_escaped() {
        assert_eq!(cell_text("a|b"), "a\\|b");
    }
}
