//! The kind walkthrough in docs/install.md, run up to where a cluster is needed: its heredocs
//! are written, `helm install` is rendered with `helm template`, every manifest applied is
//! validated with kubernetes-validate (`--strict`), `kubectl create` is run client-side, the
//! archive `kind load` reads is the one `cargo xtask image` writes, and every other command is
//! checked to be a real `kubectl`/`kind` subcommand with real flags where that can be done
//! offline.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::image::meta;

const BEGIN: &str = "<!-- walkthrough:begin -->";
const END: &str = "<!-- walkthrough:end -->";

/// One shell command of the walkthrough, continuation lines joined; a heredoc's body attached.
#[derive(Debug, PartialEq)]
pub(crate) struct Step {
    pub(crate) line: String,
    pub(crate) heredoc: Option<String>,
}

/// The commands of the ```bash blocks between the walkthrough markers.
pub(crate) fn steps(page: &str) -> Result<Vec<Step>> {
    let start = page
        .find(BEGIN)
        .context("docs/install.md has no walkthrough:begin marker")?;
    let end = page
        .find(END)
        .context("docs/install.md has no walkthrough:end marker")?;
    let mut out = Vec::new();
    let mut in_bash = false;
    let mut lines = page[start..end].lines();
    while let Some(line) = lines.next() {
        if !in_bash {
            in_bash = line.trim() == "```bash";
            continue;
        }
        if line.trim() == "```" {
            in_bash = false;
            continue;
        }
        let mut cmd = line.trim().to_string();
        while cmd.ends_with('\\') {
            cmd.pop();
            cmd.truncate(cmd.trim_end().len());
            let next = lines.next().context("a command ends in a backslash")?;
            cmd.push(' ');
            cmd.push_str(next.trim());
        }
        if cmd.is_empty() || cmd.starts_with('#') {
            continue;
        }
        let heredoc = if let Some((_, tag)) = cmd.split_once("<<'") {
            let tag = tag.trim_end_matches('\'').to_string();
            let mut body = String::new();
            loop {
                let l = lines
                    .next()
                    .with_context(|| format!("heredoc {tag} is not closed"))?;
                if l == tag {
                    break;
                }
                body.push_str(l);
                body.push('\n');
            }
            Some(body)
        } else {
            None
        };
        out.push(Step { line: cmd, heredoc });
    }
    ensure!(!out.is_empty(), "the walkthrough has no bash commands");
    Ok(out)
}

/// What running the walkthrough offline checked, for the report.
#[derive(Default, Debug)]
pub(crate) struct Ran {
    pub(crate) files: Vec<String>,
    pub(crate) validated: Vec<String>,
    pub(crate) rendered: usize,
    pub(crate) checked: usize,
}

