//! Run one container of a (mutated) pod the way a kubelet would, without a container runtime.
//!
//! What is real: the process is built from the container's `command` + `args` (with Kubernetes
//! `$(VAR)` expansion), its `env` (literal values and `valueFrom.fieldRef`), its `workingDir`,
//! its `securityContext` user/group (via `setpriv`, with no-new-privs and no capabilities for
//! non-root users), and its `volumeMounts`, which appear at their real absolute paths
//! (`/home/vault`, `/vault/secrets`, `/var/run/secrets/kubernetes.io/serviceaccount`, …).
//! Volumes are host temp dirs that live as long as the [`PodSandbox`], so an init container and
//! a later container share them as in a pod.
//!
//! What is not: the image. The host's `/bin/sh`, `base64`, etc. are used, and `vault` on `PATH`
//! is OpenBao's `bao` (a temp bin dir holding a `vault` link to it comes first in `PATH`). The
//! network is the host's, so `127.0.0.1` services are reachable.
//!
//! This project's own image is stood in for too: after [`PodSandbox::set_agent_binary`], the
//! given binary appears at `/usr/local/bin/vault-k8s` (the path of the runtime image), so a
//! container injected with the native command (`["/usr/local/bin/vault-k8s"]`, `["agent"]`,
//! no shell) runs exactly as patched. Running such a container without it is an error.
//!
//! # How the paths exist without touching the host
//!
//! The container runs under `unshare --mount --propagation private --pid --fork` (private
//! mount and PID namespaces; nothing propagates back, and every process of the container dies
//! with it) and a generated `sh` script then:
//!
//! 1. mounts a fresh **tmpfs as the new root** `R` (a temp dir), and re-creates every top-level
//!    entry of the host `/` in it: directories are `mount --rbind`-ed, symlinks copied;
//! 2. for every mount path, finds the deepest directory that already exists on the host (after
//!    resolving symlinks, so `/var/run` becomes `/run`). If a component below it is missing
//!    and that directory is not `/` itself, the directory is **shadowed**: a tmpfs is mounted
//!    over `R/<dir>` and each of its host entries is bound back in. The missing components are
//!    then created on tmpfs, never on the host (e.g. `/vault` is made on the root tmpfs,
//!    `/run/secrets` on the tmpfs shadowing `/run`);
//! 3. bind-mounts each volume's host dir at `R/<mount path>` (read-only when asked), and the
//!    agent binary, if set, read-only at `R/usr/local/bin/vault-k8s`: its directory is always
//!    shadowed by a tmpfs holding the host's other entries, so the file is created on tmpfs;
//! 4. `exec chroot R …` into the container process.
//!
//! When the process tree ends, the namespace and all its mounts disappear; the temp dirs are
//! removed when the [`PodSandbox`] is dropped. Requires root (mount namespaces, `chroot`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tempfile::TempDir;

use crate::util::{TimedOutput, run_with_timeout};

/// `PATH` of the sandboxed process; the first entry holds `vault` → `bao`.
const SANDBOX_BIN: &str = "/.vk-sandbox/bin";
/// Where this project's runtime image has its binary (docs/images.md), the native command.
pub const AGENT_BINARY_PATH: &str = "/usr/local/bin/vault-k8s";
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A pod whose volumes exist as host temp dirs; run its containers with [`PodSandbox::run`].
#[derive(Debug)]
pub struct PodSandbox {
    pod: Value,
    dir: TempDir,
    volumes: BTreeMap<String, PathBuf>,
    bao: PathBuf,
    /// Shown at [`AGENT_BINARY_PATH`] when set.
    agent: Option<PathBuf>,
    timeout: Duration,
}

/// The result of running one container.
#[derive(Debug, Clone)]
pub struct SandboxRun {
    /// Exit status, stdout and stderr (and whether the time limit killed it).
    pub output: TimedOutput,
    /// The host dir backing each pod volume (by volume name).
    pub volumes: BTreeMap<String, PathBuf>,
}

impl SandboxRun {
    /// True when the container exited 0 on its own.
    pub fn success(&self) -> bool {
        self.output.success()
    }

    /// Stdout and stderr, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "status={:?} timed_out={}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.output.status,
            self.output.timed_out,
            self.output.stdout_str(),
            self.output.stderr_str()
        )
    }
}

