//! A real PostgreSQL server per test (`initdb` + `pg_ctl`), listening on 127.0.0.1 on a free
//! port, with a password-protected superuser for OpenBao's `database` secrets engine and a
//! `psql` helper to try logins. Stopped and removed on drop.
//!
//! `initdb` and `postgres` refuse to run as root, so when the tests run as root every server
//! command runs as the `postgres` OS user (through `runuser`) and the data directory is handed
//! to that user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

use crate::util::{TimedOutput, free_port, run_with_timeout, tail_file};

/// The superuser OpenBao connects as.
pub const ADMIN_USER: &str = "vk_admin";
/// Its password (a test value; the server only listens on 127.0.0.1).
pub const ADMIN_PASSWORD: &str = "vk-admin-pw";
/// The OS user that owns the cluster when the tests run as root.
const OS_USER: &str = "postgres";
/// How long one server command (initdb, start, stop, psql) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A running PostgreSQL cluster, stopped (`pg_ctl stop -m immediate`) and deleted on drop.
#[derive(Debug)]
pub struct Postgres {
    dir: TempDir,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

impl Postgres {
    /// Creates a cluster in a temporary directory and starts it on a free port. `initdb`,
    /// `pg_ctl` and `psql` must be on `PATH` (Debian: `postgresql-15`).
    pub fn start() -> Result<Self> {
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("vk-pg-").tempdir()?;
        let data = dir.path().join("data");
        let log = dir.path().join("postgres.log");
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, ADMIN_PASSWORD).context("writing the initdb password file")?;
        if as_postgres {
            let (uid, gid) = os_user_ids(OS_USER)?;
            for p in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))
                    .with_context(|| format!("handing {} to {OS_USER}", p.display()))?;
            }
        }
        let mut pg = Self {
            dir,
            data,
            log,
            port: 0,
            as_postgres,
            running: false,
        };
        let out = pg.server_cmd(
            "initdb",
            &[
                "-D",
                &pg.data.display().to_string(),
                "-U",
                ADMIN_USER,
                &format!("--pwfile={}", pwfile.display()),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        if !out.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let _ = std::fs::remove_file(&pwfile);
        // A probed port can be taken before the server binds it: try a few.
        let mut last = None;
        for _ in 0..3 {
            match pg.start_on(free_port()?) {
                Ok(()) => return Ok(pg),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("PostgreSQL did not start")))
    }

    fn start_on(&mut self, port: u16) -> Result<()> {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c full_page_writes=off",
            self.dir.path().display()
        );
        let out = self.server_cmd(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-l",
                &self.log.display().to_string(),
                "-w",
                "-t",
                "30",
                "-o",
                &opts,
                "start",
            ],
        )?;
        if !out.success() {
            bail!(
                "pg_ctl start on port {port} failed: {}; log tail:\n{}",
                String::from_utf8_lossy(&out.stderr),
                tail_file(&self.log, 20)
            );
        }
        self.port = port;
        self.running = true;
        Ok(())
    }

    /// Runs a server program, as the `postgres` OS user when we are root.
    fn server_cmd(&self, program: &str, args: &[&str]) -> Result<TimedOutput> {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", OS_USER, "--", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        run_with_timeout(&mut cmd, COMMAND_TIMEOUT).with_context(|| format!("running {program}"))
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (data, log, socket).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server log's last `lines` lines (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_file(&self.log, lines)
    }

    /// OpenBao's `connection_url` for the `postgres` database, with its `{{username}}` and
    /// `{{password}}` placeholders.
    pub fn vault_connection_url(&self) -> String {
        format!(
            "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// Enables OpenBao's `database` engine on `dev` over this server: connection `pg` (the
    /// admin user) and role `app`, whose credentials live `default_ttl_secs` and at most
    /// `max_ttl_secs`.
    pub fn mount_in(
        &self,
        dev: &crate::DevServer,
        default_ttl_secs: u64,
        max_ttl_secs: u64,
    ) -> Result<()> {
        dev.cli_ok(&["secrets", "enable", "database"])?;
        dev.cli_ok(&[
            "write",
            "database/config/pg",
            "plugin_name=postgresql-database-plugin",
            "allowed_roles=app",
            &format!("connection_url={}", self.vault_connection_url()),
            &format!("username={ADMIN_USER}"),
            &format!("password={ADMIN_PASSWORD}"),
        ])?;
        dev.cli_ok(&[
            "write",
            "database/roles/app",
            "db_name=pg",
            "creation_statements=CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
            &format!("default_ttl={default_ttl_secs}s"),
            &format!("max_ttl={max_ttl_secs}s"),
        ])?;
        Ok(())
    }

    /// Runs `sql` with `psql` over TCP as `user`/`password`; the output of a success, or the
    /// error text.
    pub fn psql(&self, user: &str, password: &str, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new("psql");
        cmd.args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            user,
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .env("PGPASSWORD", password)
        .env("PGPASSFILE", "/dev/null")
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGSERVICE")
        .stdin(Stdio::null());
        let out =
            run_with_timeout(&mut cmd, COMMAND_TIMEOUT).map_err(|e| format!("psql: {e:#}"))?;
        if out.success() {
            Ok(out.stdout_str().trim().to_string())
        } else {
            Err(out.stderr_str())
        }
    }

    /// Runs `sql` as the superuser.
    pub fn admin_sql(&self, sql: &str) -> Result<String> {
        self.psql(ADMIN_USER, ADMIN_PASSWORD, sql)
            .map_err(|e| anyhow!("psql as {ADMIN_USER} failed: {e}"))
    }

    /// True when `user`/`password` can log in (`SELECT current_user` returns `user`).
    pub fn can_login(&self, user: &str, password: &str) -> bool {
        self.psql(user, password, "SELECT current_user")
            .is_ok_and(|who| who == user)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data.display().to_string();
            let _ = self.server_cmd("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
    }
}

fn is_root() -> bool {
    // The effective uid from /proc avoids a libc dependency.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The uid and gid of an OS user, from `/etc/passwd`.
fn os_user_ids(name: &str) -> Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() > 3 && f[0] == name {
            let uid = f[2].parse().context("uid in /etc/passwd")?;
            let gid = f[3].parse().context("gid in /etc/passwd")?;
            return Ok((uid, gid));
        }
    }
    bail!("no OS user {name:?}: PostgreSQL refuses to run as root and needs it")
}
