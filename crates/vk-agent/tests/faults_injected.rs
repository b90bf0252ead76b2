//! Fault tests of the agent as a process, with the faults injected around a real OpenBao dev
//! server: Vault answering 500, 503, 429 and "sealed" (a proxy from `vk-test-utils` answers for
//! it), the token revoked from outside, the destination volume full (a real 64 kB tmpfs), token
//! TTLs and a secret's lease TTL shorter than the render interval, and the cache listener
//! flooded with connections.
//! faults.rs has the process-level faults (Vault stopped, replaced, gone in init mode).
//!
//! Each test says the expected behaviour: the agent retries with backoff, keeps the last good
//! file (a reader thread checks every read), logs a line naming the fault, and does not exit.

mod common;

use std::fs::File;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{Agent, Check, Reader, assert_not_logged};
use vk_test_utils::util::{eventually, free_port};
use vk_test_utils::{AppRole, DevServer, Fault, FaultProxy};

const POLICY: &str = r#"path "secret/data/app/*" { capabilities = ["read"] }"#;
const TEMPLATE: &str =
    r#"{{ with secret "secret/data/app/config" }}pass={{ .Data.data.password }}{{ end }}"#;

/// A complete destination: `pass=pw-…` on one line.
fn pass_file_ok(s: &str) -> bool {
    s.strip_prefix("pass=pw-")
        .is_some_and(|p| !p.is_empty() && !p.contains('\n'))
}

/// A reader of the one destination `dest`.
fn reader(dest: &Path) -> Reader {
    Reader::start(vec![(dest.to_path_buf(), pass_file_ok as Check)])
}

/// A dev server with the secret, the policy and an approle role (`role_params` added).
fn seeded_dev(password: &str, role_params: &[&str]) -> (DevServer, AppRole) {
    let dev = DevServer::start().unwrap();
    put_password(&dev, password);
    dev.write_policy("app", POLICY).unwrap();
    let mut params = vec!["token_policies=app"];
    params.extend_from_slice(role_params);
    let role = AppRole::create(|a| dev.cli_ok(a), &params).unwrap();
    (dev, role)
}

fn put_password(dev: &DevServer, password: &str) {
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/app/config",
        &format!("password={password}"),
    ])
    .unwrap();
}

/// Sidecar configuration: approle with short auth backoff, a sink, one template at
/// `dest`, a static-secret render interval of `interval`, and `extra` at the top level.
fn sidecar_config(addr: &str, d: &Path, dest: &Path, interval: &str, extra: &str) -> PathBuf {
    let cfg = format!(
        r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    min_backoff = "1s"
    max_backoff = "2s"
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
      remove_secret_id_file_after_reading = false
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template_config {{ static_secret_render_interval = "{interval}" }}
template {{
  contents = "{template}"
  destination = "{dest}"
}}
{extra}
"#,
        d = d.display(),
        dest = dest.display(),
        template = TEMPLATE.replace('"', "\\\""),
    );
    let path = d.join("agent.hcl");
    std::fs::write(&path, cfg).unwrap();
    path
}

fn wait_for_file(agent: &Agent, path: &Path, needle: &str, secs: u64) {
    eventually(Duration::from_secs(secs), || {
        std::fs::read_to_string(path).is_ok_and(|s| s.contains(needle))
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}: {} never held {needle}; agent log:\n{}",
            path.display(),
            agent.log()
        )
    });
}

