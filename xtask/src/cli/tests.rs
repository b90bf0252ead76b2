//! Every invocation the docs and the code show parses, with the documented defaults.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use super::*;

fn parse(line: &str) -> Cli {
    let args = std::iter::once("cargo-xtask").chain(line.split_whitespace());
    Cli::try_parse_from(args).unwrap_or_else(|e| panic!("`cargo xtask {line}` does not parse: {e}"))
}

fn rejects(line: &str) {
    let args = std::iter::once("cargo-xtask").chain(line.split_whitespace());
    assert!(
        Cli::try_parse_from(args).is_err(),
        "`cargo xtask {line}` should be rejected"
    );
}

#[test]
fn the_command_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn plain_commands_parse() {
    assert!(matches!(parse("tools").command, Command::Tools));
    assert!(matches!(parse("tidy").command, Command::Tidy));
    rejects("tidy --fast");
    rejects("tools extra");
}

#[test]
fn demo_and_its_offline_preview() {
    assert!(matches!(
        parse("demo").command,
        Command::Demo(DemoArgs { offline: false })
    ));
    assert!(matches!(
        parse("demo --offline").command,
        Command::Demo(DemoArgs { offline: true })
    ));
    rejects("demo --online");
}

#[test]
fn ci_keeps_its_step_list() {
    let Command::Ci(a) = parse("ci").command else {
        panic!()
    };
    assert!(a.steps.is_empty());
    let Command::Ci(a) = parse("ci clippy test").command else {
        panic!()
    };
    assert_eq!(a.steps, ["clippy", "test"]);
    let Command::Ci(a) = parse("ci fmt tidy docs").command else {
        panic!()
    };
    assert_eq!(a.steps, ["fmt", "tidy", "docs"]);
}

#[test]
fn bench_inject_options_and_defaults() {
    let Command::Bench {
        bench: Bench::Inject(a),
    } = parse("bench inject").command
    else {
        panic!()
    };
    assert_eq!(
        (a.duration, a.rounds, a.connections, a.no_micro),
        (5, 2, 16, false)
    );
    assert_eq!((a.vault_k8s_bin, a.bare_bin), (None, None));
    let Command::Bench { bench: Bench::Inject(a) } = parse(
        "bench inject --duration 5 --rounds 2 --connections 16 --no-micro --vault-k8s-bin /v --bare-bin /b",
    )
    .command
    else {
        panic!()
    };
    assert_eq!(
        (a.duration, a.rounds, a.connections, a.no_micro),
        (5, 2, 16, true)
    );
    assert_eq!(a.vault_k8s_bin, Some(PathBuf::from("/v")));
    assert_eq!(a.bare_bin, Some(PathBuf::from("/b")));
    rejects("bench inject --fast");
    rejects("bench inject --duration 0");
    rejects("bench inject --rounds 0");
    rejects("bench inject --connections x");
    rejects("bench");
    rejects("bench wrk");
}

#[test]
fn bench_template_takes_no_options() {
    assert!(matches!(
        parse("bench template").command,
        Command::Bench {
            bench: Bench::Template
        }
    ));
    rejects("bench template --rounds 2");
}

#[test]
fn bench_agent_options_and_defaults() {
    let Command::Bench {
        bench: Bench::Agent(a),
    } = parse("bench agent").command
    else {
        panic!()
    };
    assert_eq!(
        (a.rounds, a.sidecar_secs, a.templates),
        (10, 60, vec![5, 50])
    );
    let Command::Bench {
        bench: Bench::Agent(a),
    } = parse("bench agent --templates 5,50 --rounds 3 --sidecar-secs 0 --vault-k8s-bin /v")
        .command
    else {
        panic!()
    };
    assert_eq!((a.rounds, a.sidecar_secs, a.templates), (3, 0, vec![5, 50]));
    assert_eq!(a.vault_k8s_bin, Some(PathBuf::from("/v")));
    let Command::Bench {
        bench: Bench::Agent(a),
    } = parse("bench agent --rounds 10").command
    else {
        panic!()
    };
    assert_eq!(a.rounds, 10);
    let args = ["cargo-xtask", "bench", "agent", "--templates", "1, 7"];
    let Command::Bench {
        bench: Bench::Agent(a),
    } = Cli::try_parse_from(args).unwrap().command
    else {
        panic!()
    };
    assert_eq!(a.templates, [1, 7]);
    rejects("bench agent --fast");
    rejects("bench agent --templates 0");
    rejects("bench agent --templates 1001");
    rejects("bench agent --rounds");
    rejects("bench agent --rounds 0");
}

