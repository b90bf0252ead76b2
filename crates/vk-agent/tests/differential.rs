//! Differential test of the whole agent: every template of vk-template's corpus and every case of
//! `shared/testdata/template-cases.json` is rendered by the real `bao agent` (OpenBao,
//! `.tools/bin/bao`) and by our agent (the `agent` example, i.e. `vault-k8s agent`) from the SAME
//! configuration file against one seeded `bao server -dev`; every destination must be identical
//! byte for byte. Error cases must make both agents fail, with the same reason, and neither may
//! write the destination. The divergences declared in the corpus stay declared and asserted.
//!
//! Render cases run in a few batches (one config with many `template` stanzas per distinct
//! environment); error cases and declared divergences run one per config, a few at a time.
//!
//! Run: `cargo test -p vk-agent --test differential -- --nocapture`
//! Env: `VK_BAO=<path>` overrides the bao binary; `VK_DIFF_ONLY=<substring>` restricts the cases;
//! `VK_DIFF_KEEP=1` keeps the work directory (configs, logs, both outputs).
//! A full report is written to `<target>/tmp/agent-differential-report.txt`.

// The vk-template differential's server, seed data, log decoder and corpus reader, shared as
// they are (this test uses only part of them).
#[allow(dead_code)]
#[path = "../../vk-template/tests/differential/bao.rs"]
mod bao;
#[allow(dead_code)]
#[path = "../../vk-template/tests/differential/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../../vk-template/tests/differential/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../../vk-template/tests/differential/json.rs"]
mod json;

#[path = "differential/cases.rs"]
mod cases;
#[path = "differential/runner.rs"]
mod runner;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cases::AgentCase;
use runner::{Agents, Outcome, Side};

/// Agents run at once for the one-case configs.
const PARALLEL: usize = 4;

/// Files the `file` function reads (`@FIXTURES@/<name>`), as in the vk-template differential.
const FIXTURES: &[(&str, &str)] = &[
    ("plain.txt", "hello file\n"),
    ("noeol.txt", "no newline at end"),
    (
        "config.json",
        "{\"name\":\"svc\",\"port\":8080,\"tags\":[\"a\",\"b\"],\"ratio\":1e6}",
    ),
    ("unicode.txt", "Grüße ✓ 日本\n"),
    ("empty.txt", ""),
];

struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::env::var_os("VK_DIFF_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn agent_bin() -> PathBuf {
    vk_test_utils::agent_example()
}

type Results = BTreeMap<String, (Outcome, Outcome)>;

/// Runs `cases` one config each, [`PARALLEL`] at a time.
fn singles(agents: Agents<'_>, work: &Path, cases: &[&AgentCase], results: &mut Results) {
    for chunk in cases.chunks(PARALLEL) {
        let outs: Vec<(String, (Outcome, Outcome))> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|c| {
                    s.spawn(move || {
                        let dir = work.join(format!("single-{}", cases::sanitize(&c.case.name)));
                        (c.case.name.clone(), runner::single(agents, &dir, c))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("agent thread"))
                .collect()
        });
        results.extend(outs);
    }
}

/// Runs one batch of render cases (same environment) through both agents with one config.
/// A failing agent renders nothing, so a failed batch is re-run one case per config to find
/// the culprit: both sides when bao failed, only ours when bao succeeded.
fn batch(agents: Agents<'_>, dir: &Path, cases: &[&AgentCase], results: &mut Results) {
    let config = runner::write_config(agents, dir, cases);
    let env = &cases[0].case.env;
    let bao = runner::run(agents, Side::Bao, dir, &config, env);
    if !bao.success {
        eprintln!(
            "agent differential: bao failed on batch {} ({}): {}; re-running its {} cases one by one",
            dir.display(),
            bao.status,
            bao.error,
            cases.len()
        );
        singles(agents, dir, cases, results);
        return;
    }
    let ours = runner::run(agents, Side::Ours, dir, &config, env);
    let dest = |s: Side, c: &AgentCase| dir.join(s.dir_name()).join(c.destination());
    if ours.success {
        for c in cases {
            let b = runner::outcome(&bao, &dest(Side::Bao, c));
            let o = runner::outcome(&ours, &dest(Side::Ours, c));
            results.insert(c.case.name.clone(), (b, o));
        }
        return;
    }
    eprintln!(
        "agent differential: our agent failed on batch {} ({}): {}; re-running its {} cases one by one",
        dir.display(),
        ours.status,
        ours.error,
        cases.len()
    );
    for (i, c) in cases.iter().enumerate() {
        let b = runner::outcome(&bao, &dest(Side::Bao, c));
        let one = dir.join(format!("ours-{i}"));
        let cfg = runner::write_config(agents, &one, &[c]);
        let run = runner::run(agents, Side::Ours, &one, &cfg, env);
        let o = runner::outcome(&run, &one.join(Side::Ours.dir_name()).join(c.destination()));
        results.insert(c.case.name.clone(), (b, o));
    }
}