/// Runs `steps` in `work` with the real tools (helm, kubectl, kubernetes-validate).
pub(crate) fn run(steps: &[Step], work: &Path, kv: &Path, version: &str) -> Result<Ran> {
    let mut ran = Ran::default();
    let helm = meta::need_tool("helm", "run `cargo xtask tools`")?;
    let kubectl = meta::need_tool("kubectl", "run `cargo xtask tools`")?;
    for step in steps {
        let words: Vec<&str> = step.line.split_whitespace().collect();
        let ctx = || format!("walkthrough command `{}`", step.line);
        // A file fed on stdin must have been written by an earlier step.
        if let Some(i) = words.iter().position(|w| *w == "<") {
            let file = words.get(i + 1).with_context(ctx)?;
            ensure!(
                work.join(file).is_file(),
                "{}: {file} was not written before",
                ctx()
            );
        }
        match (words.first().copied(), subcommand(&words)) {
            (Some("cat"), _) => {
                let file = words
                    .iter()
                    .position(|w| *w == ">")
                    .and_then(|i| words.get(i + 1))
                    .with_context(ctx)?;
                let body = step.heredoc.as_deref().with_context(ctx)?;
                std::fs::write(work.join(file), body)?;
                ran.files.push((*file).to_string());
            }
            (Some("cargo"), _) => {
                // Builds this repository's artifacts: checked to be real xtask commands.
                ensure!(
                    words.get(1) == Some(&"xtask")
                        && matches!(words.get(2), Some(&"image") | Some(&"chart")),
                    "{}: only `cargo xtask image` and `cargo xtask chart package` are expected",
                    ctx()
                );
                ran.checked += 1;
            }
            (Some("helm"), Some("install")) => {
                let yaml = helm_template(&helm, &words, version).with_context(ctx)?;
                let file = work.join("helm-install.yaml");
                std::fs::write(&file, &yaml)?;
                validate(kv, &file).with_context(ctx)?;
                check_chart_defaults(&yaml, version).with_context(ctx)?;
                ran.rendered += 1;
                ran.validated.push("helm install (as helm template)".into());
            }
            (Some("kubectl"), Some(verb @ ("apply" | "delete"))) if words.contains(&"-f") => {
                let file = words
                    .iter()
                    .position(|w| *w == "-f")
                    .and_then(|i| words.get(i + 1))
                    .with_context(ctx)?;
                let path = work.join(file);
                ensure!(path.is_file(), "{}: {file} was not written before", ctx());
                if verb == "apply" {
                    validate(kv, &path).with_context(ctx)?;
                    ran.validated.push((*file).to_string());
                }
            }
            (Some("kubectl"), Some("create")) => {
                // Client-side: prints the object without a cluster; validated like the rest.
                let out = meta::output(Command::new(&kubectl).args(&words[1..]).args([
                    "--dry-run=client",
                    "-o",
                    "yaml",
                ]))
                .with_context(ctx)?;
                let file = work.join(format!("kubectl-create-{}.yaml", ran.validated.len()));
                std::fs::write(&file, out)?;
                validate(kv, &file).with_context(ctx)?;
                ran.validated.push(words[1..].join(" "));
            }
            (Some("kubectl"), Some(sub)) => {
                // Needs the cluster: check the subcommand exists (its help prints offline).
                meta::output(Command::new(&kubectl).args([sub, "--help"])).with_context(ctx)?;
                ran.checked += 1;
            }
            (Some("kind"), Some("load")) => {
                let archive = words.get(3).with_context(ctx)?;
                check_archive_name(archive, version).with_context(ctx)?;
                ran.checked += 1;
            }
            (Some("kind"), Some("create" | "delete")) => ran.checked += 1,
            (Some("helm"), Some("uninstall")) => ran.checked += 1,
            _ => bail!("{}: the test does not know this command; teach it", ctx()),
        }
    }
    Ok(ran)
}

/// `cargo xtask docs walkthrough`: the page's walkthrough in a scratch directory.
pub(crate) fn run_page() -> Result<()> {
    let page = std::fs::read_to_string(meta::root().join("docs/install.md"))
        .context("reading docs/install.md")?;
    let steps = steps(&page)?;
    let work = meta::scratch("walkthrough")?;
    let kv = kubernetes_validate()?;
    let version = meta::build_meta()?.version;
    let ran = run(&steps, &work, &kv, &version)?;
    println!(
        "docs walkthrough: {} commands; wrote {}; validated {}; {} needing the cluster checked offline",
        steps.len(),
        ran.files.join(", "),
        ran.validated.join(", "),
        ran.checked
    );
    Ok(())
}

/// The first word after the tool that is not a flag (`kubectl -n vault exec …` → `exec`).
fn subcommand<'a>(words: &[&'a str]) -> Option<&'a str> {
    let mut rest = words.iter().skip(1);
    while let Some(w) = rest.next() {
        if matches!(*w, "-n" | "--namespace" | "--context") {
            rest.next();
        } else if !w.starts_with('-') {
            return Some(w);
        }
    }
    None
}

/// `helm install NAME CHART ARGS…` as `helm template`, the packaged chart read from the source.
fn helm_template(helm: &Path, words: &[&str], version: &str) -> Result<String> {
    let name = words
        .get(2)
        .context("helm install without a release name")?;
    let chart = words.get(3).context("helm install without a chart")?;
    let want = format!("dist/vault-k8s-{version}.tgz");
    ensure!(
        *chart == want,
        "the chart is {chart}, `cargo xtask chart package --out dist` writes {want}"
    );
    let mut c = Command::new(helm);
    c.args(["template", name])
        .arg(meta::root().join("charts/vault-k8s"))
        .args(&words[4..]);
    meta::output(&mut c)
}

