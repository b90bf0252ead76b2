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
//!
//! The pure Kubernetes reading of the pod (container lookup, env with `$(VAR)` expansion and
//! `fieldRef`, command line, user/group, volume mounts, projected files) is in `pod_spec`; the
//! mount script is built in `mounts`; this file creates the host side and runs the process.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tempfile::TempDir;

use crate::util::{TimedOutput, run_with_timeout};

mod mounts;
mod pod_spec;
#[cfg(test)]
mod tests;

use mounts::{Mount, mount_script};
use pod_spec::{
    container_argv, container_env, downward_api_files, find_container, run_as,
    service_account_token_paths, volume_mounts,
};

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
            for (path, value) in downward_api_files(pod, vol)? {
                write_file(&host, &path, value.as_bytes())?;
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
        let targets = service_account_token_paths(&self.pod);
        for (volume, path) in &targets {
            self.set_file(volume, path, token.as_bytes())?;
        }
        anyhow::ensure!(
            !targets.is_empty(),
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
        let (mut cmd, _run_dir) = self.command(name, command_override)?;
        let output = run_with_timeout(&mut cmd, self.timeout)
            .with_context(|| format!("running container {name} in the pod sandbox"))?;
        Ok(SandboxRun {
            output,
            volumes: self.volumes.clone(),
        })
    }

    /// Starts container `name` in the background (a long-running sidecar), as [`PodSandbox::run`]
    /// would run it; stop it with [`SandboxProcess::terminate`] and [`SandboxProcess::wait`].
    pub fn spawn(&self, name: &str) -> Result<SandboxProcess> {
        use std::os::unix::process::CommandExt;
        let (mut cmd, run_dir) = self.command(name, None)?;
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning container {name} in the pod sandbox"))?;
        let out = crate::util::drain(child.stdout.take());
        let err = crate::util::drain(child.stderr.take());
        Ok(SandboxProcess {
            name: name.to_string(),
            child,
            out: Some(out),
            err: Some(err),
            _run_dir: run_dir,
        })
    }

    /// Runs the `exec` command of container `name`'s `probe` (`startupProbe`, `readinessProbe`,
    /// `livenessProbe`) the way the kubelet execs it: in the container's mounts, user and
    /// environment (a fresh namespace over the same volumes, like `kubectl exec`).
    pub fn probe(&self, name: &str, probe: &str) -> Result<SandboxRun> {
        let c = find_container(&self.pod, name)?;
        let command: Vec<String> = c[probe]["exec"]["command"]
            .as_array()
            .ok_or_else(|| anyhow!("container {name} has no {probe}.exec.command"))?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| anyhow!("container {name}: {probe}.exec.command holds a non-string"))?;
        self.run_inner(name, Some(command))
    }

    /// The `unshare … chroot … COMMAND` command line of container `name`, and the per-run
    /// scratch dir it needs while it runs.
    fn command(
        &self,
        name: &str,
        command_override: Option<Vec<String>>,
    ) -> Result<(Command, TempDir)> {
        let c = find_container(&self.pod, name)?;
        let env = container_env(&self.pod, c)?;
        let argv: Vec<String> = match command_override {
            Some(cmd) => cmd,
            None => container_argv(c, &env),
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
        for vm in volume_mounts(name, c)? {
            let vname = &vm.volume;
            let mut host = self
                .volumes
                .get(vname)
                .ok_or_else(|| anyhow!("container {name}: mount {vname:?} names no pod volume"))?
                .clone();
            if let Some(sub) = &vm.sub_path {
                host = host.join(sub);
                std::fs::create_dir_all(&host)?;
            }
            mounts.push(Mount {
                host,
                path: vm.mount_path,
                read_only: vm.read_only,
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

        let (uid, gid) = run_as(&self.pod, c);
        let script = mount_script(
            &root,
            &mounts,
            c["securityContext"]["readOnlyRootFilesystem"].as_bool() == Some(true),
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
        Ok((cmd, run_dir))
    }
}

/// A container started with [`PodSandbox::spawn`]; killed (with everything in its PID
/// namespace) when dropped.
#[derive(Debug)]
pub struct SandboxProcess {
    name: String,
    child: std::process::Child,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
    _run_dir: TempDir,
}

impl SandboxProcess {
    /// True while the container's process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM to the container's first process (PID 1 of its PID namespace, as the
    /// kubelet's runtime does when a pod ends; `unshare` itself does not forward signals).
    pub fn terminate(&self) -> Result<()> {
        let init = crate::util::child_pids(self.child.id());
        anyhow::ensure!(
            !init.is_empty(),
            "container {} has no process to signal",
            self.name
        );
        for pid in init {
            let status = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .context("running kill")?;
            anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        }
        Ok(())
    }

    /// Waits up to `timeout` for the container to exit (killing it after that) and returns
    /// its exit status and output.
    pub fn wait(mut self, timeout: Duration) -> Result<crate::util::TimedOutput> {
        let deadline = std::time::Instant::now() + timeout;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                timed_out = true;
                self.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        crate::util::kill_process_group(self.child.id());
        let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        Ok(crate::util::TimedOutput {
            status,
            stdout: join(self.out.take()),
            stderr: join(self.err.take()),
            timed_out,
        })
    }

    fn kill(&mut self) {
        for pid in crate::util::child_pids(self.child.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        crate::util::kill_process_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
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