impl PodSandbox {
    /// Creates a host dir for each of `spec.volumes` of `pod`. `emptyDir` volumes are empty
    /// and world-writable (like the kubelet's); projected volumes get their `downwardAPI`
    /// items; everything else (token, config maps, secrets) is supplied with
    /// [`PodSandbox::set_file`] / [`PodSandbox::set_service_account_token`].
    pub fn new(pod: &Value) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let bao = crate::bao::bao_binary()?;
        if effective_uid()? != 0 {
            bail!("the pod sandbox needs root (it uses a mount namespace, mounts and chroot)");
        }
        let dir = tempfile::Builder::new().prefix("vk-pod-").tempdir()?;
        let mut volumes = BTreeMap::new();
        let specs = pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, vol) in specs.iter().enumerate() {
            let name = vol["name"]
                .as_str()
                .ok_or_else(|| anyhow!("spec.volumes[{i}] has no name"))?
                .to_string();
            let host = dir
                .path()
                .join("volumes")
                .join(format!("{i}-{}", sanitize(&name)));
            std::fs::create_dir_all(&host)?;
            if vol.get("emptyDir").is_some() {
                std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o777))?;
            } else {
                std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755))?;
            }
            for source in vol["projected"]["sources"].as_array().into_iter().flatten() {
                for item in source["downwardAPI"]["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let (Some(path), Some(field)) = (
                        item["path"].as_str(),
                        item["fieldRef"]["fieldPath"].as_str(),
                    ) else {
                        continue;
                    };
                    let value = field_ref(pod, field)?;
                    write_file(&host, path, value.as_bytes())?;
                }
            }
            volumes.insert(name, host);
        }
        Ok(Self {
            pod: pod.clone(),
            dir,
            volumes,
            bao,
            agent: None,
            timeout: Duration::from_secs(60),
        })
    }

    /// What `vault` on `PATH` runs (default: OpenBao's `bao`). The injected commands call
    /// `vault agent -config=…`, so `vault-k8s` itself can stand in to test our own agent.
    pub fn set_vault_binary(&mut self, path: impl Into<PathBuf>) {
        self.bao = path.into();
    }

    /// The binary that appears at `/usr/local/bin/vault-k8s` in every container (read-only,
    /// bind-mounted; nothing is written on the host), standing in for this project's image.
    /// Injected containers with the native command (`/usr/local/bin/vault-k8s agent`, no
    /// shell) need it; pass `vault-k8s` itself, e.g. `env!("CARGO_BIN_EXE_vault-k8s")`.
    pub fn set_agent_binary(&mut self, path: impl Into<PathBuf>) {
        self.agent = Some(path.into());
    }

    /// Limit for each [`PodSandbox::run`]; after it the process group is killed (default 60 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Writes `content` at `rel_path` inside volume `volume` (mode 0644).
    pub fn set_file(&mut self, volume: &str, rel_path: &str, content: &[u8]) -> Result<()> {
        let host = self
            .volumes
            .get(volume)
            .ok_or_else(|| anyhow!("pod has no volume {volume:?}"))?
            .clone();
        write_file(&host, rel_path, content)
    }

    /// Writes `token` into every projected volume with a `serviceAccountToken` source, at that
    /// source's `path` (the kubelet's projected service-account token). Errors when the pod
    /// has no such volume.
    pub fn set_service_account_token(&mut self, token: &str) -> Result<()> {
        let mut written = 0;
        let specs = self.pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for vol in &specs {
            for source in vol["projected"]["sources"].as_array().into_iter().flatten() {
                if let Some(path) = source["serviceAccountToken"]["path"].as_str() {
                    let name = vol["name"].as_str().unwrap_or_default().to_string();
                    self.set_file(&name, path, token.as_bytes())?;
                    written += 1;
                }
            }
        }
        anyhow::ensure!(
            written > 0,
            "pod has no projected volume with a serviceAccountToken source"
        );
        Ok(())
    }

    /// The host dir backing volume `name`.
    pub fn volume_dir(&self, name: &str) -> Option<&Path> {
        self.volumes.get(name).map(PathBuf::as_path)
    }

    /// The host file behind `container_path` as seen by container `container` (through its
    /// volume mounts; longest mount path wins).
    pub fn host_path(&self, container: &str, container_path: &str) -> Result<PathBuf> {
        let c = find_container(&self.pod, container)?;
        let mut best: Option<(usize, PathBuf)> = None;
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let (Some(name), Some(mp)) = (m["name"].as_str(), m["mountPath"].as_str()) else {
                continue;
            };
            let mp = mp.trim_end_matches('/');
            let Some(rest) = container_path.strip_prefix(mp) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            let mut host = self
                .volumes
                .get(name)
                .ok_or_else(|| anyhow!("mount {name:?} names no pod volume"))?
                .clone();
            if let Some(sub) = m["subPath"].as_str().filter(|s| !s.is_empty()) {
                host = host.join(sub);
            }
            let host = host.join(rest.trim_start_matches('/'));
            if best.as_ref().is_none_or(|(len, _)| mp.len() > *len) {
                best = Some((mp.len(), host));
            }
        }
        best.map(|(_, p)| p)
            .ok_or_else(|| anyhow!("{container_path} is not on a volume of container {container}"))
    }

    /// Runs container `name` (from `spec.initContainers` or `spec.containers`).
    pub fn run(&self, name: &str) -> Result<SandboxRun> {
        self.run_inner(name, None)
    }

    /// Runs container `name` with `command` instead of its own command and args (for
    /// containers whose image entrypoint the sandbox cannot know, e.g. to `cat` a file as the
    /// app container sees it).
    pub fn run_with_command(&self, name: &str, command: &[&str]) -> Result<SandboxRun> {
        let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        self.run_inner(name, Some(command))
    }

    fn run_inner(&self, name: &str, command_override: Option<Vec<String>>) -> Result<SandboxRun> {
        let c = find_container(&self.pod, name)?;
        let env = container_env(&self.pod, c)?;
        let lookup = |var: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == var)
                .map(|(_, v)| v.clone())
        };
        let argv: Vec<String> = match command_override {
            Some(cmd) => cmd,
            None => {
                let strings = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str())
                        .map(|s| expand(s, &lookup))
                        .collect()
                };
                let mut argv = strings(&c["command"]);
                argv.extend(strings(&c["args"]));
                argv
            }
        };
        if argv.is_empty() {
            bail!(
                "container {name} has no command: the sandbox cannot run an image's entrypoint \
                 (use run_with_command)"
            );
        }
        if argv[0] == AGENT_BINARY_PATH && self.agent.is_none() {
            bail!(
                "container {name} runs {AGENT_BINARY_PATH} (this project's image): call \
                 PodSandbox::set_agent_binary with the vault-k8s binary first"
            );
        }
        if c.get("envFrom").is_some() {
            bail!("container {name}: envFrom is not supported by the pod sandbox");
        }

        // Per-run scratch: the new root and the bin dir holding `vault` (bao, or the binary set).
        let run_dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(self.dir.path())?;
        let root = run_dir.path().join("root");
        let bin = run_dir.path().join("bin");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&bin)?;
        // A link, not a symlink: the binary's own directory may not be traversable by the
        // container's user (a checkout under a 0700 temp dir), the bin dir is.
        let vault = bin.join("vault");
        if std::fs::hard_link(&self.bao, &vault).is_err() {
            std::fs::copy(&self.bao, &vault)
                .with_context(|| format!("copying {} into the sandbox", self.bao.display()))?;
        }
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o755))?;
        }
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
        }

        let mut mounts = Vec::new();
        for (i, m) in c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let vname = m["name"]
                .as_str()
                .ok_or_else(|| anyhow!("container {name}: volumeMounts[{i}] has no name"))?;
            let mount_path = m["mountPath"]
                .as_str()
                .ok_or_else(|| anyhow!("container {name}: volumeMounts[{i}] has no mountPath"))?;
            let mut host = self
                .volumes
                .get(vname)
                .ok_or_else(|| anyhow!("container {name}: mount {vname:?} names no pod volume"))?
                .clone();
            if let Some(sub) = m["subPath"].as_str().filter(|s| !s.is_empty()) {
                host = host.join(sub);
                std::fs::create_dir_all(&host)?;
            }
            mounts.push(Mount {
                host,
                path: clean_abs(mount_path)
                    .with_context(|| format!("container {name}: mountPath {mount_path:?}"))?,
                read_only: m["readOnly"].as_bool().unwrap_or(false),
                file: false,
            });
        }
        mounts.push(Mount {
            host: bin.clone(),
            path: PathBuf::from(SANDBOX_BIN),
            read_only: true,
            file: false,
        });
        if let Some(agent) = &self.agent {
            let host = agent
                .canonicalize()
                .with_context(|| format!("agent binary {}", agent.display()))?;
            anyhow::ensure!(
                host.is_file(),
                "agent binary {} is not a file",
                host.display()
            );
            mounts.push(Mount {
                host,
                path: PathBuf::from(AGENT_BINARY_PATH),
                read_only: true,
                file: true,
            });
        }
        // Parents before children, as a runtime mounts them.
        mounts.sort_by_key(|m| m.path.components().count());

        let sc = &c["securityContext"];
        let uid = sc["runAsUser"]
            .as_u64()
            .or_else(|| self.pod["spec"]["securityContext"]["runAsUser"].as_u64());
        let gid = sc["runAsGroup"]
            .as_u64()
            .or_else(|| self.pod["spec"]["securityContext"]["runAsGroup"].as_u64());
        let script = mount_script(
            &root,
            &mounts,
            sc["readOnlyRootFilesystem"].as_bool() == Some(true),
        )?;

        // Final argv: chroot R [setpriv …] /bin/sh -c 'cd "$1" && shift && exec env -i "$@"' \
        //             sh WORKDIR K=V… COMMAND ARGS…
        let mut exec: Vec<String> = vec!["chroot".into(), root.display().to_string()];
        let non_root = uid.is_some_and(|u| u != 0) || gid.is_some_and(|g| g != 0);
        if non_root {
            exec.push("setpriv".into());
            exec.push(format!("--reuid={}", uid.unwrap_or(0)));
            exec.push(format!("--regid={}", gid.unwrap_or(0)));
            exec.push("--clear-groups".into());
            exec.push("--no-new-privs".into());
            exec.push("--inh-caps=-all".into());
            exec.push("--bounding-set=-all".into());
        }
        let home = if uid.unwrap_or(0) == 0 { "/root" } else { "/" };
        exec.extend([
            "/bin/sh".into(),
            "-c".into(),
            r#"cd "$1" && shift && exec /usr/bin/env -i "$@""#.into(),
            "sh".into(),
            c["workingDir"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("/")
                .to_string(),
        ]);
        let mut full_env: Vec<(String, String)> = vec![
            ("PATH".into(), format!("{SANDBOX_BIN}:{IMAGE_PATH}")),
            (
                "HOSTNAME".into(),
                self.pod["metadata"]["name"]
                    .as_str()
                    .unwrap_or("pod")
                    .to_string(),
            ),
            ("HOME".into(), home.into()),
        ];
        for (k, v) in env {
            full_env.retain(|(n, _)| *n != k);
            full_env.push((k, v));
        }
        for (k, v) in &full_env {
            exec.push(format!("{k}={v}"));
        }
        if argv[0].contains('=') {
            bail!(
                "container {name}: command {:?} contains '=' (env(1) would take it as a variable)",
                argv[0]
            );
        }
        exec.extend(argv);

        let mut cmd = Command::new("unshare");
        // A private PID namespace too: its init is the container's first process, so when it
        // exits or is killed every leftover process in it is killed and reaped by the kernel
        // (no orphans or zombies left on the host, whose PID 1 may not reap).
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
        ])
        .args(["--", "/bin/sh", "-ec", &script, "sh"])
        .args(&exec)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        let output = run_with_timeout(&mut cmd, self.timeout)
            .with_context(|| format!("running container {name} in the pod sandbox"))?;
        Ok(SandboxRun {
            output,
            volumes: self.volumes.clone(),
        })
    }
}