/// Vault answers the next 12 requests with `fault`, while the secret changes. Expected: the
/// agent logs each failed fetch with the status (`will_retry=true`), retries with backoff,
/// keeps the last good file, then renders the new value and is still running.
fn injected_status_is_retried(fault: Fault, needle: &str) {
    let (dev, role) = seeded_dev("pw-before-5e1f", &["token_ttl=1h"]);
    let proxy = FaultProxy::start(dev.addr()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let dest = d.join("app.env");
    let cfg = sidecar_config(proxy.addr(), d, &dest, "1s", "");
    let mut agent = Agent::spawn(&cfg);
    wait_for_file(&agent, &dest, "pw-before-5e1f", 60);
    let reader = reader(&dest);

    proxy.inject(fault, 12);
    put_password(&dev, "pw-after-0c3a");
    eventually(Duration::from_secs(90), || proxy.remaining() == 0)
        .unwrap_or_else(|e| panic!("{e}; the agent stopped asking; log:\n{}", agent.log()));
    wait_for_file(&agent, &dest, "pw-after-0c3a", 90);
    assert!(agent.running(), "the agent exited:\n{}", agent.log());
    reader.finish();
    assert_eq!(proxy.injected(), 12);

    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    let status = fault.status().to_string();
    let retried: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("fetch failed") && l.contains("will_retry=true"))
        .filter(|l| l.contains(&status) && l.contains(needle))
        .collect();
    assert!(
        !retried.is_empty(),
        "no retried fetch naming {status} / {needle}:\n{log}"
    );
    eprintln!("{} retried fetches; first: {}", retried.len(), retried[0]);
    for line in log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
    {
        eprintln!("  {line}");
    }
    let token = std::fs::read_to_string(d.join("sink")).unwrap();
    assert_not_logged(
        &log,
        &["pw-before-5e1f", "pw-after-0c3a", &token, &role.secret_id],
    );
}

#[test]
fn vault_answering_500_is_retried_and_files_are_kept() {
    injected_status_is_retried(Fault::InternalError, "internal error");
}

#[test]
fn vault_answering_503_is_retried_and_files_are_kept() {
    injected_status_is_retried(Fault::Unavailable, "service unavailable");
}

#[test]
fn vault_answering_429_is_retried_and_files_are_kept() {
    injected_status_is_retried(Fault::TooManyRequests, "rate limit quota exceeded");
}

#[test]
fn vault_sealed_is_retried_and_files_are_kept() {
    injected_status_is_retried(Fault::Sealed, "Vault is sealed");
}

