//! `cargo xtask`: the project's automation (demo, tools, CI, dependency checks, benchmarks, images, chart,
//! release).
//! Each subcommand lives in its own module and parses its own arguments.

mod bench;
mod chart;
mod ci;
mod demo;
mod image;
mod release;
mod tidy;
mod tools;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "vault-k8s project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the guide's walkthrough end to end on this machine (`--offline`: render-only preview).
    Demo(RawArgs),
    /// Install what builds and tests need (OpenBao, helm, Debian packages) into `.tools/`.
    Tools(RawArgs),
    /// Run the whole CI: fmt check, clippy -D warnings, tidy, all tests.
    Ci(RawArgs),
    /// Dependency and workspace checks (pure crates stay pure).
    Tidy(RawArgs),
    /// Benchmarks: `bench inject`, `bench template`, `bench agent`.
    Bench(RawArgs),
    /// Build the OCI images into `dist/images/`.
    Image(RawArgs),
    /// Lint, template and package the Helm chart.
    Chart(RawArgs),
    /// Build every release artifact into `dist/`.
    Release(RawArgs),
}

#[derive(clap::Args)]
struct RawArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(&a.args),
        Command::Tools(a) => tools::run(&a.args),
        Command::Ci(a) => ci::run(&a.args),
        Command::Tidy(a) => tidy::run(&a.args),
        Command::Bench(a) => bench::run(&a.args),
        Command::Image(a) => image::run(&a.args),
        Command::Chart(a) => chart::run(&a.args),
        Command::Release(a) => release::run(&a.args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
