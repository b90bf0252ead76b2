//! Template keys and command outcomes, each run through our agent and `bao agent` from the same
//! configuration against one real `bao server -dev`: `backup`, `uid`/`gid`/`user`/`group`,
//! `exec` with its timeout, failing commands in init and sidecar mode (exit codes compared),
//! `create_dest_dirs = false`, and `wait` coalescing renders in sidecar mode.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vk_test_utils::DevServer;
use vk_test_utils::util::{TimedOutput, eventually, run_with_timeout};

const SECRET: &str = r#"{{ with secret "secret/data/app" }}{{ .Data.data.foo }}{{ end }}"#;

fn seeded() -> DevServer {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&["kv", "put", "secret/app", "foo=bar"]).unwrap();
    dev
}

/// A configuration with one template; `template_extra` goes inside the template block,
/// `top_extra` at the top level.
fn config(
    addr: &str,
    dir: &Path,
    exit_after_auth: bool,
    template_extra: &str,
    top_extra: &str,
) -> String {
    format!(
        r#"
exit_after_auth = {exit_after_auth}
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{ config {{ token_file_path = "{d}/token" }} }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
{top_extra}
template {{
  contents = <<EOT
{SECRET}
EOT
  destination = "{d}/out/secret.txt"
{template_extra}
}}
"#,
        d = dir.display()
    )
}

/// Two prepared directories (ours, theirs), each with a token file and `agent.hcl`.
struct Pair {
    ours: tempfile::TempDir,
    theirs: tempfile::TempDir,
}

impl Pair {
    fn new(dev: &DevServer, exit_after_auth: bool, template_extra: &str, top_extra: &str) -> Self {
        let pair = Self {
            ours: tempfile::tempdir().unwrap(),
            theirs: tempfile::tempdir().unwrap(),
        };
        for d in [pair.ours.path(), pair.theirs.path()] {
            std::fs::write(d.join("token"), "root\n").unwrap();
            let text = config(dev.addr(), d, exit_after_auth, template_extra, top_extra);
            std::fs::write(d.join("agent.hcl"), text).unwrap();
        }
        pair
    }

    fn dirs(&self) -> [&Path; 2] {
        [self.ours.path(), self.theirs.path()]
    }

    fn our_command(&self) -> Command {
        let mut cmd = Command::new(vk_test_utils::agent_example());
        cmd.arg(format!(
            "-config={}",
            self.ours.path().join("agent.hcl").display()
        ))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG")
        .stdin(Stdio::null());
        cmd
    }

    fn their_command(&self, dev: &DevServer) -> Command {
        dev.agent_command(&self.theirs.path().join("agent.hcl"))
    }

    /// Runs both agents to completion (init mode).
    fn run_both(&self, dev: &DevServer) -> (TimedOutput, TimedOutput) {
        let ours = run_with_timeout(&mut self.our_command(), Duration::from_secs(90)).unwrap();
        let theirs =
            run_with_timeout(&mut self.their_command(dev), Duration::from_secs(90)).unwrap();
        (ours, theirs)
    }
}

fn dest(dir: &Path) -> PathBuf {
    dir.join("out/secret.txt")
}

#[test]
fn backup_keeps_the_previous_file_as_bak() {
    let dev = seeded();
    let pair = Pair::new(&dev, true, "  backup = true\n  perms = \"0640\"", "");
    for d in pair.dirs() {
        std::fs::create_dir_all(d.join("out")).unwrap();
        std::fs::write(dest(d), "old contents\n").unwrap();
    }
    let (ours, theirs) = pair.run_both(&dev);
    assert!(ours.success(), "ours: {}", ours.stderr_str());
    assert!(theirs.success(), "bao: {}", theirs.stderr_str());
    for d in pair.dirs() {
        assert_eq!(std::fs::read_to_string(dest(d)).unwrap(), "bar\n");
        let bak = d.join("out/secret.txt.bak");
        assert_eq!(
            std::fs::read_to_string(&bak).unwrap(),
            "old contents\n",
            "{}",
            bak.display()
        );
    }
    let mode = |d: &Path| vk_agent::file_mode(&d.join("out/secret.txt.bak")).unwrap();
    assert_eq!(
        mode(pair.ours.path()),
        mode(pair.theirs.path()),
        "mode of the .bak file"
    );
}

