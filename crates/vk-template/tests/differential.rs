//! Differential test: every template of `tests/corpus/` is rendered by the real `bao agent`
//! (OpenBao 2.7.2, `.tools/bin/bao`) against a seeded `bao server -dev`, and by `vk-template`
//! over the same live server; the bytes must be identical. Error cases must fail on both sides
//! with the same reason.
//!
//! Run: `cargo test -p vk-template --test differential -- --nocapture`
//! Env: `VK_BAO=<path>` overrides the bao binary; `VK_DIFF_ONLY=<substring>` restricts the corpus;
//! `VK_DIFF_KEEP=1` keeps the work directory (configs, logs, both outputs).
//! A full report is written to `<target>/tmp/differential-report.txt`.
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: it runs the real `bao agent` and reads its corpus.

#[path = "differential/bao.rs"]
mod bao;
#[path = "differential/corpus.rs"]
mod corpus;
#[path = "differential/http.rs"]
mod http;
#[path = "differential/json.rs"]
mod json;
#[path = "differential/source.rs"]
mod source;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vk_template::{ParseOptions, RenderOptions};

use bao::{AgentTemplate, DevServer};
use corpus::Case;
use source::{CaseSource, Fetcher};

/// Outcome of one side for one case.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Rendered(Vec<u8>),
    Failed(String),
}

struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::env::var_os("VK_DIFF_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// The OpenBao binary (`VK_BAO`, else `.tools/bin/bao`), as `vk_test_utils` resolves it.
fn bao_binary() -> PathBuf {
    vk_test_utils::bao::bao_binary()
        .unwrap_or_else(|e| panic!("the differential test needs OpenBao: {e:#}"))
}

/// Files the `file` function reads (`@FIXTURES@/<name>`).
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

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs the reference side for all cases. Success cases share one agent per distinct env;
/// if such a batch fails, each of its cases is re-run alone to attribute the failure.
fn reference(
    bao_bin: &Path,
    work: &Path,
    server: &DevServer,
    token_file: &Path,
    cases: &[(Case, PathBuf)],
) -> BTreeMap<String, Outcome> {
    let mut results = BTreeMap::new();
    let template_for = |case: &Case, src: &Path, dest: PathBuf| AgentTemplate {
        source: src.to_path_buf(),
        destination: dest,
        error_on_missing_key: case.error_on_missing_key,
        left_delim: case.left_delim.clone(),
        right_delim: case.right_delim.clone(),
    };
    let single = |idx: usize, case: &Case, src: &Path| -> Outcome {
        let dir = work.join(format!("agent-single-{idx}-{}", sanitize(&case.name)));
        let dest = dir.join("out");
        let run = bao::run_agent(
            bao_bin,
            &dir,
            server.addr(),
            token_file,
            &[template_for(case, src, dest.clone())],
            &case.env,
        );
        outcome_of(&run, &dest)
    };

    // Group the success cases by environment.
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<usize>> = BTreeMap::new();
    for (i, (case, _)) in cases.iter().enumerate() {
        if !case.expect_error {
            groups
                .entry(case.env.clone().into_iter().collect())
                .or_default()
                .push(i);
        }
    }
    for (g, (env, idxs)) in groups.iter().enumerate() {
        let env: BTreeMap<String, String> = env.iter().cloned().collect();
        let mut pending: Vec<usize> = idxs.clone();
        // A template that fails stops the whole agent: run it alone, drop it from the batch and
        // re-run the rest. Failures that name no template source fall back to one agent per case.
        for attempt in 0.. {
            let dir = work.join(format!("agent-batch-{g}-{attempt}"));
            let templates: Vec<AgentTemplate> = pending
                .iter()
                .map(|&i| {
                    let dest = dir.join("out").join(sanitize(&cases[i].0.name));
                    template_for(&cases[i].0, &cases[i].1, dest)
                })
                .collect();
            let run = bao::run_agent(bao_bin, &dir, server.addr(), token_file, &templates, &env);
            if run.success {
                for (&i, t) in pending.iter().zip(&templates) {
                    let out = fs::read(&t.destination).unwrap_or_else(|e| {
                        panic!(
                            "bao agent exited 0 but {} was not written: {e}",
                            t.destination.display()
                        )
                    });
                    results.insert(cases[i].0.name.clone(), Outcome::Rendered(out));
                }
                break;
            }
            assert!(
                !run.log.contains("error loading configuration"),
                "harness bug: bao agent rejected the generated config:\n{}",
                run.log
            );
            let err = bao::agent_error(&run.log).unwrap_or_default();
            let culprits: Vec<usize> = match dependency_path(&err) {
                // `vault.read(path): …`: every template mentioning that path is suspect.
                Some(path) => pending
                    .iter()
                    .copied()
                    .filter(|&i| cases[i].0.template.contains(&format!("\"{path}")))
                    .collect(),
                None => pending
                    .iter()
                    .copied()
                    .filter(|&i| err.starts_with(&format!("{}: ", cases[i].1.display())))
                    .collect(),
            };
            eprintln!(
                "differential: batch agent {g}/{attempt} failed ({}): {err}",
                run.status
            );
            match culprits.len() {
                1.. if attempt < 20 && culprits.len() < pending.len() => {
                    pending.retain(|i| !culprits.contains(i));
                    for i in culprits {
                        results
                            .insert(cases[i].0.name.clone(), single(i, &cases[i].0, &cases[i].1));
                    }
                }
                _ => {
                    eprintln!(
                        "differential: re-running {} cases one by one",
                        pending.len()
                    );
                    for &i in &pending {
                        results
                            .insert(cases[i].0.name.clone(), single(i, &cases[i].0, &cases[i].1));
                    }
                    break;
                }
            }
        }
    }

    // Error cases: one short-lived agent each, three at a time.
    let err_idx: Vec<usize> = (0..cases.len())
        .filter(|&i| cases[i].0.expect_error)
        .collect();
    for chunk in err_idx.chunks(3) {
        let outs: Vec<(usize, Outcome)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let single = &single;
                    s.spawn(move || (i, single(i, &cases[i].0, &cases[i].1)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("agent thread"))
                .collect()
        });
        for (i, o) in outs {
            results.insert(cases[i].0.name.clone(), o);
        }
    }
    results
}

