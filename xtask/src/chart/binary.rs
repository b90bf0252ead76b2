//! Starts the vault-k8s binary with the container args and env of a rendered Deployment, to
//! prove the binary accepts what the chart gives it.
//!
//! File TLS (a mounted certificate): the certificate paths point at a generated fixture and
//! the check waits for `Listening on` and a healthy `/health/ready`.
//!
//! Auto TLS (`AGENT_INJECT_TLS_AUTO`): the injector needs the Kubernetes API, so `KUBECONFIG`
//! names an API server address where nothing listens. The flags and env count as accepted
//! when the binary either serves, or stays up and logs that it cannot reach that API server.
//! A binary that exits on its configuration fails the check, and one that refuses
//! `-tls-auto` as unsupported is reported as predating auto-TLS.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::image::{check as icheck, meta};

/// How long the binary gets to show it accepted its configuration (a loaded machine).
const START_LIMIT: Duration = Duration::from_secs(20);

/// The container of the (only) Deployment in a rendered manifest.
pub(crate) fn deployment_container(manifest: &Path) -> Result<serde_norway::Value> {
    let text = std::fs::read_to_string(manifest)?;
    for doc in super::render::documents(&text, manifest)? {
        if doc["kind"].as_str() == Some("Deployment") {
            return Ok(doc["spec"]["template"]["spec"]["containers"][0].clone());
        }
    }
    bail!("no Deployment in {}", manifest.display())
}

/// What the binary did with the rendered configuration.
enum Outcome {
    Serving,
    ApiUnreachable(String),
}

pub(crate) fn run_rendered(bin: &Path, manifest: &Path) -> Result<String> {
    let c = deployment_container(manifest)?;
    let args: Vec<String> = c["args"]
        .as_sequence()
        .context("container has no args")?
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let scratch = meta::scratch("chart")?;
    let tls = scratch.join("tls");
    icheck::tls_fixture(&tls)?;
    let port = crate::util::free_port()?;
    // A port that was free a moment ago: nothing answers there.
    let dead_api = format!("127.0.0.1:{}", crate::util::free_port()?);
    let kubeconfig = scratch.join("kubeconfig-unreachable.yaml");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: unreachable\n  cluster:\n    server: https://{dead_api}\n    certificate-authority: {}\nusers:\n- name: xtask\n  user:\n    token: xtask-placeholder-token\ncontexts:\n- name: unreachable\n  context:\n    cluster: unreachable\n    user: xtask\n    namespace: vault\ncurrent-context: unreachable\n",
            tls.join("ca.crt").display()
        ),
    )?;
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &scratch)
        .env("KUBECONFIG", &kubeconfig)
        .args(&args);
    let mut auto_tls = false;
    for e in c["env"].as_sequence().context("container has no env")? {
        let name = e["name"].as_str().context("env entry without name")?;
        let value = match (e["value"].as_str(), name) {
            (_, "AGENT_INJECT_LISTEN") => format!("127.0.0.1:{port}"),
            (Some(v), _) if v.starts_with("/etc/webhook/certs/") => tls
                .join(v.trim_start_matches("/etc/webhook/certs/"))
                .display()
                .to_string(),
            (Some(v), _) => v.to_string(),
            // Downward-API values (namespace, pod name) exist only in a cluster.
            (None, _) => {
                let path = e["valueFrom"]["fieldRef"]["fieldPath"].as_str();
                ensure_field_ref(name, path)?;
                format!("xtask-{}", name.to_lowercase().replace('_', "-"))
            }
        };
        auto_tls |= name == "AGENT_INJECT_TLS_AUTO" && !value.is_empty();
        cmd.env(name, value);
    }
    let log = scratch.join("binary.log");
    let f = std::fs::File::create(&log)?;
    cmd.stdin(Stdio::null()).stdout(f.try_clone()?).stderr(f);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    // Probe while the process still runs; stop it whatever the outcome.
    let result = watch(&mut child, &log, &dead_api, auto_tls).and_then(|outcome| match outcome {
        Outcome::Serving => icheck::wait_https(
            &format!("https://localhost:{port}/health/ready"),
            &tls.join("ca.crt"),
            Duration::from_secs(10),
        )
        .map(|_| "serves /health/ready".to_string()),
        Outcome::ApiUnreachable(line) => Ok(format!(
            "accepted the auto-TLS configuration and reports the unreachable API server: {line}"
        )),
    });
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn ensure_field_ref(name: &str, path: Option<&str>) -> Result<()> {
    let want = match name {
        "NAMESPACE" => "metadata.namespace",
        "POD_NAME" => "metadata.name",
        _ => bail!("env {name} has neither a value nor a known downward-API field"),
    };
    if path != Some(want) {
        bail!("env {name} must come from fieldRef {want}, got {path:?}");
    }
    Ok(())
}