/// The part of an error message both sides should share: what follows the template source path.
fn reason(msg: &str, source: &Path) -> String {
    let prefix = format!("{}: ", source.display());
    msg.strip_prefix(&prefix).unwrap_or(msg).trim().to_string()
}

/// Shortest stable tail of a reason: after the last `>: ` (execute errors).
fn core_reason(reason: &str) -> &str {
    reason.rfind(">: ").map_or(reason, |p| &reason[p + 3..])
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// How a case compared.
enum Verdict {
    Identical,
    /// Both failed for the same reason but with different words (noted in the report).
    SameReason(String),
    Mismatch(String),
    /// bao did not do what the case's `expect` says: the corpus (or the harness) is wrong.
    Corpus(String),
}

fn compare(c: &AgentCase, bao: &Outcome, ours: &Outcome) -> Verdict {
    match (c.case.expect_error, bao, ours) {
        (false, Outcome::Rendered(b), Outcome::Rendered(o)) if b == o => Verdict::Identical,
        (false, Outcome::Rendered(b), Outcome::Rendered(o)) => {
            Verdict::Mismatch(format!("  bao:  {}\n  ours: {}", show(b), show(o)))
        }
        (false, Outcome::Rendered(b), Outcome::Failed { msg, .. }) => {
            Verdict::Mismatch(format!("  bao:  {}\n  ours failed: {msg}", show(b)))
        }
        (false, Outcome::Failed { msg, .. }, _) => {
            Verdict::Corpus(format!("bao failed on a render case: {msg}"))
        }
        (true, Outcome::Rendered(b), _) => {
            Verdict::Corpus(format!("bao rendered an error case: {}", show(b)))
        }
        (true, Outcome::Failed { wrote: true, msg }, _) => {
            Verdict::Corpus(format!("bao failed but wrote the destination: {msg}"))
        }
        (true, Outcome::Failed { msg, .. }, Outcome::Rendered(o)) => {
            Verdict::Mismatch(format!("  bao failed: {msg}\n  ours rendered: {}", show(o)))
        }
        (true, Outcome::Failed { .. }, Outcome::Failed { wrote: true, msg }) => Verdict::Mismatch(
            format!("  ours failed but wrote the destination (bao did not): {msg}"),
        ),
        (true, Outcome::Failed { msg: b, .. }, Outcome::Failed { msg: o, .. })
            if c.config_error =>
        {
            let key = c.stanza_extra.first().map_or("", |(k, _)| k.as_str());
            if !b.contains("error loading configuration") {
                Verdict::Corpus(format!("bao failed, but not on its configuration: {b}"))
            } else if o.contains(key) {
                Verdict::SameReason(format!("  bao:  {b}\n  ours: {o}"))
            } else {
                Verdict::Mismatch(format!(
                    "  our configuration error does not name `{key}`: {o}\n  bao: {b}"
                ))
            }
        }
        (true, Outcome::Failed { msg: b, .. }, Outcome::Failed { msg: o, .. }) => {
            let br = reason(b, &c.source);
            let or = reason(o, &c.source);
            if br == or {
                Verdict::Identical
            } else if c.case.loose_reason || or.contains(core_reason(&br)) {
                Verdict::SameReason(format!("  bao:  {br}\n  ours: {or}"))
            } else {
                Verdict::Mismatch(format!("  bao failed:  {br}\n  ours failed: {or}"))
            }
        }
    }
}

#[test]
fn agent_differential_against_bao_agent() {
    let started = Instant::now();
    let bao_bin = vk_test_utils::bao::bao_binary()
        .unwrap_or_else(|e| panic!("the agent differential test needs OpenBao: {e:#}"));
    let ours_bin = agent_bin();
    assert!(
        ours_bin.is_file(),
        "{} is missing: run through `cargo test -p vk-agent --test differential`",
        ours_bin.display()
    );

    let tmp_root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let work = WorkDir(tmp_root.join(format!("agent-differential-{}-{nanos}", std::process::id())));
    let fixtures = work.0.join("fixtures");
    let src_dir = work.0.join("src");
    for d in [&fixtures, &src_dir] {
        fs::create_dir_all(d).expect("work dir");
    }
    for (name, body) in FIXTURES {
        fs::write(fixtures.join(name), body).expect("fixture");
    }
    let token_file = work.0.join("token");
    fs::write(&token_file, bao::ROOT_TOKEN).expect("token file");

    let mut all = cases::load(&src_dir, &fixtures);
    assert!(all.len() >= 300, "too few cases: {}", all.len());
    if let Ok(only) = std::env::var("VK_DIFF_ONLY") {
        all.retain(|c| c.case.name.contains(&only));
        assert!(!all.is_empty(), "VK_DIFF_ONLY={only} matches no case");
    }

    let server = bao::DevServer::start();
    server.seed();
    let agents = Agents {
        bao: &bao_bin,
        ours: &ours_bin,
        server: server.addr(),
        token_file: &token_file,
    };

    // Render cases without a declared divergence: one batch per distinct environment.
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<&AgentCase>> = BTreeMap::new();
    let mut alone: Vec<&AgentCase> = Vec::new();
    for c in &all {
        if c.case.expect_error || !c.case.divergence.is_empty() {
            alone.push(c);
        } else {
            groups
                .entry(c.case.env.clone().into_iter().collect())
                .or_default()
                .push(c);
        }
    }
    let mut results = Results::new();
    for (g, group) in groups.values().enumerate() {
        batch(
            agents,
            &work.0.join(format!("batch-{g}")),
            group,
            &mut results,
        );
    }
    let t_batches = started.elapsed();
    singles(agents, &work.0, &alone, &mut results);
    let t_singles = started.elapsed();
    drop(server);

    let mut identical = 0usize;
    let mut divergences = 0usize;
    let mut report = String::new();
    let mut notes = String::new();
    let mut failures = Vec::new();
    for c in &all {
        let (bao_out, ours_out) = &results[&c.case.name];
        let kind = if c.case.expect_error {
            "error"
        } else {
            "render"
        };
        let verdict = compare(c, bao_out, ours_out);
        let outcome: Result<&str, String> = match (c.case.divergence.is_empty(), verdict) {
            (_, Verdict::Corpus(why)) => Err(format!("  CORPUS: {why}")),
            (true, Verdict::Identical) => Ok("ok"),
            (true, Verdict::SameReason(detail)) => {
                let _ = writeln!(
                    notes,
                    "{}: same reason, different words\n{detail}",
                    c.case.name
                );
                Ok("ok")
            }
            (true, Verdict::Mismatch(detail)) => Err(detail),
            (false, Verdict::Identical | Verdict::SameReason(_)) => Err(format!(
                "  declared divergence ({}) but both agents agree: remove the declaration",
                c.case.divergence
            )),
            (false, Verdict::Mismatch(_)) if ours_out.text().contains(&c.case.expect_engine) => {
                Ok("div")
            }
            (false, Verdict::Mismatch(detail)) => Err(format!(
                "  declared divergence ({}): our agent no longer does the documented thing \
                 (expect_engine = {:?})\n{detail}",
                c.case.divergence, c.case.expect_engine
            )),
        };
        match outcome {
            Ok(tag) => {
                if tag == "div" {
                    divergences += 1;
                } else {
                    identical += 1;
                }
                let _ = writeln!(report, "{tag:<4} {} [{kind}]", c.case.name);
            }
            Err(detail) => {
                let _ = writeln!(report, "FAIL {} [{kind}]", c.case.name);
                failures.push(format!(
                    "--- {} [{kind}] {}\n  template: {:?}\n{detail}",
                    c.case.name, c.case.note, c.case.template
                ));
            }
        }
    }

    let summary = format!(
        "agent differential: {identical}/{} identical, {divergences} declared divergences",
        all.len()
    );
    let timing = format!(
        "agent differential: {} batch configs in {:.1}s, {} one-case configs in {:.1}s",
        groups.len(),
        t_batches.as_secs_f64(),
        alone.len(),
        (t_singles - t_batches).as_secs_f64()
    );
    let full = format!(
        "{summary}\n{timing}\n\n{report}\n{}\n\nError cases with the same reason in other words:\n{notes}",
        failures.join("\n")
    );
    let report_path = tmp_root.join("agent-differential-report.txt");
    let _ = fs::write(&report_path, &full);
    println!("{summary}");
    println!("{timing}");
    println!(
        "agent differential: full report in {}",
        report_path.display()
    );
    assert!(failures.is_empty(), "{summary}\n\n{}", failures.join("\n"));
}
