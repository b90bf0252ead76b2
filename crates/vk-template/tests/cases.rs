//! Every observed rendering of shared/testdata/template-cases.json (copied to tests/data),
//! executed against an in-memory DataSource that answers like the seeded dev server (§7.2).
//! Like the agent, rendering starts with no data, fetches what a pass reported missing, and
//! re-renders until nothing is missing; an error on any pass is the outcome.
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: the cases are read from files.

use std::collections::{BTreeMap, BTreeSet};

use vk_template::{DataSource, Dependency, Lookup, ParseOptions, RenderOptions, parse};

/// What the fake serves as every secret's `created_time` (the cases' `<CREATED_TIME:…>`).
const CREATED: &str = "2026-11-22T06:00:00.123456789Z";

/// Vault's answer for one path, or the failure text.
fn kv2(data: &str, version: u32, custom: &str, path: &str) -> String {
    format!(
        r#"{{"request_id":"req-{path}","lease_id":"","renewable":false,"lease_duration":0,"data":{{"data":{data},"metadata":{{"created_time":"{CREATED}","custom_metadata":{custom},"deletion_time":"","destroyed":false,"version":{version}}}}},"wrap_info":null,"warnings":null,"auth":null}}"#
    )
}

fn kv1(data: &str, lease: u32) -> String {
    format!(
        r#"{{"request_id":"req","lease_id":"","renewable":false,"lease_duration":{lease},"data":{data},"wrap_info":null,"warnings":null,"auth":null}}"#
    )
}

fn list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        r#"{{"request_id":"req","lease_id":"","renewable":false,"lease_duration":0,"data":{{"keys":[{}]}},"wrap_info":null,"warnings":null,"auth":null}}"#,
        quoted.join(",")
    )
}