/// The path of a `vault.read(path)` / `vault.write(path -> hash)` / `vault.list(path)` error.
fn dependency_path(err: &str) -> Option<&str> {
    let rest = ["vault.read(", "vault.write(", "vault.list(", "vault.pki("]
        .iter()
        .find_map(|p| err.strip_prefix(p))?;
    let end = rest.find([')', ' '])?;
    Some(rest[..end].trim())
}

const WROTE_FILE: &str = " [agent failed but wrote the destination file]";

fn outcome_of(run: &bao::AgentRun, dest: &Path) -> Outcome {
    if run.success {
        match fs::read(dest) {
            Ok(b) => Outcome::Rendered(b),
            Err(e) => Outcome::Failed(format!("agent exited 0 without writing the file: {e}")),
        }
    } else {
        let mut msg = bao::agent_error(&run.log).unwrap_or_else(|| format!("agent {}", run.status));
        if dest.exists() {
            msg.push_str(WROTE_FILE);
        }
        Outcome::Failed(msg)
    }
}

/// Renders one case with the engine: re-executes until no dependency is missing, fetching the
/// missing ones between passes (agent spec §3.1).
fn engine(fetcher: &mut Fetcher, case: &Case, source_path: &Path, dest: &Path) -> Outcome {
    let popts = ParseOptions {
        name: source_path.display().to_string(),
        left_delim: case.left_delim.clone(),
        right_delim: case.right_delim.clone(),
    };
    let text = fs::read_to_string(source_path).expect("read substituted template");
    let template = match vk_template::parse(&text, &popts) {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(e.agent_message()),
    };
    let ropts = RenderOptions {
        error_on_missing_key: case.error_on_missing_key,
        destination: dest.display().to_string(),
        max_output_bytes: 16 << 20,
    };
    // Pass 1 runs with nothing known (agent spec §3.1, E13); each later pass sees what the
    // previous passes reported missing.
    let mut known = HashSet::new();
    for _pass in 0..25 {
        let mut ds = CaseSource {
            fetcher,
            known: &known,
            env: &case.env,
        };
        let rendered = match template.render(&mut ds, &ropts) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.agent_message()),
        };
        if rendered.missing.is_empty() {
            return Outcome::Rendered(rendered.output.into_bytes());
        }
        for dep in rendered.missing {
            fetcher.fetch(&dep);
            known.insert(dep);
        }
    }
    Outcome::Failed("engine harness: still missing dependencies after 25 passes".into())
}

