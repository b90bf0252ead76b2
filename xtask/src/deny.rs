//! `cargo xtask deny`: cargo-deny over the workspace with `deny.toml` (licenses, bans, duplicate
//! versions, sources), and the RustSec advisories when a copy of the advisory database is on this
//! machine. Fetching the database needs GitHub, which some machines (this project's CI machine
//! among them) cannot reach: then the advisories check is skipped and the output says so, instead
//! of failing the build on the network.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::util;

pub(crate) fn run() -> anyhow::Result<()> {
    let deny = util::tools_bin().join("cargo-deny");
    anyhow::ensure!(
        deny.is_file(),
        "{} is missing; run `cargo xtask tools` (installs the pinned cargo-deny)",
        deny.display()
    );
    let mut cmd = deny_command(&deny);
    cmd.args(["check", "licenses", "bans", "sources"]);
    util::run(&mut cmd)
        .context("cargo-deny found problems (see above; deny.toml says why each rule exists)")?;
    match advisory_db() {
        Some(db) => {
            eprintln!(
                "deny: advisories: using the database copy at {}",
                db.display()
            );
            let mut cmd = deny_command(&deny);
            cmd.args(["check", "--disable-fetch", "advisories"]);
            util::run(&mut cmd).context("cargo-deny: advisories found (see above)")?;
        }
        None => eprintln!(
            "deny: advisories: SKIPPED: no copy of the RustSec advisory database at {} \
             (this machine cannot fetch it from GitHub); to check, run `cargo deny fetch` \
             where GitHub is reachable, or put a clone of https://github.com/rustsec/advisory-db \
             in that folder",
            default_db_root().display()
        ),
    }
    Ok(())
}

fn deny_command(deny: &Path) -> Command {
    let mut cmd = Command::new(deny);
    cmd.current_dir(util::workspace_root())
        .env("PATH", util::path_with_tools())
        .args(["--log-level", "warn", "--locked"]);
    cmd
}

/// cargo-deny's default database folder: `$CARGO_HOME/advisory-dbs`.
fn default_db_root() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    cargo_home.join("advisory-dbs")
}

/// The advisory database copy cargo-deny would use, if any: a folder under the default root
/// that looks like a checkout (it has a `crates/` folder of advisories).
fn advisory_db() -> Option<PathBuf> {
    let root = default_db_root();
    std::fs::read_dir(&root)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| is_db(p))
}

fn is_db(dir: &Path) -> bool {
    dir.join("crates").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_copy_is_recognised_by_its_crates_folder() {
        let dir = tempfile_dir();
        assert!(!is_db(&dir));
        std::fs::create_dir_all(dir.join("crates/foo")).unwrap();
        assert!(is_db(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-deny-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