/// The agent's token revoked with the root token while it runs. Expected: the next fetch gets
/// 403, the agent logs that Vault rejected the token, logs in again (a new token in the sink),
/// and renders the changed secret; the file stays valid throughout.
#[test]
fn token_revoked_from_outside_reauthenticates() {
    let (dev, role) = seeded_dev("pw-before-77aa", &["token_ttl=1h"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let dest = d.join("app.env");
    let cfg = sidecar_config(dev.addr(), d, &dest, "1s", "");
    let mut agent = Agent::spawn(&cfg);
    wait_for_file(&agent, &dest, "pw-before-77aa", 60);
    let reader = reader(&dest);
    let old = std::fs::read_to_string(d.join("sink")).unwrap();

    dev.cli_ok(&["token", "revoke", &old]).unwrap();
    put_password(&dev, "pw-after-31bd");
    wait_for_file(&agent, &dest, "pw-after-31bd", 90);
    let new = std::fs::read_to_string(d.join("sink")).unwrap();
    assert_ne!(new, old, "the agent did not log in again");
    dev.cli_ok(&["token", "lookup", &new]).unwrap();
    assert!(dev.cli(&["token", "lookup", &old]).unwrap().status.code() != Some(0));
    assert!(agent.running());
    reader.finish();

    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    assert!(
        log.contains("Vault rejected the auth token while rendering; re-authenticating"),
        "{log}"
    );
    for line in log
        .lines()
        .filter(|l| l.contains("rejected") || l.contains("authentication successful"))
    {
        eprintln!("revoked: {line}");
    }
    assert_not_logged(
        &log,
        &[
            "pw-before-77aa",
            "pw-after-31bd",
            &old,
            &new,
            &role.secret_id,
        ],
    );
}

/// A real tmpfs of `size`, unmounted on drop. Mounting needs root (or CAP_SYS_ADMIN), which the
/// project's test machines have; elsewhere the test fails saying so.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a {size} tmpfs at {} needs root or CAP_SYS_ADMIN: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self(path.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The destination's volume (a 64 kB tmpfs) fills up while the secret changes. Expected: the
/// write fails with a log line naming the destination and ENOSPC, the old file stays complete,
/// the agent keeps running and writes the new value once space is freed.
#[test]
fn full_destination_volume_keeps_the_last_good_file() {
    let (dev, role) = seeded_dev("pw-before-90fe", &["token_ttl=1h"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let volume = Tmpfs::mount(&d.join("secrets"), "64k");
    let dest = volume.0.join("app.env");
    let cfg = sidecar_config(dev.addr(), d, &dest, "1s", "");
    let mut agent = Agent::spawn(&cfg);
    wait_for_file(&agent, &dest, "pw-before-90fe", 60);
    let reader = reader(&dest);

    // Fill the volume: the filler takes every free block.
    let filler = volume.0.join("filler");
    let mut f = File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        if let Err(e) = f.write_all(&chunk) {
            assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
            break;
        }
    }
    drop(f);
    put_password(&dev, "pw-after-2b7c-with-a-longer-value");
    let enospc = |log: &str| {
        log.lines()
            .find(|l| l.contains("app.env") && l.contains("No space left on device"))
            .map(str::to_owned)
    };
    eventually(Duration::from_secs(60), || enospc(&agent.log()).is_some())
        .unwrap_or_else(|e| panic!("{e}; no ENOSPC line; log:\n{}", agent.log()));
    eprintln!("full volume: {}", enospc(&agent.log()).unwrap_or_default());
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        agent.running(),
        "the agent exited on a full volume:\n{}",
        agent.log()
    );
    assert_eq!(
        std::fs::read_to_string(&dest).unwrap(),
        "pass=pw-before-90fe"
    );

    std::fs::remove_file(&filler).unwrap();
    wait_for_file(&agent, &dest, "pw-after-2b7c-with-a-longer-value", 60);
    reader.finish();
    assert_eq!(agent.terminate(), Some(0));
    // No temporary files left behind on the volume.
    let names: Vec<String> = std::fs::read_dir(&volume.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["app.env"], "{names:?}");
}

/// Tokens that live 2 s (at most 6 s) under a 10 s render interval: the token expires between
/// renders, over and over. Expected: the agent renews and, at the max TTL, logs in again, so
/// each render has a valid token; the changed secret shows up and the file stays valid.
#[test]
fn token_ttl_shorter_than_the_render_interval_keeps_rendering() {
    let (dev, role) = seeded_dev("pw-before-c0de", &["token_ttl=2s", "token_max_ttl=6s"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let dest = d.join("app.env");
    let cfg = sidecar_config(dev.addr(), d, &dest, "10s", "");
    let mut agent = Agent::spawn(&cfg);
    wait_for_file(&agent, &dest, "pw-before-c0de", 60);
    let reader = reader(&dest);

    let mut tokens = vec![std::fs::read_to_string(d.join("sink")).unwrap()];
    let collected = eventually(Duration::from_secs(60), || {
        let t = std::fs::read_to_string(d.join("sink")).unwrap_or_default();
        if !t.is_empty() && !tokens.contains(&t) {
            tokens.push(t);
        }
        tokens.len() >= 3
    });
    collected
        .unwrap_or_else(|e| panic!("{e}; tokens seen: {}; log:\n{}", tokens.len(), agent.log()));
    eprintln!(
        "short TTL: {} distinct tokens in the sink within 60 s",
        tokens.len()
    );
    put_password(&dev, "pw-after-d00d");
    wait_for_file(&agent, &dest, "pw-after-d00d", 60);
    assert!(agent.running());
    reader.finish();
    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    let mut secrets = vec!["pw-before-c0de", "pw-after-d00d", role.secret_id.as_str()];
    secrets.extend(tokens.iter().map(String::as_str));
    assert_not_logged(&log, &secrets);
}

/// A leased secret whose lease (2 s, at most 6 s) is far shorter than the static-secret
/// render interval (60 s): a token created by the template (`auth/token/create`). Expected: the
/// lease, not the interval, drives the refresh: the agent renews the lease, and at its max TTL
/// fetches a new one and rewrites the file, so the destination holds at least three different
/// tokens within 40 s; every read sees a complete token; no token is logged.
#[test]
fn lease_ttl_shorter_than_the_render_interval_is_renewed_and_replaced() {
    let (dev, role) = seeded_dev("pw-unused-7e7e", &["token_ttl=1h"]);
    // The role's policy may also create (child) tokens.
    dev.write_policy(
        "app",
        &format!(
            "{POLICY}\npath \"auth/token/create\" {{ capabilities = [\"create\", \"update\"] }}"
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let dest = d.join("child-token");
    let cfg = d.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
      remove_secret_id_file_after_reading = false
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template_config {{ static_secret_render_interval = "60s" }}
template {{
  contents = "{{{{ with secret \"auth/token/create\" \"ttl=2s\" \"explicit_max_ttl=6s\" \"policies=default\" }}}}{{{{ .Auth.ClientToken }}}}{{{{ end }}}}"
  destination = "{dest}"
}}
"#,
            addr = dev.addr(),
            d = d.display(),
            dest = dest.display(),
        ),
    )
    .unwrap();
    let mut agent = Agent::spawn(&cfg);
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&dest).is_ok_and(|t| !t.is_empty())
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let token_file_ok: Check = |s| s.len() >= 20 && !s.contains(char::is_whitespace);
    let reader = Reader::start(vec![(dest.clone(), token_file_ok)]);
    let mut tokens: Vec<String> = Vec::new();
    eventually(Duration::from_secs(40), || {
        let t = std::fs::read_to_string(&dest).unwrap_or_default();
        if !t.is_empty() && !tokens.contains(&t) {
            tokens.push(t);
        }
        tokens.len() >= 3
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}; {} tokens seen under a 60 s interval; log:\n{}",
            tokens.len(),
            agent.log()
        )
    });
    assert!(agent.running());
    reader.finish();
    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    assert!(log.contains("renewed secret lease"), "{log}");
    let sink = std::fs::read_to_string(d.join("sink")).unwrap();
    let mut secrets = vec![sink.as_str(), role.secret_id.as_str()];
    secrets.extend(tokens.iter().map(String::as_str));
    assert_not_logged(&log, &secrets);
}

/// The cache listener flooded: 300 connections that never finish their request head (more than
/// the listener's 64 connection slots), then 400 requests from 8 threads. Expected: the agent
/// stays up with bounded memory (RSS under 150 MB), the templates keep rendering, and once the
/// idle connections close (or hit the 30 s header timeout) the waiting requests are served.
#[test]
fn flooded_cache_listener_stays_bounded_and_recovers() {
    let (dev, role) = seeded_dev("pw-before-f100", &["token_ttl=1h"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let dest = d.join("app.env");
    let port = free_port().unwrap();
    let listener = format!(
        "cache {{ use_auto_auth_token = true }}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}"
    );
    let cfg = sidecar_config(dev.addr(), d, &dest, "1s", &listener);
    let mut agent = Agent::spawn(&cfg);
    wait_for_file(&agent, &dest, "pw-before-f100", 60);
    let url = format!("http://127.0.0.1:{port}/v1/secret/data/app/config");
    let get = || vk_test_utils::http::request("GET", &url, None, &[], b"");
    eventually(Duration::from_secs(30), || {
        get().is_ok_and(|r| r.status == 200)
    })
    .unwrap();
    let rss_before = agent.rss_kb();

    // Slow clients: each sends half a request head and waits.
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.write_all(b"GET /v1/secret/data/app/config HTTP/1.1\r\nHost: x\r\n")
                .ok()?;
            Some(s)
        })
        .collect();
    assert!(idle.len() >= 200, "only {} connections opened", idle.len());
    // Request floods, with the slots all taken by the slow clients: they wait or fail, but the
    // process must neither grow without bound nor die.
    let served = Arc::new(AtomicUsize::new(0));
    let threads: Vec<JoinHandle<()>> = (0..8)
        .map(|_| {
            let (url, served) = (url.clone(), served.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    if vk_test_utils::http::request("GET", &url, None, &[], b"")
                        .is_ok_and(|r| r.status == 200)
                    {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(5));
    let rss_flood = agent.rss_kb();
    assert!(
        agent.running(),
        "the agent died under the flood:\n{}",
        agent.log()
    );
    assert!(
        rss_flood < 150 * 1024,
        "RSS grew to {rss_flood} kB (from {rss_before} kB)"
    );
    // Templates are independent of the listener: a change still renders.
    put_password(&dev, "pw-during-f200");
    wait_for_file(&agent, &dest, "pw-during-f200", 60);

    drop(idle);
    for t in threads {
        t.join().unwrap();
    }
    eventually(Duration::from_secs(60), || {
        get().is_ok_and(|r| r.status == 200)
    })
    .unwrap_or_else(|e| panic!("{e}; listener did not recover; log:\n{}", agent.log()));
    let served = served.load(Ordering::Relaxed);
    eprintln!("flood: RSS {rss_before} kB before, {rss_flood} kB during; {served} of 400 served");
    assert!(served > 0, "no flood request was ever served");
    assert_eq!(agent.terminate(), Some(0));
}
