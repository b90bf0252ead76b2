//! `vault-k8s agent-inject render`: offline preview of what the webhook does to a manifest.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use vk_injector::config::parse_render_flags;
use vk_injector::preview::{self, Rendered};
use vk_injector::{InjectorConfig, Purpose};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Pod,
    Patch,
}

pub(crate) fn run(args: &[String]) -> ExitCode {
    let (values, render) = match parse_render_flags(args) {
        Ok(v) => v,
        Err(err) => {
            eprintln!("{err}\n{}", crate::cli::render_help());
            return ExitCode::from(1);
        }
    };
    let result = (|| {
        let output = match render.o.as_str() {
            "pod" => Output::Pod,
            "patch" => Output::Patch,
            other => anyhow::bail!("-o must be \"pod\" or \"patch\", got {other:?}"),
        };
        let file = render.f;
        if file.is_empty() {
            anyhow::bail!("-f FILE is required (a YAML or JSON manifest; `-` reads stdin)");
        }
        let namespace = render.namespace;
        let config =
            InjectorConfig::resolve(values, &|name| std::env::var(name).ok(), Purpose::Render)?;
        let text = read_manifest(&file)?;
        let pods = preview::pods_from_manifest(&text, &namespace)
            .with_context(|| format!("reading {file}"))?;
        let mut denied = false;
        let mut documents = Vec::new();
        for source in &pods {
            match preview::render(source, &config.settings)? {
                Rendered::Denied(message) => {
                    eprintln!("{}: denied: {message}", source.origin);
                    denied = true;
                }
                Rendered::Skipped(pod) => {
                    eprintln!(
                        "{}: not injected (the webhook allows it unchanged)",
                        source.origin
                    );
                    if output == Output::Pod {
                        documents.push(serde_norway::to_string(&pod).context("writing YAML")?);
                    }
                }
                Rendered::Injected {
                    pod,
                    patch,
                    warnings,
                } => {
                    // What kubectl prints for the webhook's admission warnings.
                    for w in &warnings {
                        eprintln!("{}: Warning: {w}", source.origin);
                    }
                    match output {
                        Output::Pod => {
                            documents.push(serde_norway::to_string(&pod).context("writing YAML")?)
                        }
                        Output::Patch => {
                            documents.push(format!("{}\n", String::from_utf8_lossy(&patch)))
                        }
                    }
                }
            }
        }
        let separator = if output == Output::Pod { "---\n" } else { "" };
        Ok((denied, documents.join(separator)))
    })();
    match result {
        Ok((denied, text)) => {
            let written = super::write_stdout(&text);
            if denied { ExitCode::from(1) } else { written }
        }
        Err(err) => {
            eprintln!("{err:#}");
            ExitCode::from(1)
        }
    }
}

fn read_manifest(file: &str) -> anyhow::Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the manifest from stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("reading manifest file {file}"))
}