struct Mount {
    host: PathBuf,
    path: PathBuf,
    read_only: bool,
    /// A single file (the agent binary) rather than a directory.
    file: bool,
}

/// The effective uid of this process, from `/proc/self/status`.
fn effective_uid() -> Result<u32> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| anyhow!("no Uid line in /proc/self/status"))
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_file(base: &Path, rel: &str, content: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let rel = Path::new(rel);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        bail!(
            "volume file path {} must be relative without '..'",
            rel.display()
        );
    }
    let path = base.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// An absolute path with `.`/`..` resolved lexically.
fn clean_abs(p: &str) -> Result<PathBuf> {
    let path = Path::new(p);
    anyhow::ensure!(path.is_absolute(), "mount path must be absolute");
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn find_container<'a>(pod: &'a Value, name: &str) -> Result<&'a Value> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod["spec"][*k].as_array().into_iter().flatten())
        .find(|c| c["name"] == name)
        .ok_or_else(|| anyhow!("pod has no container or init container named {name:?}"))
}

/// The value of a downward-API `fieldPath` for the sandbox's pod (IPs are 127.0.0.1).
fn field_ref(pod: &Value, field: &str) -> Result<String> {
    let meta = &pod["metadata"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let keyed = |prefix: &str, map: &Value| -> Option<String> {
        let key = field.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(s(&map[key]))
    };
    Ok(match field {
        "metadata.name" => s(&meta["name"]),
        "metadata.namespace" => {
            let ns = s(&meta["namespace"]);
            if ns.is_empty() { "default".into() } else { ns }
        }
        "metadata.uid" => s(&meta["uid"]),
        "spec.nodeName" => {
            let n = s(&pod["spec"]["nodeName"]);
            if n.is_empty() { "node-1".into() } else { n }
        }
        "spec.serviceAccountName" => s(&pod["spec"]["serviceAccountName"]),
        "status.hostIP" | "status.podIP" | "status.hostIPs" | "status.podIPs" => "127.0.0.1".into(),
        _ => {
            if let Some(v) = keyed("metadata.labels['", &meta["labels"]) {
                v
            } else if let Some(v) = keyed("metadata.annotations['", &meta["annotations"]) {
                v
            } else {
                bail!("fieldRef {field:?} is not supported by the pod sandbox")
            }
        }
    })
}

/// The container's env in order, values resolved (literal with `$(VAR)` expansion against the
/// earlier entries, or `valueFrom.fieldRef`).
fn container_env(pod: &Value, c: &Value) -> Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = Vec::new();
    for (i, e) in c["env"].as_array().into_iter().flatten().enumerate() {
        let name = e["name"]
            .as_str()
            .ok_or_else(|| anyhow!("env[{i}] has no name"))?
            .to_string();
        let value = if let Some(v) = e["value"].as_str() {
            let lookup = |var: &str| {
                env.iter()
                    .rev()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.clone())
            };
            expand(v, &lookup)
        } else if let Some(from) = e.get("valueFrom") {
            match from["fieldRef"]["fieldPath"].as_str() {
                Some(field) => field_ref(pod, field)?,
                None => bail!("env {name}: valueFrom {from} is not supported by the pod sandbox"),
            }
        } else {
            String::new()
        };
        env.push((name, value));
    }
    Ok(env)
}