/// The seeded server, with KV v2 numbers as Vault re-encodes them (through float64).
fn seed_read(path: &str) -> Result<String, String> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    // KV v2 shim for `secret/` (§5.3).
    let path = match path.strip_prefix("secret/") {
        Some(rest) if !rest.starts_with("data/") && !rest.starts_with("metadata/") => {
            format!("secret/data/{rest}")
        }
        _ => path.to_string(),
    };
    let none = || Err(format!("vault.read({path}): no secret exists at {path}"));
    Ok(match path.as_str() {
        "secret/data/simple" => kv2(r#"{"foo":"bar","zip":"zap"}"#, 1, "null", "simple"),
        "secret/data/app" => kv2(
            r#"{"big":12345678901234567000,"empty":"","enabled":true,"html":"<a&b>","list":["a","b",3],"multiline":"line1\nline2\n","neg":-0.5,"nested":{"a":{"y":"deep"},"z":1},"nothing":null,"password":"s3cr3t","port":5432,"ratio":0.75,"sci":1000,"spaces":"  padded  ","unicode":"héllo ✓ 日本","username":"admin"}"#,
            1,
            "null",
            "app",
        ),
        "secret/data/special" => kv2(
            r#"{"123":"num","Key With Space":"sp","UPPER":"up","_under":"u","my-key":"dash","my.key":"dot"}"#,
            1,
            "null",
            "special",
        ),
        "secret/data/jsonstr" => kv2(
            r#"{"config":"{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"e\"}}","yaml":"a: 1\nb:\n  - x\n  - y\n"}"#,
            1,
            "null",
            "jsonstr",
        ),
        "secret/data/b64" => kv2(
            r#"{"enc":"aGVsbG8gd29ybGQ=","url":"aGk_Pz4-"}"#,
            1,
            "null",
            "b64",
        ),
        "secret/data/nums" => kv2(
            r#"{"f":1.5,"huge":1e+21,"i":42,"neg":-3,"negzero":-0,"small":0.000001,"str":"42","tiny":1e-7,"whole":1,"zero":0}"#,
            1,
            "null",
            "nums",
        ),
        "secret/data/empty" => kv2("{}", 1, "null", "empty"),
        "secret/data/lists" => kv2(
            r#"{"emptylist":[],"emptymap":{},"mixed":[1,"two",true,null,{"k":"v"},[1,2]],"ports":[80,443],"servers":["a.example.com","b.example.com"]}"#,
            1,
            "null",
            "lists",
        ),
        "secret/data/dir/one" => kv2(r#"{"v":"1"}"#, 1, "null", "dir/one"),
        "secret/data/dir/two" => kv2(r#"{"v":"2"}"#, 1, "null", "dir/two"),
        "secret/data/dir/sub/three" => kv2(r#"{"v":"3"}"#, 1, "null", "dir/sub/three"),
        "secret/data/versioned" if query == "version=1" => {
            kv2(r#"{"a":"1"}"#, 1, "null", "versioned")
        }
        "secret/data/versioned" => kv2(r#"{"a":"2"}"#, 2, "null", "versioned"),
        "secret/data/meta" => kv2(
            r#"{"k":"v"}"#,
            1,
            r#"{"env":"prod","owner":"team-a"}"#,
            "meta",
        ),
        "kv1/simple" => kv1(r#"{"foo":"bar","zip":"zap"}"#, 2764800),
        "kv1/withttl" => kv1(r#"{"foo":"bar","ttl":"1h"}"#, 3600),
        "kv1/types" => kv1(r#"{"b":false,"l":["x"],"m":{"k":"v"},"n":7}"#, 2764800),
        _ => return none(),
    })
}

fn seed_list(path: &str) -> String {
    let path = match path {
        "secret" => "secret/metadata".to_string(),
        p => match p.strip_prefix("secret/") {
            Some(rest) if !rest.starts_with("metadata") => format!("secret/metadata/{rest}"),
            _ => p.to_string(),
        },
    };
    match path.as_str() {
        "secret/metadata/dir" => list(&["one", "sub/", "two"]),
        "secret/metadata" => list(&[
            "app",
            "b64",
            "deleted",
            "dir/",
            "empty",
            "jsonstr",
            "lists",
            "meta",
            "nums",
            "simple",
            "special",
            "versioned",
        ]),
        "kv1" => list(&["simple", "types", "withttl"]),
        _ => String::new(),
    }
}

fn seed_write(path: &str) -> Result<String, String> {
    match path {
        "auth/token/create" => Ok(r#"{"request_id":"req","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"s.AAAAAAAAAAAAAAAAAAAAAAAA","accessor":"acc","policies":["default"],"token_policies":["default"],"metadata":null,"lease_duration":3600,"renewable":true}}"#.into()),
        p => Err(format!("vault.write({p} -> …): unsupported in the fake")),
    }
}

/// Serves data only for dependencies "fetched" after a pass reported them missing.
struct Fake {
    fetched: BTreeSet<Dependency>,
    env: BTreeMap<String, String>,
}

impl DataSource for Fake {
    fn lookup(&mut self, d: &Dependency) -> Lookup {
        if !self.fetched.contains(d) {
            return Lookup::Missing;
        }
        let r = match d {
            Dependency::Read { path } => seed_read(path),
            Dependency::List { path } => Ok(seed_list(path)),
            Dependency::Write { path, .. } => seed_write(path),
            Dependency::PkiCert { .. } => Err("pkiCert needs a live server".into()),
        };
        match r {
            Ok(body) => Lookup::Ready(body),
            Err(e) => Lookup::Failed(e),
        }
    }
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn now(&self) -> (i64, u32) {
        (1_700_000_000, 0)
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("open {path}: no such file or directory"))
    }
}

/// Agent-style rendering: returns the final output or the agent's error line.
fn run(template: &str, error_on_missing_key: bool) -> Result<String, String> {
    let popts = ParseOptions {
        name: "<DIR>/t.tmpl".into(),
        left_delim: String::new(),
        right_delim: String::new(),
    };
    let t = parse(template, &popts).map_err(|e| e.agent_message())?;
    let ropts = RenderOptions {
        error_on_missing_key,
        destination: "/tmp/out".into(),
        max_output_bytes: 1 << 20,
    };
    let mut fake = Fake {
        fetched: BTreeSet::new(),
        env: BTreeMap::from([("TESTVAR".to_string(), "hello".to_string())]),
    };
    for _ in 0..10 {
        let r = t.render(&mut fake, &ropts).map_err(|e| e.agent_message())?;
        if r.missing.is_empty() {
            return Ok(r.output);
        }
        fake.fetched.extend(r.missing);
    }
    Err("dependencies never settled".into())
}

/// Cases that need data this fake cannot produce; each with the reason.
const SKIPPED: &[(&str, &str)] = &[(
    "E17",
    "agent configuration error, not a template-engine case",
)];

/// Where the observed (OpenBao) outcome differs from Vault 2.0.x, the target (agent.md §0.3):
/// the outcome expected from this engine instead.
const VAULT_OUTCOME: &[(&str, &str)] = &[(
    "E05",
    "<DIR>/t.tmpl: execute: template: :1:3: executing \"\" at <key \"foo\">: error calling key: Consul and Nomad functions are not available in the Vault agent (no Consul/Nomad client is configured)",
)];

#[test]
fn all_template_cases() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/template-cases.json"
    ))
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), 0);
    for c in cases {
        let label = c["label"].as_str().unwrap();
        if SKIPPED.iter().any(|(l, _)| *l == label) {
            skipped += 1;
            continue;
        }
        let template = c["template"].as_str().unwrap();
        let strict = c["template_stanza_extra"]
            .as_str()
            .unwrap_or("")
            .contains("error_on_missing_key = true");
        let got = run(template, strict);
        let ok = match c["kind"].as_str().unwrap() {
            "render" => {
                let mut want = c["expected"]
                    .as_str()
                    .unwrap()
                    .replace("<REQUEST_ID>", "req-simple");
                for p in c["placeholders"].as_array().into_iter().flatten() {
                    let p = p.as_str().unwrap();
                    if p.starts_with("<CREATED_TIME:") {
                        want = want.replace(p, CREATED);
                    }
                }
                match &got {
                    Ok(out) if *out == want => true,
                    _ => {
                        failed.push(format!("{label}: want {want:?}\n      got {got:?}"));
                        false
                    }
                }
            }
            _ => {
                let want = VAULT_OUTCOME
                    .iter()
                    .find(|(l, _)| *l == label)
                    .map_or_else(|| c["expected_error"].as_str().unwrap(), |(_, w)| *w);
                match &got {
                    Err(e) if e == want => true,
                    _ => {
                        failed.push(format!("{label}: want error {want:?}\n      got {got:?}"));
                        false
                    }
                }
            }
        };
        if ok {
            passed += 1;
        }
    }
    println!(
        "template cases: {passed} passed, {} failed, {skipped} skipped of {}",
        failed.len(),
        cases.len()
    );
    assert!(failed.is_empty(), "failing cases:\n{}", failed.join("\n"));
}
