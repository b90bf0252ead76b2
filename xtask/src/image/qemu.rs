//! `cargo xtask image qemu`: runs the linux/arm64 binary on this amd64 host under Debian's
//! `qemu-aarch64-static` (user-mode emulation, no binfmt_misc needed) and compares it with the
//! amd64 binary: `version`, `agent-inject render` of the guide's `webapp` pod (byte-identical
//! output), and one `agent` run against a real OpenBao dev server. Prints each step's time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, ensure};

use super::arch::{self, Arch};
use super::meta;
use crate::bench::agent::vault::{DevServer, ROOT_TOKEN};
use crate::cli::ImageQemuArgs;

const QEMU: &str = "qemu-aarch64-static";

pub(crate) fn run(args: &ImageQemuArgs) -> Result<()> {
    let qemu = meta::need_tool(
        QEMU,
        "install it with `apt-get install -y qemu-user-static` (or run `cargo xtask tools`)",
    )?;
    let amd64 = arch::binary(Arch::Amd64, args.binary.as_deref(), None)?;
    let arm64 = arch::binary(Arch::Arm64, args.binary_arm64.as_deref(), None)?;
    let bao = crate::tools::ensure_bao()?;
    let runner = Runner { qemu, amd64, arm64 };
    println!("image qemu: linux/arm64 {}", runner.arm64.display());

    // 1. version: identical but for the target line.
    let (a, t_amd) = runner.run(Arch::Amd64, &["version"], None)?;
    let (b, t_arm) = runner.run(Arch::Arm64, &["version"], None)?;
    let strip_target = |o: &Output| -> String {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with("target: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    ensure!(
        strip_target(&a) == strip_target(&b),
        "`version` differs:\namd64: {}\narm64: {}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    let arm_text = String::from_utf8_lossy(&b.stdout);
    ensure!(
        arm_text.contains("target: aarch64-unknown-linux-musl"),
        "the arm64 binary does not say its target: {arm_text}"
    );
    ok(
        &format!(
            "version: same lines, target aarch64-unknown-linux-musl ({})",
            arm_text.lines().next().unwrap_or("")
        ),
        t_amd,
        t_arm,
    );

    // 2. render the guide's pod: byte-identical.
    let pod = meta::root().join("crates/vk-test-utils/fixtures/webapp-pod.yaml");
    let pod_arg = format!("-f={}", pod.display());
    let render = [
        "agent-inject",
        "render",
        "-vault-address=https://vault.vault.svc:8200",
        pod_arg.as_str(),
    ];
    let (a, t_amd) = runner.run(Arch::Amd64, &render, None)?;
    let (b, t_arm) = runner.run(Arch::Arm64, &render, None)?;
    ensure!(
        !a.stdout.is_empty() && a.stdout == b.stdout,
        "`agent-inject render` of {} differs between amd64 ({} B) and arm64 ({} B)",
        pod.display(),
        a.stdout.len(),
        b.stdout.len()
    );
    ok(
        &format!(
            "agent-inject render of the webapp pod: {} B, byte-identical",
            a.stdout.len()
        ),
        t_amd,
        t_arm,
    );

    // 3. one agent run against OpenBao (token_file auth, exit_after_auth, one KV v2 template).
    let work = meta::scratch("image-qemu")?;
    let server = DevServer::start(&bao, &work.join("bao.log"))?;
    server.seed(1)?;
    let token = work.join("token");
    std::fs::write(&token, ROOT_TOKEN)?;
    for a in [Arch::Amd64, Arch::Arm64] {
        let dir = work.join(a.oci());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
    }
    let config = work.join("agent.hcl");
    std::fs::write(
        &config,
        format!(
            r#"exit_after_auth = true
vault {{
  address = "http://{}"
}}
auto_auth {{
  method "token_file" {{
    config {{
      token_file_path = "{}"
    }}
  }}
}}
template_config {{
  exit_on_retry_failure = true
}}
template {{
  contents    = "{{{{ with secret \"secret/data/bench/1\" }}}}{{{{ .Data.data.username }}}}:{{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "out/secret"
}}
"#,
            server.addr,
            token.display()
        ),
    )?;
    let config_arg = format!("-config={}", config.display());
    let mut times = Vec::new();
    for a in [Arch::Amd64, Arch::Arm64] {
        let dir = work.join(a.oci());
        let (out, t) = runner.run(a, &["agent", &config_arg], Some(&dir))?;
        ensure!(
            out.status.success(),
            "linux/{} `agent` exited with {}:\n{}",
            a.oci(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read_to_string(dir.join("out/secret"))
            .with_context(|| format!("the linux/{} agent wrote no out/secret", a.oci()))?;
        ensure!(
            got == "user-1:pw-1",
            "the linux/{} agent rendered {got:?}",
            a.oci()
        );
        times.push(t);
    }
    drop(server);
    ok(
        "agent against OpenBao: both rendered secret/bench/1 and exited 0",
        times[0],
        times[1],
    );
    println!("image qemu: all checks passed");
    Ok(())
}

fn ok(what: &str, amd64: f64, arm64: f64) {
    println!("  ok  {what}  [amd64 native {amd64:.3} s, arm64 under qemu {arm64:.3} s]");
}

struct Runner {
    qemu: PathBuf,
    amd64: PathBuf,
    arm64: PathBuf,
}

impl Runner {
    /// Runs the binary of `arch` (arm64 through qemu); returns its output and wall time.
    fn run(&self, arch: Arch, args: &[&str], cwd: Option<&Path>) -> Result<(Output, f64)> {
        let mut cmd = match arch {
            Arch::Amd64 => Command::new(&self.amd64),
            Arch::Arm64 => {
                let mut c = Command::new(&self.qemu);
                c.arg(&self.arm64);
                c
            }
        };
        cmd.args(args).stdin(Stdio::null());
        for var in [
            "VAULT_ADDR",
            "VAULT_TOKEN",
            "BAO_ADDR",
            "BAO_TOKEN",
            "VAULT_CONFIG",
        ] {
            cmd.env_remove(var);
        }
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        let start = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {}", meta::show(&cmd)))?;
        let t = start.elapsed().as_secs_f64();
        ensure!(
            out.status.success() || args.first() == Some(&"agent"),
            "{} failed ({}): {}",
            meta::show(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out, t))
    }
}