#[test]
fn bench_agent_measure_child_takes_the_program_after_dashes() {
    let Command::Bench {
        bench: Bench::Agent(a),
    } = parse("bench agent --measure-child /tmp/log -- /bin/agent agent -config=/c.hcl").command
    else {
        panic!()
    };
    assert_eq!(a.measure_child.as_deref(), Some("/tmp/log"));
    assert_eq!(a.program, ["/bin/agent", "agent", "-config=/c.hcl"]);
    rejects("bench agent --measure-child /tmp/log");
}

#[test]
fn image_build_is_the_default_and_check_is_a_subcommand() {
    let Command::Image {
        action: None,
        build,
    } = parse("image").command
    else {
        panic!()
    };
    assert!(!build.dev && !build.dev_only && build.out.is_none());
    let Command::Image {
        action: None,
        build,
    } = parse("image --dev").command
    else {
        panic!()
    };
    assert!(build.dev);
    let Command::Image {
        action: None,
        build,
    } = parse("image --out /tmp/a").command
    else {
        panic!()
    };
    assert_eq!(build.out, Some(PathBuf::from("/tmp/a")));
    let Command::Image {
        action: None,
        build,
    } = parse("image --dev-only --binary /b --opt-level z --refresh-rootfs").command
    else {
        panic!()
    };
    assert!(build.dev_only && build.refresh_rootfs);
    assert_eq!(
        (build.binary, build.opt_level),
        (Some(PathBuf::from("/b")), Some("z".to_owned()))
    );
    let Command::Image {
        action: Some(ImageAction::Build(b)),
        ..
    } = parse("image build --dev").command
    else {
        panic!()
    };
    assert!(b.dev);
    let Command::Image {
        action: Some(ImageAction::Check(c)),
        ..
    } = parse("image check").command
    else {
        panic!()
    };
    assert!(!c.dev && c.out.is_none());
    let Command::Image {
        action: Some(ImageAction::Check(c)),
        ..
    } = parse("image check --dev --out /tmp/a").command
    else {
        panic!()
    };
    assert!(c.dev);
    assert_eq!(c.out, Some(PathBuf::from("/tmp/a")));
    rejects("image --fast");
    rejects("image check --binary /b");
}

#[test]
fn chart_subcommands() {
    assert!(matches!(
        parse("chart sync").command,
        Command::Chart {
            action: ChartAction::Sync
        }
    ));
    let Command::Chart {
        action: ChartAction::Check(c),
    } = parse("chart check").command
    else {
        panic!()
    };
    assert!(c.binary.is_none() && !c.skip_checkov);
    let Command::Chart {
        action: ChartAction::Check(c),
    } = parse("chart check --binary /b --skip-checkov").command
    else {
        panic!()
    };
    assert_eq!(c.binary, Some(PathBuf::from("/b")));
    assert!(c.skip_checkov);
    let Command::Chart {
        action: ChartAction::Package { out },
    } = parse("chart package").command
    else {
        panic!()
    };
    assert!(out.is_none());
    let Command::Chart {
        action: ChartAction::Package { out },
    } = parse("chart package --out /tmp/d").command
    else {
        panic!()
    };
    assert_eq!(out, Some(PathBuf::from("/tmp/d")));
    rejects("chart");
    rejects("chart package /tmp/d");
}

#[test]
fn release_options() {
    let Command::Release(r) = parse("release").command else {
        panic!()
    };
    assert!(!r.no_dev && r.binary.is_none() && r.out.is_none());
    let Command::Release(r) =
        parse("release --binary /b --no-dev --opt-level z --out /tmp/d").command
    else {
        panic!()
    };
    assert!(r.no_dev);
    assert_eq!(r.opt_level.as_deref(), Some("z"));
    let Command::Release(r) = parse("release --no-dev --dev").command else {
        panic!()
    };
    assert!(!r.no_dev, "the last of --dev/--no-dev wins, as before");
    rejects("release --fast");
}

#[test]
fn docs_flags_and_its_check() {
    assert!(matches!(
        parse("docs flags").command,
        Command::Docs {
            action: DocsAction::Flags { check: false }
        }
    ));
    assert!(matches!(
        parse("docs flags --check").command,
        Command::Docs {
            action: DocsAction::Flags { check: true }
        }
    ));
    rejects("docs");
}
