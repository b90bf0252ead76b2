//! `cargo xtask chart`: keeps `charts/vault-k8s` in step with the workspace and checks it.
//!
//! ```text
//! cargo xtask chart sync                  # Chart.yaml version/appVersion = workspace version
//! cargo xtask chart check [--binary PATH] [--skip-checkov]
//! cargo xtask chart package [--out DIR]   # deterministic dist/vault-k8s-<version>.tgz
//! ```
//!
//! `check` runs: helm lint --strict (default, production and ci/ values), the expected
//! template failures (two TLS modes, vault-helm switches the chart cannot honour, …), helm
//! template with the default, production and ci/ values for Kubernetes 1.29 and 1.35
//! validated by kubernetes-validate --strict, the wiring between the rendered objects
//! (`render`), checkov (kubernetes on the rendered YAML, helm on the chart), and, when a
//! vault-k8s binary is built, starts it with the rendered container args and env to prove
//! the binary accepts them (`binary`).

mod binary;
mod render;
mod vault_helm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};

use crate::cli::{ChartAction, ChartCheckArgs};
use crate::image::{meta, tar};

const KUBE_VERSIONS: [&str; 2] = ["1.29.0", "1.35.0"];

pub(crate) fn run(action: ChartAction) -> Result<()> {
    match action {
        ChartAction::Sync => sync().map(|_| ()),
        ChartAction::Check(args) => check(&args),
        ChartAction::Package { out } => {
            let out = out.unwrap_or_else(|| meta::root().join("dist"));
            let p = package(&out)?;
            println!("{}", p.display());
            Ok(())
        }
    }
}

pub(crate) fn chart_dir() -> PathBuf {
    meta::root().join("charts").join("vault-k8s")
}