fn watch(
    child: &mut std::process::Child,
    log: &Path,
    dead_api: &str,
    auto_tls: bool,
) -> Result<Outcome> {
    let start = Instant::now();
    loop {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        // In auto TLS the listener binds at once but serves nothing until a certificate
        // exists, which needs the (here unreachable) API server: wait for that report.
        if !auto_tls && out.contains("Listening on") {
            return Ok(Outcome::Serving);
        }
        if auto_tls && let Some(line) = api_failure_line(&out, dead_api) {
            return Ok(Outcome::ApiUnreachable(line));
        }
        if let Some(st) = child.try_wait()? {
            // Let the last lines reach the file.
            let out = std::fs::read_to_string(log).unwrap_or_default();
            if auto_tls && predates_auto_tls(&out) {
                bail!(
                    "the binary predates auto-TLS: it refuses -tls-auto (AGENT_INJECT_TLS_AUTO), \
                     which the chart sets by default. Build a binary with auto-TLS support \
                     (the lead merges it before CI) or pass one with --binary. Its output:\n{out}"
                );
            }
            bail!("it exited ({st}) before serving:\n{out}");
        }
        if start.elapsed() > START_LIMIT {
            bail!(
                "within {START_LIMIT:?} it neither served nor reported the unreachable Kubernetes \
                 API server {dead_api}:\n{out}"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A log line saying the Kubernetes API server could not be reached: it names the address
/// from KUBECONFIG, or says the connection failed.
fn api_failure_line(out: &str, dead_api: &str) -> Option<String> {
    out.lines()
        .find(|l| {
            let lower = l.to_lowercase();
            l.contains(dead_api)
                || lower.contains("connection refused")
                || lower.contains("error trying to connect")
                || lower.contains("cannot reach the api server")
                || (lower.contains("kubernetes api") && lower.contains("unreachable"))
        })
        .map(|l| l.trim().chars().take(300).collect())
}

fn predates_auto_tls(out: &str) -> bool {
    out.contains("-tls-auto") && out.contains("not supported")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_an_unreachable_api_server() {
        let dead = "127.0.0.1:4242";
        let named = "WARN kubernetes: get mutatingwebhookconfigurations x: https://127.0.0.1:4242/apis failed";
        assert!(api_failure_line(named, dead).is_some());
        let refused = "ERROR lease: Connection refused (os error 111)";
        assert!(api_failure_line(refused, dead).is_some());
        let ours = r#"WARN vk_kube::leader: leader election: get leases "x": cannot reach the API server (1 attempts)"#;
        assert!(api_failure_line(ours, dead).is_some());
        assert!(api_failure_line("INFO starting handler", dead).is_none());
        assert!(api_failure_line("Error parsing environment variables: bad bool", dead).is_none());
    }

    #[test]
    fn recognises_a_binary_without_auto_tls() {
        let today = "Error: automatic TLS certificates (-tls-auto) are not supported yet; give the webhook a certificate";
        assert!(predates_auto_tls(today));
        assert!(!predates_auto_tls("Listening on \"127.0.0.1:1\"..."));
    }
}
