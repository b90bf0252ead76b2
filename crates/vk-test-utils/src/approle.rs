//! An AppRole role named `app` on a running OpenBao, with a role ID and a fresh secret ID, for
//! tests that log in the way an agent configured with `method "approle"` does.

use std::path::Path;

use anyhow::{Context, Result};

/// The credentials of the `app` role.
#[derive(Debug, Clone)]
pub struct AppRole {
    pub role_id: String,
    pub secret_id: String,
}

impl AppRole {
    /// Enables the approle auth method, writes role `app` with `params` (e.g.
    /// `token_policies=db`, `token_ttl=3s`) and issues a secret ID. `cli` runs a `bao` command
    /// against the server and returns its stdout (`DevServer::cli_ok`, `FileServer::cli_ok`).
    pub fn create(cli: impl Fn(&[&str]) -> Result<String>, params: &[&str]) -> Result<Self> {
        cli(&["auth", "enable", "approle"])?;
        let mut write = vec!["write", "auth/approle/role/app"];
        write.extend_from_slice(params);
        cli(&write).context("writing approle role app")?;
        let role_id = cli(&["read", "-field=role_id", "auth/approle/role/app/role-id"])?;
        let secret_id = cli(&[
            "write",
            "-f",
            "-field=secret_id",
            "auth/approle/role/app/secret-id",
        ])?;
        Ok(Self {
            role_id: role_id.trim().to_owned(),
            secret_id: secret_id.trim().to_owned(),
        })
    }

    /// Writes `role-id` and `secret-id` into `dir` (no trailing newline).
    pub fn write_files(&self, dir: &Path) -> Result<()> {
        std::fs::write(dir.join("role-id"), &self.role_id)?;
        std::fs::write(dir.join("secret-id"), &self.secret_id)?;
        Ok(())
    }
}