/// Rewrites `version:` and `appVersion:` in Chart.yaml to the workspace version.
/// Returns the version.
pub(crate) fn sync() -> Result<String> {
    let version = meta::build_meta()?.version;
    let path = chart_dir().join("Chart.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("version:") {
            out.push_str(&format!("version: {version}\n"));
        } else if line.starts_with("appVersion:") {
            out.push_str(&format!("appVersion: \"{version}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if out != text {
        std::fs::write(&path, &out)?;
        eprintln!("chart: Chart.yaml version/appVersion set to {version}");
    }
    Ok(version)
}

fn helm() -> Result<Command> {
    let bin = meta::need_tool(
        "helm",
        "run `cargo xtask tools` (installs helm into .tools/bin)",
    )?;
    let mut c = Command::new(bin);
    // Keep helm's caches out of $HOME.
    let home = meta::scratch("helm-home")?;
    c.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    Ok(c)
}

/// Python tool from a venv under .tools, installed on first use.
/// kubernetes-validate in `.tools/venv-kv`, installed if missing (the chart check, the tests
/// that validate patched pods and the install walkthrough use it; `cargo xtask tools` installs it).
pub(crate) fn kubernetes_validate_venv() -> Result<PathBuf> {
    venv_tool(
        "venv-kv",
        "kubernetes-validate==1.37.0",
        "kubernetes-validate",
    )
}

fn venv_tool(venv: &str, package: &str, exe: &str) -> Result<PathBuf> {
    let dir = meta::root().join(".tools").join(venv);
    let bin = dir.join("bin").join(exe);
    if !bin.is_file() {
        eprintln!("chart: installing {package} into .tools/{venv}");
        meta::output(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
        meta::output(Command::new(dir.join("bin/pip")).args(["install", "-q", package]))
            .with_context(|| format!("pip install {package} failed (PyPI must be reachable)"))?;
    }
    Ok(bin)
}

/// The values sets every check runs with: (label, values files).
fn value_sets() -> Result<Vec<(String, Vec<PathBuf>)>> {
    let dir = chart_dir();
    let mut sets = vec![
        ("default".to_string(), vec![]),
        (
            "production".to_string(),
            vec![dir.join("values-production.yaml")],
        ),
    ];
    let mut ci: Vec<PathBuf> = std::fs::read_dir(dir.join("ci"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    ci.sort();
    for p in ci {
        let name = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("ci")
            .to_string();
        sets.push((format!("ci/{name}"), vec![p]));
    }
    Ok(sets)
}

fn ok(what: &str) {
    println!("  ok  {what}");
}

pub(crate) fn check(args: &ChartCheckArgs) -> Result<()> {
    let binary = args.binary.clone();
    let checkov = !args.skip_checkov;
    sync()?;
    let dir = chart_dir();
    let work = meta::scratch("chart")?;
    println!("chart check: {}", dir.display());

    // 1. lint (helm lint turns `fail` into a no-op, so the default values lint cleanly too).
    for (label, files) in &value_sets()? {
        let mut c = helm()?;
        c.args(["lint", "--strict"]).arg(&dir);
        for f in files {
            c.arg("-f").arg(f);
        }
        meta::output(&mut c).with_context(|| format!("helm lint --strict with {label} values"))?;
        ok(&format!("helm lint --strict ({label} values)"));
    }

    // 2. the settings that must be refused, with the message users will see.
    for (label, sets, want) in [
        (
            "two TLS modes",
            vec![
                "injector.certs.secretName=x",
                "injector.certManager.enabled=true",
            ],
            "choose ONE TLS mode",
        ),
        (
            "Secret without CA bundle",
            vec!["injector.certs.secretName=x"],
            "caBundle is empty",
        ),
        (
            "bad enum",
            vec![
                "injector.certManager.enabled=true",
                "injector.webhook.failurePolicy=Sometimes",
            ],
            "failurePolicy",
        ),
        (
            "PodSecurityPolicy (vault-helm global.psp.enable)",
            vec!["global.psp.enable=true"],
            "global.psp.enable",
        ),
        (
            "a Vault server (vault-helm server.enabled)",
            vec!["server.enabled=true"],
            "server.enabled",
        ),
        (
            "the CSI provider (vault-helm csi.enabled)",
            vec!["csi.enabled=true"],
            "csi.enabled",
        ),
        (
            "a templated selector that is not a map",
            vec!["injector.webhook.objectSelector=just-a-string"],
            "injector.webhook.objectSelector is a string that does not render to a YAML map",
        ),
        (
            "an unknown injector key (vault-helm < 0.19 leaderElector.ttl)",
            vec!["injector.leaderElector.ttl=60s"],
            "ttl",
        ),
    ] {
        let mut c = helm()?;
        c.args(["template", "t"]).arg(&dir);
        for s in sets {
            c.args(["--set", s]);
        }
        let o = c.stdin(Stdio::null()).output()?;
        let err = String::from_utf8_lossy(&o.stderr);
        ensure!(
            !o.status.success() && err.contains(want),
            "helm template with {label} should fail mentioning {want:?}; got {}: {err}",
            o.status
        );
        ok(&format!("helm template refuses {label}"));
    }

    // The install notes name a deprecated vault-helm key that loses against its
    // injector.webhook.* counterpart (rendering succeeds, as in vault-helm, but not silently).
    let notes = meta::output(
        helm()?
            .args([
                "install",
                "vault",
                "--dry-run=client",
                "--namespace",
                "vault",
            ])
            .arg(&dir)
            .arg("-f")
            .arg(dir.join("ci/vault-helm-values.yaml")),
    )
    .context("helm install --dry-run=client with ci/vault-helm-values.yaml")?;
    let want = "injector.failurePolicy (deprecated) has no effect";
    ensure!(
        notes.contains(want),
        "the install notes should say {want:?}:\n{notes}"
    );
    ok("install notes name the deprecated vault-helm key that has no effect");

    // 3. render for each Kubernetes version and validate strictly.
    let kv = kubernetes_validate_venv()?;
    let mut rendered = Vec::new();
    for (label, files) in value_sets()? {
        for k in KUBE_VERSIONS {
            let mut c = helm()?;
            c.args(["template", "vault"]).arg(&dir).args([
                "--namespace",
                "vault",
                "--kube-version",
                k,
            ]);
            for f in &files {
                c.arg("-f").arg(f);
            }
            let yaml = meta::output(&mut c)
                .with_context(|| format!("helm template ({label}, Kubernetes {k})"))?;
            let file = work.join(format!("{}-{k}.yaml", label.replace('/', "-")));
            std::fs::write(&file, format!("{yaml}\n"))?;
            let out = meta::output(Command::new(&kv).args(["-k", k, "--strict"]).arg(&file))
                .with_context(|| format!("kubernetes-validate {k} --strict on {label}"))?;
            let passed = out.lines().filter(|l| l.contains("passed")).count();
            ok(&format!(
                "helm template ({label}) validates against Kubernetes {k} --strict ({passed} objects; CRD objects have no schema)"
            ));
            if k == KUBE_VERSIONS[1] {
                let mode = render::check_wiring(&file)
                    .with_context(|| format!("wiring of the objects rendered with {label}"))?;
                ok(&format!("wiring ({label}): {mode}"));
                if label == "ci/vault-helm-values" {
                    render::check_vault_helm_effect(&file)
                        .context("ci/vault-helm-values.yaml does not have vault-helm's effect")?;
                    ok(
                        "vault-helm values have vault-helm's effect (address precedence, deprecated keys, vault.name templates, pull secrets)",
                    );
                    vault_helm::check_against_vault_helm(&file).context(
                        "ci/vault-helm-values.yaml does not give the env and args vault-helm gives",
                    )?;
                    ok(
                        "vault-helm values: injector env and args as vault-helm 0.34.1 gives them (docs/migration.md)",
                    );
                }
            }
            rendered.push((label.clone(), k, file));
        }
    }

    // 4. checkov: no failed check; every accepted finding is annotated in the chart.
    if checkov {
        let ck = venv_tool("venv-checkov", "checkov", "checkov")?;
        let mut c = Command::new(&ck);
        c.args([
            "--framework",
            "kubernetes",
            "--compact",
            "--quiet",
            "--skip-download",
        ]);
        for (_, _, f) in &rendered {
            c.arg("-f").arg(f);
        }
        let out =
            meta::output(&mut c).context("checkov --framework kubernetes found failed checks")?;
        ok(&format!("checkov kubernetes: {}", summary_line(&out)));
        for vf in [
            "ci/secret-values.yaml",
            "ci/full-values.yaml",
            "ci/vault-helm-values.yaml",
        ] {
            let mut c = Command::new(&ck);
            // checkov's helm runner calls `helm` from PATH.
            let path = format!(
                "{}:{}",
                crate::util::tools_bin().display(),
                std::env::var("PATH").unwrap_or_default()
            );
            c.env("PATH", path)
                .args([
                    "--framework",
                    "helm",
                    "--compact",
                    "--quiet",
                    "--skip-download",
                    "-d",
                ])
                .arg(&dir)
                .arg("--var-file")
                .arg(dir.join(vf));
            let out = meta::output(&mut c)
                .with_context(|| format!("checkov --framework helm ({vf}) found failed checks"))?;
            ensure!(
                out.contains("Passed checks"),
                "checkov --framework helm ({vf}) scanned nothing:\n{out}"
            );
            ok(&format!("checkov helm ({vf}): {}", summary_line(&out)));
        }
    }

    // 5. the binary accepts the rendered container args and env.
    let bin = binary.or_else(find_binary);
    match bin {
        Some(b) => {
            // Every set runs, so one report shows each configuration the binary refuses.
            let mut refused = Vec::new();
            for (label, k, f) in &rendered {
                if *k != KUBE_VERSIONS[1] {
                    continue;
                }
                match binary::run_rendered(&b, f) {
                    Ok(how) => ok(&format!(
                        "{} agent-inject with the args/env rendered with {label}: {how}",
                        b.display()
                    )),
                    Err(e) => {
                        println!("  FAIL the binary with the container of {label}");
                        refused.push(format!("{label}: {e:#}"));
                    }
                }
            }
            ensure!(
                refused.is_empty(),
                "{} refused {} rendered configuration(s):\n{}",
                b.display(),
                refused.len(),
                refused.join("\n")
            );
        }
        None => println!(
            "  skip binary check: no vault-k8s binary built (cargo build -p vault-k8s, or --binary PATH)"
        ),
    }
    println!("chart check: all checks passed");
    Ok(())
}

fn summary_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains("Passed checks"))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn find_binary() -> Option<PathBuf> {
    let t = meta::target_dir();
    let main_target = meta::root().join("target");
    [
        t.join(crate::image::MUSL).join("release/vault-k8s"),
        t.join("release/vault-k8s"),
        t.join("debug/vault-k8s"),
        main_target
            .join(crate::image::MUSL)
            .join("release/vault-k8s"),
        main_target.join("release/vault-k8s"),
        main_target.join("debug/vault-k8s"),
    ]
    .into_iter()
    .filter(|p| p.is_file())
    .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

/// Packages the chart as `<out>/vault-k8s-<version>.tgz`. Written with the project's own
/// deterministic tar+gzip (helm package stamps the current time), then read back with helm.
pub(crate) fn package(out: &Path) -> Result<PathBuf> {
    let version = sync()?;
    let m = meta::build_meta()?;
    let dir = chart_dir();
    let ignore = std::fs::read_to_string(dir.join(".helmignore")).unwrap_or_default();
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut entries = Vec::new();
    collect(&dir, "", &patterns, &mut entries)?;
    let mut entries: Vec<tar::Entry> = entries
        .into_iter()
        .map(|(rel, data)| tar::Entry::file(&format!("vault-k8s/{rel}"), 0o644, data))
        .collect();
    tar::add_parent_dirs(&mut entries);
    tar::sort_tree_order(&mut entries);
    let tgz = crate::image::compress::gzip(&tar::write(&entries, m.epoch)?, 9)?;
    let path = out.join(format!("vault-k8s-{version}.tgz"));
    meta::write(&path, &tgz)?;
    let shown = meta::output(helm()?.arg("show").arg("chart").arg(&path))?;
    let app = shown.contains(&format!("appVersion: {version}"))
        || shown.contains(&format!("appVersion: \"{version}\""));
    ensure!(
        shown.contains(&format!("version: {version}")) && app,
        "packaged Chart.yaml does not carry version {version}:\n{shown}"
    );
    Ok(path)
}

fn ignored(rel: &str, name: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| {
        let p = p.trim_end_matches('/');
        if let Some(suffix) = p.strip_prefix('*') {
            name.ends_with(suffix)
        } else {
            name == p || rel == p
        }
    })
}

fn collect(
    dir: &Path,
    rel: &str,
    patterns: &[&str],
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for n in names {
        let r = if rel.is_empty() {
            n.clone()
        } else {
            format!("{rel}/{n}")
        };
        if ignored(&r, &n, patterns) {
            continue;
        }
        let p = dir.join(&n);
        if p.is_dir() {
            collect(&p, &r, patterns, out)?;
        } else {
            out.push((r, std::fs::read(&p)?));
        }
    }
    Ok(())
}