/// The part of an error message that should be the same on both sides: everything after the
/// template source path (which both sides are given) — or the whole message.
fn reason(msg: &str, source_path: &Path) -> String {
    let prefix = format!("{}: ", source_path.display());
    msg.strip_prefix(&prefix).unwrap_or(msg).trim().to_string()
}

/// Shortest stable tail of a reason: after the last `>: ` (execute errors) or `:N: ` (parse).
fn core_reason(reason: &str) -> &str {
    if let Some(p) = reason.rfind(">: ") {
        return &reason[p + 3..];
    }
    reason
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

#[test]
fn differential_against_bao_agent() {
    let started = Instant::now();
    let bao_bin = bao_binary();
    let corpus_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut cases = corpus::load(&corpus_dir);
    assert!(
        cases.len() >= 150,
        "corpus too small: {} templates",
        cases.len()
    );
    if let Ok(only) = std::env::var("VK_DIFF_ONLY") {
        cases.retain(|c| c.name.contains(&only));
        assert!(!cases.is_empty(), "VK_DIFF_ONLY={only} matches no case");
    }

    let tmp_root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let work = WorkDir(tmp_root.join(format!("differential-{}-{nanos}", std::process::id())));
    fs::create_dir_all(&work.0).expect("work dir");
    let fixtures = work.0.join("fixtures");
    fs::create_dir_all(&fixtures).expect("fixtures dir");
    for (name, body) in FIXTURES {
        fs::write(fixtures.join(name), body).expect("fixture");
    }
    let token_file = work.0.join("token");
    fs::write(&token_file, bao::ROOT_TOKEN).expect("token file");

    // Template sources with @FIXTURES@ substituted; both sides read these same files.
    let src_dir = work.0.join("src");
    fs::create_dir_all(&src_dir).expect("src dir");
    let fixtures_text = fixtures.display().to_string();
    let cases: Vec<(Case, PathBuf)> = cases
        .into_iter()
        .map(|c| {
            let p = src_dir.join(format!("{}.tmpl", sanitize(&c.name)));
            fs::write(&p, c.template.replace("@FIXTURES@", &fixtures_text)).expect("write source");
            (c, p)
        })
        .collect();

    let server = DevServer::start();
    server.seed();
    let t_seed = started.elapsed();

    let expected = reference(&bao_bin, &work.0, &server, &token_file, &cases);
    let t_ref = started.elapsed();

    let mut fetcher = Fetcher::new(server.addr(), bao::ROOT_TOKEN);
    let engine_dest = work.0.join("engine-out");
    fs::create_dir_all(&engine_dest).expect("engine out dir");
    let mut actual = BTreeMap::new();
    for (case, src) in &cases {
        let dest = engine_dest.join(sanitize(&case.name));
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine(&mut fetcher, case, src, &dest)
        }))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome::Failed(format!("ENGINE PANICKED: {msg}"))
        });
        if let Outcome::Rendered(b) = &out {
            let _ = fs::write(&dest, b);
        }
        actual.insert(case.name.clone(), out);
    }
    let t_engine = started.elapsed();
    drop(server);

    // Compare.
    let mut identical = 0usize;
    let mut divergences = 0usize;
    let mut exact_errors = 0usize;
    let mut error_notes = String::new();
    let mut corpus_problems = Vec::new();
    let mut mismatches = Vec::new();
    let mut report = String::new();
    for (case, src) in &cases {
        let exp = &expected[&case.name];
        let act = &actual[&case.name];
        let kind = if case.expect_error { "error" } else { "render" };
        let verdict: Result<(), String> = match (case.expect_error, exp, act) {
            (false, Outcome::Rendered(e), Outcome::Rendered(a)) if e == a => Ok(()),
            (false, Outcome::Rendered(e), Outcome::Rendered(a)) => {
                Err(format!("  expected: {}\n  actual:   {}", show(e), show(a)))
            }
            (false, Outcome::Rendered(e), Outcome::Failed(a)) => {
                Err(format!("  expected: {}\n  engine error: {a}", show(e)))
            }
            (false, Outcome::Failed(e), _) => {
                corpus_problems.push(format!(
                    "{}: bao agent failed on a render case: {e}",
                    case.name
                ));
                Err(format!("  CORPUS: bao failed: {e}"))
            }
            (true, Outcome::Rendered(e), _) => {
                corpus_problems.push(format!(
                    "{}: bao agent rendered an error case: {}",
                    case.name,
                    show(e)
                ));
                Err(format!("  CORPUS: bao rendered {}", show(e)))
            }
            (true, Outcome::Failed(e), Outcome::Rendered(a)) => Err(format!(
                "  expected error: {e}\n  engine rendered: {}",
                show(a)
            )),
            (true, Outcome::Failed(e), _) if e.ends_with(WROTE_FILE) => {
                corpus_problems.push(format!(
                    "{}: bao agent failed but wrote the file: {e}",
                    case.name
                ));
                Err(format!("  CORPUS: {e}"))
            }
            (true, Outcome::Failed(e), Outcome::Failed(a)) => {
                let er = reason(e, src);
                let ar = reason(a, src);
                if ar == er {
                    exact_errors += 1;
                    Ok(())
                } else if case.loose_reason || ar.contains(core_reason(&er)) {
                    let _ = writeln!(
                        error_notes,
                        "{}: same reason, different message\n  bao:    {er}\n  engine: {ar}",
                        case.name
                    );
                    Ok(())
                } else {
                    Err(format!("  expected error: {er}\n  engine error:   {ar}"))
                }
            }
        };
        // A declared divergence: bao must have run as `expect` says, and the engine must do
        // exactly the documented thing instead.
        let verdict: Result<bool, String> = if case.divergence.is_empty() {
            verdict.map(|()| false)
        } else {
            let bao_ran = matches!(
                (case.expect_error, exp),
                (false, Outcome::Rendered(_)) | (true, Outcome::Failed(_))
            );
            let engine_text = match act {
                Outcome::Rendered(b) => String::from_utf8_lossy(b).into_owned(),
                Outcome::Failed(m) => m.clone(),
            };
            match verdict {
                Ok(()) => Err(format!(
                    "  declared divergence ({}) but both sides agree: remove the declaration",
                    case.divergence
                )),
                Err(detail) if !bao_ran => Err(detail),
                Err(_) if engine_text.contains(&case.expect_engine) => Ok(true),
                Err(detail) => Err(format!(
                    "  declared divergence ({}): the engine no longer does the documented thing \
                     (expect_engine = {:?})\n{detail}",
                    case.divergence, case.expect_engine
                )),
            }
        };
        match verdict {
            Ok(true) => {
                divergences += 1;
                let _ = writeln!(report, "div  {} [{kind}] ({})", case.name, case.divergence);
            }
            Ok(false) => {
                identical += 1;
                let _ = writeln!(report, "ok   {} [{kind}]", case.name);
            }
            Err(detail) => {
                let entry = format!(
                    "--- {} [{kind}]{}\n  template: {:?}\n{detail}",
                    case.name,
                    if case.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", case.note)
                    },
                    case.template
                );
                let _ = writeln!(report, "FAIL {} [{kind}]", case.name);
                mismatches.push(entry);
            }
        }
    }
    let summary = format!(
        "differential: {identical}/{} identical, {divergences} documented divergences",
        cases.len()
    );
    let timing = format!(
        "differential: timing seed {:.1}s, bao {:.1}s, engine {:.1}s ({} engine requests)",
        t_seed.as_secs_f64(),
        (t_ref - t_seed).as_secs_f64(),
        (t_engine - t_ref).as_secs_f64(),
        fetcher.requests
    );
    let n_err = cases.iter().filter(|(c, _)| c.expect_error).count();
    let errors_line = format!(
        "differential: {exact_errors}/{n_err} error cases with the exact same message as bao"
    );
    let full = format!(
        "{summary}\n{errors_line}\n{timing}\n\n{report}\n{}\n\nError cases with the same reason but a different message:\n{error_notes}",
        mismatches.join("\n")
    );
    let report_path = tmp_root.join("differential-report.txt");
    let _ = fs::write(&report_path, &full);
    println!("{summary}");
    println!("{errors_line}");
    println!("{timing}");
    println!("differential: full report in {}", report_path.display());
    assert!(
        corpus_problems.is_empty(),
        "{summary}\ncorpus problems (bao disagrees with the case's `expect`):\n{}",
        corpus_problems.join("\n")
    );
    assert!(
        mismatches.is_empty(),
        "{summary}\n\n{}",
        mismatches.join("\n")
    );
}