/// Kubernetes variable expansion: `$(VAR)` → value when defined (else kept), `$$` → `$`.
fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let var = &inner[..end];
                    match lookup(var) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(var);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The deepest existing host directory on the way to `path` (symlinks resolved) and the
/// components below it that do not exist.
fn split_existing(path: &Path) -> Result<(PathBuf, Vec<String>)> {
    let mut existing = PathBuf::from("/");
    let mut missing = Vec::new();
    for comp in path.components() {
        let Component::Normal(n) = comp else { continue };
        if !missing.is_empty() {
            missing.push(n.to_string_lossy().into_owned());
            continue;
        }
        let next = existing.join(n);
        match std::fs::metadata(&next) {
            Ok(md) if md.is_dir() => {
                existing = next
                    .canonicalize()
                    .with_context(|| format!("resolving {}", next.display()))?;
            }
            Ok(_) => bail!(
                "{} exists on the host and is not a directory",
                next.display()
            ),
            Err(_) => missing.push(n.to_string_lossy().into_owned()),
        }
    }
    Ok((existing, missing))
}

/// Commands that recreate host directory `dir`'s entries at `target` (already a directory),
/// except the entry named `except`.
fn replicate_entries(
    script: &mut String,
    dir: &Path,
    target: &str,
    except: Option<&str>,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if except == Some(name.as_str()) {
            continue;
        }
        let src = dir.join(&name);
        let dst = format!("{target}/{name}");
        let ft = e.file_type()?;
        if ft.is_symlink() {
            let link = std::fs::read_link(&src)?;
            script.push_str(&format!(
                "ln -s {} {}\n",
                sh_quote(&link.to_string_lossy()),
                sh_quote(&dst)
            ));
        } else if ft.is_dir() {
            script.push_str(&format!(
                "mkdir {d}\nmount --rbind {s} {d}\n",
                d = sh_quote(&dst),
                s = sh_quote(&src.to_string_lossy())
            ));
        } else {
            script.push_str(&format!(
                ": > {d}\nmount --bind {s} {d}\n",
                d = sh_quote(&dst),
                s = sh_quote(&src.to_string_lossy())
            ));
        }
    }
    Ok(())
}

