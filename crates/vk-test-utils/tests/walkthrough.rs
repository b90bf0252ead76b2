//! The demo (`cargo xtask demo`) as a test: the `vk-walkthrough` binary runs the guide's
//! walkthrough against a freshly built `vault-k8s`, prints the rendered secret, exits 0 and
//! leaves nothing running; without root it explains why and starts nothing; on SIGINT it stops
//! everything it started.
//!
//! Needs root (pod sandbox) and OpenBao at `.tools/bin/bao` (`cargo xtask tools`).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use vk_test_utils::util::run_with_timeout;
use vk_test_utils::{bao_binary, workspace_root};

const WALKTHROUGH: &str = env!("CARGO_BIN_EXE_vk-walkthrough");
/// Generous: the walkthrough takes about a second; this only bounds a hang.
const LIMIT: Duration = Duration::from_secs(240);
const SECRET_BLOCK: &str = "----- /vault/secrets/database-config -----\n\
                            postgresql://db-user:db-password@postgres:5432/mydb\n\
                            ------------------------------------------\n";

/// `vault-k8s` as the current sources build it (a package's tests only get their own
/// binaries, so build it here; cargo makes this a no-op when it is up to date).
fn vault_k8s() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_vault_k8s).clone()
}

fn build_vault_k8s() -> PathBuf {
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        // The test's own CARGO_MANIFEST_DIR would change ring's build-script fingerprint and
        // rebuild it (and everything above) for this and the next ordinary build.
        .env_remove("CARGO_MANIFEST_DIR")
        .args([
            "build",
            "-p",
            "vault-k8s",
            "--bin",
            "vault-k8s",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build -p vault-k8s");
    assert!(out.status.success(), "cargo build -p vault-k8s failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "vault-k8s")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no vault-k8s executable")
}

/// The `127.0.0.1:PORT` of every `listening on …` line.
fn listen_addrs(stdout: &str) -> Vec<SocketAddr> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("listening on "))
        .filter_map(|url| url.split("://").nth(1)?.parse().ok())
        .collect()
}

fn assert_closed(addrs: &[SocketAddr]) {
    for addr in addrs {
        assert!(
            TcpStream::connect_timeout(addr, Duration::from_secs(2)).is_err(),
            "{addr} still accepts connections after the walkthrough exited"
        );
    }
}

#[test]
fn prints_the_rendered_secret_runs_our_agent_and_cleans_up() {
    let vault_k8s = vault_k8s();
    let out = run_with_timeout(
        Command::new(WALKTHROUGH).arg("--vault-k8s").arg(&vault_k8s),
        LIMIT,
    )
    .expect("run vk-walkthrough");
    let stdout = out.stdout_str();
    assert!(
        out.success(),
        "vk-walkthrough failed ({:?}):\n{stdout}\n{}",
        out.status,
        out.stderr_str()
    );
    assert!(
        stdout.contains(SECRET_BLOCK),
        "no framed secret in:\n{stdout}"
    );

    // Eight numbered steps, in order, each on its own line.
    let steps: Vec<&str> = stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(steps.len(), 8, "{stdout}");
    for (i, line) in steps.iter().enumerate() {
        assert!(line.starts_with(&format!("[{}/8] ", i + 1)), "{line}");
    }
    assert!(
        stdout.contains(
            "[3/8] configuring kubernetes auth (role webapp, service account default/webapp, \
             policy webapp)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("init container vault-agent-init: image "),
        "{stdout}"
    );
    // The injected container, run as patched, is our agent (its own start-up line), not bao's.
    assert!(
        stdout.contains("| ") && stdout.contains("starting vault-k8s agent"),
        "the agent's log does not show vault-k8s agent:\n{stdout}"
    );

    // OpenBao, the TokenReview endpoint and the webhook are gone.
    let addrs = listen_addrs(&stdout);
    assert_eq!(addrs.len(), 3, "{stdout}");
    assert_closed(&addrs);
}

#[test]
fn without_root_it_says_why_and_starts_nothing() {
    // A copy any user can run (the target dir may sit under a private directory).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("vk-walkthrough");
    std::fs::copy(WALKTHROUGH, &copy).unwrap();
    make_traversable(dir.path());
    let out = run_with_timeout(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&copy)
            .arg("--vault-k8s")
            .arg(&copy),
        LIMIT,
    )
    .expect("run vk-walkthrough as nobody");
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    let stderr = out.stderr_str();
    assert!(
        stderr.contains("must run as root") && stderr.contains("mount namespace"),
        "{stderr}"
    );
    assert!(!out.stdout_str().contains("[1/"), "{}", out.stdout_str());
}

#[test]
fn a_missing_vault_k8s_binary_is_named() {
    let out = run_with_timeout(
        Command::new(WALKTHROUGH).args(["--vault-k8s", "/nonexistent/vault-k8s"]),
        LIMIT,
    )
    .unwrap();
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr_str()
            .contains("--vault-k8s /nonexistent/vault-k8s: no such file"),
        "{}",
        out.stderr_str()
    );
}

/// Ctrl-C while the injected agent runs: the webhook and the sandbox live in process groups of
/// their own, so only the walkthrough can stop them. Here the agent never finishes (a wrapper
/// turns `vault-k8s agent` into a long sleep), and SIGINT must still leave nothing behind.
#[test]
fn sigint_stops_everything_it_started() {
    let real = vault_k8s();
    let dir = tempfile::tempdir().unwrap();
    let marker = "86399"; // the sleep's argument, to find it among all processes
    let wrapper = dir.path().join("vault-k8s");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$1\" in agent) exec sleep {marker} ;; esac\nexec '{}' \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    chmod(&wrapper, 0o755);
    make_traversable(dir.path());
    let _ = bao_binary().expect("OpenBao installed");

    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(WALKTHROUGH)
        .arg("--vault-k8s")
        .arg(&wrapper)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    // Wait for the agent to be running (its step printed), then interrupt.
    let started = loop {
        match rx.recv_timeout(LIMIT) {
            Ok(line) if line.starts_with("[7/8]") => break true,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    // The agent (the wrapper's sleep) is running inside the sandbox before the signal.
    let agent_ran = started
        && vk_test_utils::eventually(LIMIT, || !processes_with_arg(marker).is_empty()).is_ok();
    let pid = child.id();
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let status = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(started, "step 7 never started:\n{stdout}\n{stderr}");
    assert!(agent_ran, "the agent never ran:\n{stdout}\n{stderr}");
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");

    let addrs = listen_addrs(&stdout);
    assert_eq!(addrs.len(), 3, "{stdout}");
    assert_closed(&addrs);
    vk_test_utils::eventually(Duration::from_secs(10), || {
        processes_with_arg(marker).is_empty() && processes_in_group(pid).is_empty()
    })
    .unwrap_or_else(|_| {
        panic!(
            "left running: sleep {marker}: {:?}, group {pid}: {:?}",
            processes_with_arg(marker),
            processes_in_group(pid)
        )
    });
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn make_traversable(dir: &Path) {
    chmod(dir, 0o755);
}

fn proc_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn processes_with_arg(arg: &str) -> Vec<u32> {
    proc_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

fn processes_in_group(pgid: u32) -> Vec<u32> {
    proc_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                    .and_then(|g| g.parse::<u32>().ok())
                    == Some(pgid)
            })
        })
        .collect()
}