#[test]
fn owner_keys_chown_the_destination() {
    // Tests run as root, so giving the file to another owner is observable.
    if unsafe_geteuid() != 0 {
        eprintln!("skipped: chown to another user needs root");
        return;
    }
    let dev = seeded();
    let pair = Pair::new(&dev, true, "  uid = 1234\n  gid = 2345", "");
    let (ours, theirs) = pair.run_both(&dev);
    assert!(
        ours.success() && theirs.success(),
        "{} / {}",
        ours.stderr_str(),
        theirs.stderr_str()
    );
    for d in pair.dirs() {
        let meta = std::fs::metadata(dest(d)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (1234, 2345), "{}", d.display());
    }

    let pair = Pair::new(&dev, true, "  user = \"nobody\"\n  group = \"0\"", "");
    let (ours, theirs) = pair.run_both(&dev);
    assert!(
        ours.success() && theirs.success(),
        "{} / {}",
        ours.stderr_str(),
        theirs.stderr_str()
    );
    let owner = |d: &Path| {
        let meta = std::fs::metadata(dest(d)).unwrap();
        (meta.uid(), meta.gid())
    };
    assert_ne!(
        owner(pair.ours.path()).0,
        0,
        "user = nobody must not stay root"
    );
    assert_eq!(owner(pair.ours.path()), owner(pair.theirs.path()));
}

fn unsafe_geteuid() -> u32 {
    // The owner of a file we create is our effective uid.
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::fs::metadata(probe.path()).unwrap().uid()
}

/// Exit codes of both agents for one configuration, with how long ours took.
fn exit_codes(pair: &Pair, dev: &DevServer) -> (Option<i32>, Option<i32>, Duration) {
    let start = Instant::now();
    let ours = run_with_timeout(&mut pair.our_command(), Duration::from_secs(90)).unwrap();
    let took = start.elapsed();
    let theirs = run_with_timeout(&mut pair.their_command(dev), Duration::from_secs(90)).unwrap();
    assert!(!ours.timed_out && !theirs.timed_out, "an agent hung");
    (ours.code(), theirs.code(), took)
}

#[test]
fn init_mode_command_failures_do_not_fail_the_init() {
    let dev = seeded();
    let cases = [
        ("failing command", "  command = \"sh -c 'exit 3'\""),
        (
            "timed-out command",
            "  command = \"sleep 30\"\n  command_timeout = \"1s\"",
        ),
        (
            "exec timeout",
            "  exec {\n    command = [\"sleep\", \"30\"]\n    timeout = \"1s\"\n  }",
        ),
        (
            "exec failing",
            "  exec {\n    command = [\"sh\", \"-c\", \"exit 4\"]\n  }",
        ),
    ];
    for (name, extra) in cases {
        let pair = Pair::new(
            &dev,
            true,
            extra,
            "template_config { exit_on_retry_failure = true }",
        );
        let (ours, theirs, took) = exit_codes(&pair, &dev);
        assert_eq!(ours, theirs, "{name}: exit code, ours vs bao");
        assert_eq!(ours, Some(0), "{name}");
        assert!(
            took < Duration::from_secs(25),
            "{name}: the timeout must stop the command ({took:?})"
        );
        for d in pair.dirs() {
            assert_eq!(std::fs::read_to_string(dest(d)).unwrap(), "bar\n", "{name}");
        }
    }
}

#[test]
fn exec_runs_the_command_after_a_write() {
    let dev = seeded();
    let pair = Pair::new(&dev, true, "", "");
    for d in pair.dirs() {
        let extra = format!(
            "  exec {{\n    command = [\"sh\", \"-c\", \"cat {0}/out/secret.txt > {0}/ran\"]\n    timeout = \"10s\"\n  }}",
            d.display()
        );
        let text = config(dev.addr(), d, true, &extra, "");
        std::fs::write(d.join("agent.hcl"), text).unwrap();
    }
    let (ours, theirs) = pair.run_both(&dev);
    assert!(
        ours.success() && theirs.success(),
        "{} / {}",
        ours.stderr_str(),
        theirs.stderr_str()
    );
    for d in pair.dirs() {
        assert_eq!(
            std::fs::read_to_string(d.join("ran")).unwrap(),
            "bar\n",
            "{}",
            d.display()
        );
    }
}