/// Commands that show host file `m.host` at `m.path` inside root `r`. The directory holding it
/// is shadowed by a tmpfs (its other host entries bound back in) so that the file is created
/// there, never on the host, and so that a host file of that name is hidden, not written to.
fn file_mount(script: &mut String, r: &str, m: &Mount, shadowed: &mut Vec<PathBuf>) -> Result<()> {
    let (Some(parent), Some(file_name)) = (m.path.parent(), m.path.file_name()) else {
        bail!("{} cannot hold a file mount", m.path.display());
    };
    let file_name = file_name.to_string_lossy().into_owned();
    let (existing, missing) = split_existing(parent)?;
    if existing == Path::new("/") && missing.is_empty() {
        bail!(
            "{}: the sandbox cannot add a file directly under /",
            m.path.display()
        );
    }
    if shadowed.contains(&existing) {
        bail!(
            "{}: a volume is already mounted in {}, the sandbox cannot add a file there",
            m.path.display(),
            existing.display()
        );
    }
    if existing != Path::new("/") {
        let target = format!("{r}{}", existing.display());
        script.push_str(&format!(
            "mount -t tmpfs -o mode=0755 vk-sandbox-shadow {}\n",
            sh_quote(&target)
        ));
        let except = missing.is_empty().then_some(file_name.as_str());
        replicate_entries(script, &existing, &target, except)?;
        shadowed.push(existing.clone());
    }
    let mut inside = existing;
    for part in &missing {
        inside.push(part);
    }
    let dir = format!("{r}{}", inside.display());
    let target = format!("{dir}/{file_name}");
    script.push_str(&format!(
        "mkdir -p {d}\n: > {t}\nmount --bind {h} {t}\n",
        d = sh_quote(&dir),
        t = sh_quote(&target),
        h = sh_quote(&m.host.to_string_lossy())
    ));
    if m.read_only {
        script.push_str(&format!("mount -o remount,bind,ro {}\n", sh_quote(&target)));
    }
    Ok(())
}

