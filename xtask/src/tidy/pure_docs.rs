//! The pure-crate list is written in three places besides `PURE_CRATES`: the invariant and the
//! code-map headings of docs/ARCHITECTURE.md, and the tidy section of docs/development.md. Each
//! pure crate also links the shared clippy configuration that bans I/O calls. These checks keep
//! all of them equal to the list tidy enforces, so the docs cannot drift from the rule.

use std::collections::BTreeSet;
use std::path::Path;

/// Where the shared clippy configuration of the pure crates lives, relative to the root.
const PURE_CLIPPY_CONFIG: &str = "xtask/lints/clippy-pure.toml";

/// Problems found, each naming the file and what to change.
pub(super) fn problems(root: &Path, pure: &[&str]) -> Vec<String> {
    let expected: BTreeSet<String> = pure.iter().map(|s| (*s).to_owned()).collect();
    let mut out = Vec::new();
    let mut compare = |file: &str, what: &str, found: Option<BTreeSet<String>>| match found {
        None => out.push(format!(
            "{file}: {what} not found; it must name the pure crates"
        )),
        Some(found) if found != expected => out.push(format!(
            "{file}: {what} names {} but tidy's pure crates are {}; update one of them",
            join(&found),
            join(&expected)
        )),
        Some(_) => {}
    };

    let arch = read(root, "docs/ARCHITECTURE.md");
    compare(
        "docs/ARCHITECTURE.md",
        "the invariant line ending in `never perform I/O`",
        arch.lines()
            .find(|l| l.starts_with("- ") && l.contains("never perform I/O"))
            .map(crate_names),
    );
    let headings: BTreeSet<String> = arch
        .lines()
        .filter(|l| l.starts_with("### `crates/") && l.contains("(pure"))
        .flat_map(|l| crate_names(l).into_iter())
        .collect();
    compare(
        "docs/ARCHITECTURE.md",
        "the code-map headings marked `(pure`",
        Some(headings),
    );
    compare(
        "docs/development.md",
        "the tidy rule line starting `- the pure crates`",
        read(root, "docs/development.md")
            .lines()
            .find(|l| l.starts_with("- the pure crates"))
            .map(crate_names),
    );

    for name in pure {
        let link = root.join("crates").join(name).join("clippy.toml");
        let target = std::fs::read_link(&link).ok();
        let wanted = Path::new("../..").join(PURE_CLIPPY_CONFIG);
        if target.as_deref() != Some(wanted.as_path()) {
            out.push(format!(
                "crates/{name}/clippy.toml must be a symlink to {} (the shared ban on I/O calls); \
                 create it with `ln -s {} crates/{name}/clippy.toml`",
                wanted.display(),
                wanted.display()
            ));
        }
    }
    out
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_default()
}

/// The `vk-…` crate names written in backticks on a line (`crates/vk-x` counts as `vk-x`).
fn crate_names(line: &str) -> BTreeSet<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(|code| code.trim_start_matches("crates/"))
        .filter(|name| name.starts_with("vk-") && !name.contains(' '))
        .map(str::to_owned)
        .collect()
}

fn join(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::crate_names;

    #[test]
    fn names_are_read_from_backticks_only() {
        let line = "- `vk-inject`, `crates/vk-lease` and `vk-go` never perform I/O; `tokio` is not a crate of ours, vk-x is not in backticks";
        let names: Vec<String> = crate_names(line).into_iter().collect();
        assert_eq!(names, ["vk-go", "vk-inject", "vk-lease"]);
    }
}