#[test]
fn missing_directory_without_create_dest_dirs_fails_like_bao() {
    let dev = seeded();
    let pair = Pair::new(
        &dev,
        true,
        "  create_dest_dirs = false",
        "template_config { exit_on_retry_failure = true }",
    );
    let (ours, theirs, _) = exit_codes(&pair, &dev);
    assert_eq!(ours, theirs, "exit code, ours vs bao");
    assert_ne!(ours, Some(0));
    for d in pair.dirs() {
        assert!(!dest(d).exists());
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sidecar mode: a failing command stops the agent (exit 1) with `exit_on_retry_failure`,
/// and is only logged without it (the agent keeps running and exits 0 on SIGTERM).
#[test]
fn sidecar_command_failures_follow_exit_on_retry_failure() {
    let dev = seeded();
    let fail = "  command = \"sh -c 'exit 3'\"";
    let pair = Pair::new(
        &dev,
        false,
        fail,
        "template_config { exit_on_retry_failure = true }",
    );
    let (ours, theirs, _) = exit_codes(&pair, &dev);
    assert_eq!(
        ours, theirs,
        "exit code with exit_on_retry_failure, ours vs bao"
    );
    assert_eq!(ours, Some(1));

    let pair = Pair::new(
        &dev,
        false,
        fail,
        "template_config { exit_on_retry_failure = false }",
    );
    for mut cmd in [pair.our_command(), pair.their_command(&dev)] {
        let mut child = KillOnDrop(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        std::thread::sleep(Duration::from_secs(4));
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the agent must keep running"
        );
        let pid = child.0.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.0.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(0));
    }
    for d in pair.dirs() {
        assert_eq!(std::fs::read_to_string(dest(d)).unwrap(), "bar\n");
    }
}

/// `wait` in sidecar mode: the first render is written at once; later changes are held until
/// the secret has been quiet for `min`, so a burst of changes becomes one write.
#[test]
fn wait_coalesces_renders_in_sidecar_mode() {
    let dev = seeded();
    let pair = Pair::new(
        &dev,
        false,
        "",
        "template_config { static_secret_render_interval = \"1s\" }",
    );
    let mut children = Vec::new();
    for (d, mut cmd) in [
        (pair.ours.path(), pair.our_command()),
        (pair.theirs.path(), pair.their_command(&dev)),
    ] {
        let extra = format!(
            "  wait {{\n    min = \"4s\"\n    max = \"30s\"\n  }}\n  command = \"sh -c 'cat {0}/out/secret.txt >> {0}/renders'\"",
            d.display()
        );
        let text = config(
            dev.addr(),
            d,
            false,
            &extra,
            "template_config { static_secret_render_interval = \"1s\" }",
        );
        std::fs::write(d.join("agent.hcl"), text).unwrap();
        children.push(KillOnDrop(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ));
    }
    for d in pair.dirs() {
        eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(dest(d)).is_ok_and(|s| s == "bar\n")
        })
        .unwrap();
    }
    // A burst of changes, each shorter apart than `min`.
    for v in ["v1", "v2", "v3"] {
        dev.cli_ok(&["kv", "put", "secret/app", &format!("foo={v}")])
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
    }
    // Held: still the old contents shortly after the burst.
    for d in pair.dirs() {
        assert_eq!(
            std::fs::read_to_string(dest(d)).unwrap(),
            "bar\n",
            "{}",
            d.display()
        );
    }
    for d in pair.dirs() {
        eventually(Duration::from_secs(40), || {
            std::fs::read_to_string(dest(d)).is_ok_and(|s| s == "v3\n")
        })
        .unwrap();
    }
    std::thread::sleep(Duration::from_secs(2));
    for d in pair.dirs() {
        let renders = std::fs::read_to_string(d.join("renders")).unwrap();
        assert_eq!(
            renders,
            "bar\nv3\n",
            "one write for the burst ({})",
            d.display()
        );
    }
    drop(children);
}