fn mount_script(root: &Path, mounts: &[Mount], read_only_root: bool) -> Result<String> {
    let r = root.to_string_lossy().into_owned();
    let mut s = String::new();
    s.push_str("# vk-test-utils pod sandbox: runs inside a private mount namespace.\n");
    s.push_str(&format!(
        "mount -t tmpfs -o mode=0755 vk-sandbox-root {}\n",
        sh_quote(&r)
    ));
    replicate_entries(&mut s, Path::new("/"), &r, None)?;
    let mut shadowed: Vec<PathBuf> = Vec::new();
    for m in mounts {
        if m.file {
            file_mount(&mut s, &r, m, &mut shadowed)?;
            continue;
        }
        let (existing, missing) = split_existing(&m.path)?;
        if !missing.is_empty() && existing != Path::new("/") && !shadowed.contains(&existing) {
            let target = format!("{r}{}", existing.display());
            s.push_str(&format!(
                "mount -t tmpfs -o mode=0755 vk-sandbox-shadow {}\n",
                sh_quote(&target)
            ));
            replicate_entries(&mut s, &existing, &target, None)?;
            shadowed.push(existing.clone());
        }
        let mut inside = existing.clone();
        for part in &missing {
            inside.push(part);
        }
        let target = format!("{r}{}", inside.display());
        let host = m.host.to_string_lossy().into_owned();
        s.push_str(&format!(
            "mkdir -p {t}\nmount --bind {h} {t}\n",
            t = sh_quote(&target),
            h = sh_quote(&host)
        ));
        if m.read_only {
            s.push_str(&format!("mount -o remount,bind,ro {}\n", sh_quote(&target)));
        }
    }
    if read_only_root {
        s.push_str(&format!("mount -o remount,ro {}\n", sh_quote(&r)));
    }
    s.push_str("exec \"$@\"\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let lookup = |v: &str| (v == "A").then(|| "x".to_string());
        assert_eq!(
            expand("$(A)-$(B)-$$(A)-${A}-$", &lookup),
            "x-$(B)-$(A)-${A}-$"
        );
        assert_eq!(expand("$(A", &lookup), "$(A");
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "namespace": "ns1", "labels": {"app": "demo"}},
            "spec": {
                "volumes": [
                    {"name": "data", "emptyDir": {}},
                    {"name": "sa", "projected": {"sources": [
                        {"serviceAccountToken": {"path": "token"}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
                    ]}}
                ],
                "containers": [{
                    "name": "c",
                    "command": ["/bin/sh", "-ec"],
                    "args": ["echo \"$NS $IP $APP $(GREETING)\" > /vault/secrets/out; cat /var/run/secrets/kubernetes.io/serviceaccount/token; id -u; echo hi >> /vault/secrets/out; vault version | head -c 7; touch /var/run/secrets/kubernetes.io/serviceaccount/x 2>/dev/null && echo rw || echo ro"],
                    "env": [
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                        {"name": "GREETING", "value": "hello-$(NS)"}
                    ],
                    "securityContext": {"runAsUser": 100, "runAsGroup": 1000},
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/vault/secrets"},
                        {"name": "sa", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
                    ]
                }]
            }
        })
    }

    #[test]
    fn runs_a_container_with_real_paths_and_leaves_nothing_behind() {
        let existed = Path::new("/vault").exists() || Path::new("/run/secrets").exists();
        let mut sb = PodSandbox::new(&pod()).unwrap();
        sb.set_service_account_token("tok-123").unwrap();
        let run = sb.run("c").unwrap();
        assert!(run.success(), "{}", run.describe());
        assert_eq!(
            run.output.stdout_str(),
            "tok-123100\nOpenBaoro\n",
            "{}",
            run.describe()
        );
        let out =
            std::fs::read_to_string(sb.host_path("c", "/vault/secrets/out").unwrap()).unwrap();
        assert_eq!(out, "ns1 127.0.0.1 demo hello-ns1\nhi\n");
        let ns = std::fs::read_to_string(sb.volume_dir("sa").unwrap().join("namespace")).unwrap();
        assert_eq!(ns, "ns1");
        if !existed {
            assert!(!Path::new("/vault").exists(), "/vault leaked onto the host");
            assert!(
                !Path::new("/run/secrets").exists(),
                "/run/secrets leaked onto the host"
            );
        }
    }

    #[test]
    fn agent_binary_appears_at_the_image_path_without_touching_the_host() {
        use std::os::unix::fs::PermissionsExt;
        let host_had_it = Path::new(AGENT_BINARY_PATH).exists();
        let host_entries: Vec<String> = std::fs::read_dir("/usr/local/bin")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "vault-k8s")
                    .collect()
            })
            .unwrap_or_default();
        let scripts = tempfile::tempdir().unwrap();
        let fake = scripts.path().join("fake-agent");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho \"fake agent: $*\"\nls /usr/local/bin\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

        let mut p = pod();
        p["spec"]["containers"][0]["command"] = json!([AGENT_BINARY_PATH]);
        p["spec"]["containers"][0]["args"] = json!(["agent", "-x=$(GREETING)"]);
        let mut sb = PodSandbox::new(&p).unwrap();
        let err = sb.run("c").expect_err("no agent binary set");
        assert!(format!("{err:#}").contains("set_agent_binary"), "{err:#}");

        sb.set_agent_binary(&fake);
        let run = sb.run("c").unwrap();
        assert!(run.success(), "{}", run.describe());
        let out = run.output.stdout_str();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("fake agent: agent -x=hello-ns1"));
        let listed: Vec<&str> = lines.collect();
        assert!(listed.contains(&"vault-k8s"), "{listed:?}");
        for entry in &host_entries {
            assert!(
                listed.contains(&entry.as_str()),
                "host entry {entry} hidden: {listed:?}"
            );
        }
        if !host_had_it {
            assert!(
                !Path::new(AGENT_BINARY_PATH).exists(),
                "{AGENT_BINARY_PATH} leaked onto the host"
            );
        }
        // The container cannot overwrite the binary (read-only bind, not its owner).
        let run = sb
            .run_with_command("c", &["/bin/sh", "-c", "echo x > /usr/local/bin/vault-k8s"])
            .unwrap();
        assert!(!run.success(), "{}", run.describe());
        assert!(
            std::fs::read_to_string(&fake)
                .unwrap()
                .starts_with("#!/bin/sh")
        );
    }

    #[test]
    fn timeout_kills_the_container() {
        let mut p = pod();
        p["spec"]["containers"][0]["args"] = json!(["sleep 30"]);
        let mut sb = PodSandbox::new(&p).unwrap();
        sb.set_timeout(Duration::from_millis(500));
        let start = std::time::Instant::now();
        let run = sb.run("c").unwrap();
        assert!(run.output.timed_out && !run.success());
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