/// The harness's own pieces, checked against the live server (so a harness bug cannot pass as
/// an engine mismatch): the DataSource's KV v2 shims and not-found texts (same words as the agent
/// logs), and the agent-log error decoder.
#[test]
fn harness_self_check() {
    use vk_template::{Dependency, Lookup};

    let log = "2026-01-01T00:00:00.000Z [ERROR] agent.template.server: template server error: \
               error=\"/x/t.tmpl: execute: template: :1:2: executing \\\"\\\" at <.a>: map has no entry for key \\\"a\\\"\" backoff=-1ns\n";
    assert_eq!(
        bao::agent_error(log).as_deref(),
        Some(
            "/x/t.tmpl: execute: template: :1:2: executing \"\" at <.a>: map has no entry for key \"a\""
        )
    );
    let multi = "2026-01-01T00:00:00.000Z [ERROR] agent.template.server: template server error:\n  error=\n  | vault.write(p -> 1): first\n  | \n  | * reason\n   backoff=-1ns\n";
    assert_eq!(
        bao::agent_error(multi).as_deref(),
        Some("vault.write(p -> 1): first\n\n* reason")
    );

    let server = DevServer::start();
    server.seed();
    let mut f = Fetcher::new(server.addr(), bao::ROOT_TOKEN);
    let mut get = |dep: Dependency| {
        f.fetch(&dep);
        f.cached(&dep)
    };
    let ready = |l: Lookup| match l {
        Lookup::Ready(b) => b,
        other => panic!("expected Ready, got {other:?}"),
    };
    let body = ready(get(Dependency::Read {
        path: "secret/simple".into(),
    }));
    let j = json::parse(&body).expect("json");
    assert_eq!(
        j.at(&["data", "data", "foo"]).and_then(json::Json::as_str),
        Some("bar")
    );
    let body = ready(get(Dependency::Read {
        path: "secret/data/versioned?version=1".into(),
    }));
    let j = json::parse(&body).expect("json");
    assert_eq!(
        j.at(&["data", "data", "a"]).and_then(json::Json::as_str),
        Some("1")
    );
    assert_eq!(
        get(Dependency::Read {
            path: "secret/nope".into()
        }),
        Lookup::Failed("vault.read(secret/nope): no secret exists at secret/data/nope".into())
    );
    assert_eq!(
        get(Dependency::Read {
            path: "secret/data/versioned?version=9".into()
        }),
        Lookup::Failed(
            "vault.read(secret/data/versioned.v9): no secret exists at secret/data/versioned"
                .into()
        )
    );
    assert_eq!(
        get(Dependency::Read {
            path: "secret/data/deleted".into()
        }),
        Lookup::Failed(
            "vault.read(secret/data/deleted): no secret exists at secret/data/deleted".into()
        )
    );
    assert_eq!(
        get(Dependency::Read {
            path: "kv1/nope".into()
        }),
        Lookup::Failed("vault.read(kv1/nope): no secret exists at kv1/nope".into())
    );
    for p in ["secret/dir", "secret/metadata/dir"] {
        let body = ready(get(Dependency::List { path: p.into() }));
        let keys = json::parse(&body).expect("json");
        let keys: Vec<&str> = keys
            .at(&["data", "keys"])
            .and_then(json::Json::as_array)
            .expect("keys")
            .iter()
            .filter_map(json::Json::as_str)
            .collect();
        assert_eq!(keys, ["one", "sub/", "two"], "list {p}");
    }
    let body = ready(get(Dependency::List {
        path: "secret/nonexistent".into(),
    }));
    assert_eq!(body, r#"{"data":{"keys":[]}}"#);
    let body = ready(get(Dependency::Write {
        path: "kv1w/self".into(),
        data: vec![("a".into(), "b".into())],
    }));
    assert_eq!(body, "", "a KV v1 write has no response body");
    let body = ready(get(Dependency::Write {
        path: "kvw/self".into(),
        data: vec![("a".into(), "b".into())],
    }));
    let j = json::parse(&body).expect("json");
    assert_eq!(
        j.at(&["data", "version"]),
        Some(&json::Json::Num("1".into()))
    );
    let back = ready(get(Dependency::Read {
        path: "kvw/data/self".into(),
    }));
    let j = json::parse(&back).expect("json");
    assert_eq!(
        j.at(&["data", "data", "a"]).and_then(json::Json::as_str),
        Some("b")
    );
}
