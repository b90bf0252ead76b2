//! `cargo xtask docs flags [--check]`: docs/configuration.md's `agent-inject` flag table, generated
//! from the flag table in `crates/vk-injector/src/config/flags.rs`. xtask does not link workspace
//! crates, so it runs vk-injector's `flag_table` example, which prints the table, and puts it
//! between the page's `<!-- flags:begin -->` and `<!-- flags:end -->` lines.

mod install_walkthrough;

use std::path::Path;

use anyhow::{Context, bail};

use crate::cli::DocsAction;
use crate::util;

const PAGE: &str = "docs/configuration.md";
const BEGIN: &str = "<!-- flags:begin -->";
const END: &str = "<!-- flags:end -->";

pub(crate) fn run(action: &DocsAction) -> anyhow::Result<()> {
    match action {
        DocsAction::Flags { check } => flags(*check),
        DocsAction::Walkthrough => install_walkthrough::run_page(),
    }
}

/// Writes the table, or with `check` fails when the page's table differs from the generated one.
pub(crate) fn flags(check: bool) -> anyhow::Result<()> {
    let table = util::output(util::cargo().args([
        "run",
        "-q",
        "--locked",
        "-p",
        "vk-injector",
        "--example",
        "flag_table",
    ]))
    .context("printing the flag table (`cargo run -p vk-injector --example flag_table`)")?;
    let path = util::workspace_root().join(PAGE);
    let page =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let updated = replace_between_markers(&page, &table)?;
    if updated == page {
        println!("docs flags: {PAGE} matches crates/vk-injector/src/config/flags.rs");
        return Ok(());
    }
    if check {
        bail!(
            "{PAGE}'s flag table differs from crates/vk-injector/src/config/flags.rs:\n{}\
             run `cargo xtask docs flags` to regenerate it (edit flags.rs, not the page)",
            line_difference(&page, &updated)
        );
    }
    write(&path, &updated)?;
    println!("docs flags: wrote the flag table into {PAGE}");
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `page` with the lines between the marker lines replaced by `table`.
fn replace_between_markers(page: &str, table: &str) -> anyhow::Result<String> {
    let begin = marker_line(page, BEGIN)?;
    let end = marker_line(page, END)?;
    if end.start < begin.end {
        bail!("{PAGE}: `{END}` comes before `{BEGIN}`");
    }
    let mut table = table.to_owned();
    if !table.is_empty() && !table.ends_with('\n') {
        table.push('\n');
    }
    Ok(format!(
        "{}{table}{}",
        &page[..begin.end],
        &page[end.start..]
    ))
}

/// The byte range of the one line that is exactly `marker` (with its newline).
fn marker_line(page: &str, marker: &str) -> anyhow::Result<std::ops::Range<usize>> {
    let mut found = None;
    let mut offset = 0;
    for line in page.split_inclusive('\n') {
        if line.trim_end() == marker {
            if found.is_some() {
                bail!("{PAGE} has `{marker}` twice; keep one");
            }
            found = Some(offset..offset + line.len());
        }
        offset += line.len();
    }
    found.with_context(|| format!("{PAGE} has no `{marker}` line around the flag table"))
}

/// The lines only in the page (`-`) and only in the generated text (`+`).
fn line_difference(page: &str, generated: &str) -> String {
    let old: Vec<&str> = page.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let mut out = String::new();
    for line in old.iter().filter(|l| !new.contains(l)) {
        out.push_str(&format!("  - {line}\n"));
    }
    for line in new.iter().filter(|l| !old.contains(l)) {
        out.push_str(&format!("  + {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_TEXT: &str =
        "# Title\n\nprose\n<!-- flags:begin -->\n| old |\n<!-- flags:end -->\n\nmore prose\n";

    #[test]
    fn the_table_replaces_only_what_is_between_the_markers() {
        let out = replace_between_markers(PAGE_TEXT, "| new |\n").unwrap();
        assert_eq!(
            out,
            "# Title\n\nprose\n<!-- flags:begin -->\n| new |\n<!-- flags:end -->\n\nmore prose\n"
        );
        assert_eq!(replace_between_markers(&out, "| new |\n").unwrap(), out);
    }

    #[test]
    fn missing_twice_or_reversed_markers_are_errors() {
        let err = replace_between_markers("no markers\n", "| t |\n").unwrap_err();
        assert!(err.to_string().contains("flags:begin"), "{err}");
        let twice = format!("{PAGE_TEXT}{BEGIN}\n");
        assert!(
            replace_between_markers(&twice, "x\n")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let reversed = format!("{END}\n{BEGIN}\n");
        assert!(replace_between_markers(&reversed, "x\n").is_err());
    }

    #[test]
    fn the_difference_names_the_changed_rows() {
        let diff = line_difference("a\n| -x | old |\n", "a\n| -x | new |\n");
        assert_eq!(diff, "  - | -x | old |\n  + | -x | new |\n");
    }
}
