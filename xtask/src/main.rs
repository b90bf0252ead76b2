//! `cargo xtask`: the project's automation (demo, tools, CI, dependency checks, benchmarks, images, chart,
//! release, generated docs).
//! `cli` parses the command line; each subcommand lives in its own module and gets typed options.

mod bench;
mod chart;
mod ci;
mod cli;
mod demo;
mod deny;
mod docs;
mod fuzz;
mod image;
mod notices;
mod release;
mod tidy;
mod tools;
mod util;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(&a),
        Command::Tools => tools::run(),
        Command::Ci(a) => ci::run(&a.steps),
        Command::Tidy => tidy::run(),
        Command::Bench { bench } => bench::run(bench),
        Command::Image { action, build } => image::run(action, &build),
        Command::Chart { action } => chart::run(action),
        Command::Release(a) => release::run(&a),
        Command::Docs { action } => docs::run(&action),
        Command::Fuzz(a) => fuzz::run(a.target.as_deref(), a.seconds, &a.sanitizer),
        Command::Deny => deny::run(),
        Command::Notices(a) => notices::run(a.output.as_deref()).map(|_| ()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