/// The chart's defaults line up with the walkthrough: auto TLS, the kind-loaded image.
fn check_chart_defaults(yaml: &str, version: &str) -> Result<()> {
    let image = format!("image: \"localhost/vault-k8s:{version}\"");
    ensure!(
        yaml.contains(&image),
        "the injector image is not the loaded archive's tag ({image})"
    );
    ensure!(
        yaml.contains("AGENT_INJECT_TLS_AUTO"),
        "the chart's default is not auto TLS"
    );
    ensure!(
        yaml.contains("value: \"http://vault.vault.svc:8200\""),
        "AGENT_INJECT_VAULT_ADDR is not the dev Vault's Service"
    );
    Ok(())
}

/// The path `kind load image-archive` reads is the docker-archive `cargo xtask image` writes.
fn check_archive_name(archive: &str, _version: &str) -> Result<()> {
    let ok = crate::image::arch::ALL
        .iter()
        .any(|a| archive == format!("dist/images/vault-k8s-runtime-{}.docker.tar", a.oci()));
    ensure!(
        ok,
        "{archive} is not a runtime docker-archive that `cargo xtask image` writes"
    );
    Ok(())
}

fn validate(kv: &Path, file: &Path) -> Result<()> {
    // Through the venv's python, not the script's shebang: a venv made in another checkout
    // (the shared .tools) has a shebang naming that checkout's path.
    let python = kv.with_file_name("python3");
    meta::output(
        Command::new(python)
            .arg(kv)
            .args(["-k", "1.35.0", "--strict"])
            .arg(file),
    )
    .with_context(|| format!("kubernetes-validate --strict {}", file.display()))?;
    Ok(())
}

/// kubernetes-validate from `.tools/venv-kv` (installed by `cargo xtask tools`).
pub(crate) fn kubernetes_validate() -> Result<PathBuf> {
    let p = crate::util::tools_dir().join("venv-kv/bin/kubernetes-validate");
    ensure!(
        p.is_file(),
        "{} is missing: `cargo xtask tools` installs it",
        p.display()
    );
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        std::fs::read_to_string(meta::root().join("docs/install.md")).expect("docs/install.md")
    }

    #[test]
    fn install_walkthrough_runs_up_to_the_cluster() {
        let steps = steps(&page()).expect("steps");
        let work = std::env::temp_dir().join(format!("vk-walkthrough-{}", std::process::id()));
        std::fs::create_dir_all(&work).expect("work dir");
        let kv = kubernetes_validate().expect("kubernetes-validate");
        let version = meta::build_meta().expect("build meta").version;
        let ran = run(&steps, &work, &kv, &version);
        let _ = std::fs::remove_dir_all(&work);
        let ran = ran.expect("walkthrough");
        assert_eq!(
            ran.files,
            ["vault-dev.yaml", "webapp-policy.hcl", "webapp.yaml"],
            "{ran:?}"
        );
        assert_eq!(ran.rendered, 1, "{ran:?}");
        for want in [
            "vault-dev.yaml",
            "webapp.yaml",
            "create namespace vault",
            "create serviceaccount webapp",
        ] {
            assert!(
                ran.validated.iter().any(|v| v.contains(want)),
                "{want} not validated: {ran:?}"
            );
        }
    }

    #[test]
    fn steps_join_continuations_and_take_heredocs() {
        let page = format!(
            "{BEGIN}\n```bash\nkubectl apply \\\n  -f x.yaml\ncat > x.yaml <<'EOF'\na: 1\nEOF\n# note\n```\n{END}\n"
        );
        let s = steps(&page).expect("steps");
        assert_eq!(s[0].line, "kubectl apply -f x.yaml");
        assert_eq!(s[1].heredoc.as_deref(), Some("a: 1\n"));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn an_invalid_manifest_fails() {
        let work = std::env::temp_dir().join(format!("vk-walkthrough-bad-{}", std::process::id()));
        std::fs::create_dir_all(&work).expect("work dir");
        let steps = vec![
            Step {
                line: "cat > bad.yaml <<'EOF'".into(),
                heredoc: Some(
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containerz: []\n"
                        .into(),
                ),
            },
            Step {
                line: "kubectl apply -f bad.yaml".into(),
                heredoc: None,
            },
        ];
        let kv = kubernetes_validate().expect("kubernetes-validate");
        let r = run(&steps, &work, &kv, "0.1.0");
        let _ = std::fs::remove_dir_all(&work);
        let err = format!(
            "{:#}",
            r.expect_err("a Pod with an unknown field must not validate")
        );
        assert!(err.contains("did not validate"), "{err}");
    }
}
