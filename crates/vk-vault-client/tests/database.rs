//! Lease renew/revoke on a renewable dynamic secret: the database engine on a throw-away
//! PostgreSQL (run as the `postgres` user; fails when PostgreSQL is absent).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{dev, root_client};
use vk_vault_client::ErrorClass;

/// A PostgreSQL cluster in a temp dir on 127.0.0.1; stopped on drop.
struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Postgres {
    fn start() -> Result<Self, String> {
        for tool in ["initdb", "pg_ctl", "runuser"] {
            run(Command::new("sh").args(["-c", &format!("command -v {tool}")]))?;
        }
        let dir = tempfile::Builder::new()
            .prefix("vk-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        run(Command::new("chown").args(["postgres:postgres", &path_str(dir.path())]))?;
        let data = dir.path().join("data");
        run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            "initdb",
            "-D",
            &path_str(&data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]))?;
        let port = vk_test_utils::free_port().map_err(|e| e.to_string())?;
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
            path_str(dir.path())
        );
        let log = path_str(&dir.path().join("pg.log"));
        run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            "pg_ctl",
            "-D",
            &path_str(&data),
            "-l",
            &log,
            "-w",
            "-o",
            &opts,
            "start",
        ]))?;
        Ok(Self { dir, port })
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            "pg_ctl",
            "-D",
            &path_str(&self.data()),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_credentials_lease_renew_and_revoke() {
    // PostgreSQL 15 is part of the machine set-up (`cargo xtask tools` checks it): its absence is a
    // failure to report, not a reason to pass quietly.
    let pg = Postgres::start()
        .unwrap_or_else(|e| panic!("PostgreSQL 15 is required for this test: {e}"));
    let dev = dev();
    dev.cli_ok(&["secrets", "enable", "database"]).unwrap();
    dev.cli_ok(&[
        "write",
        "database/config/app",
        "plugin_name=postgresql-database-plugin",
        &format!(
            "connection_url=postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
            pg.port
        ),
        "username=postgres",
        "password=unused",
        "allowed_roles=app",
        "verify_connection=true",
    ])
    .unwrap();
    dev.cli_ok(&[
        "write",
        "database/roles/app",
        "db_name=app",
        "creation_statements=CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
        "default_ttl=1h",
        "max_ttl=24h",
    ])
    .unwrap();

    let c = root_client(&dev);
    let creds = c.read("database/creds/app").await.unwrap();
    let env = creds.envelope.clone().unwrap();
    assert!(env.renewable);
    assert_eq!(env.lease_duration, 3600);
    assert!(env.lease_id.starts_with("database/creds/app/"), "{env:?}");
    assert!(!format!("{creds:?}").contains("password"));

    let renewed = c
        .renew_lease(&env.lease_id, Some(Duration::from_secs(7200)))
        .await
        .unwrap();
    let renv = renewed.envelope.unwrap();
    assert_eq!(renv.lease_id, env.lease_id);
    assert!(renv.renewable);
    assert_eq!(renv.lease_duration, 7200);

    c.revoke_lease(&env.lease_id).await.unwrap();
    let err = c
        .renew_lease(&env.lease_id, Some(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.class(), ErrorClass::Request);
}
