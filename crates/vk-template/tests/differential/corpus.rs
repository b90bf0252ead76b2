//! The corpus: `tests/corpus/<name>.tmpl` (the exact template bytes) plus an optional
//! `tests/corpus/<name>.opts` sidecar with one `key = value` per line (`#` starts a comment line;
//! a value starting with `"` is a JSON string literal):
//!
//! * `expect = error` — both sides must fail (default `render`: both must succeed, same bytes);
//! * `reason = loose` — for error cases, do not require the engine's message to contain bao's
//!   reason text (used where bao's text carries request-specific data);
//! * `error_on_missing_key = true`;
//! * `left_delimiter = …`, `right_delimiter = …`;
//! * `env.NAME = value` — environment of the agent process and of the engine's `env` lookups;
//! * `note = …` — free text shown in reports;
//! * `divergence = <one-line reason>` + `expect_engine = <substring>` — a documented, deliberate
//!   difference (README "Known differences from Vault Agent"): bao's side must still run as
//!   `expect` says, and the engine's output (render) or error message must contain
//!   `expect_engine`. A declared divergence whose two sides agree fails too (stale declaration).
//!
//! The text `@FIXTURES@` in a template is replaced by the directory holding the harness's
//! fixture files (for the `file` function) before either side sees it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::json;

#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) template: String,
    pub(crate) expect_error: bool,
    pub(crate) loose_reason: bool,
    pub(crate) error_on_missing_key: bool,
    pub(crate) left_delim: String,
    pub(crate) right_delim: String,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) note: String,
    pub(crate) divergence: String,
    pub(crate) expect_engine: String,
}

pub(crate) fn load(dir: &Path) -> Vec<Case> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus dir {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".tmpl").map(str::to_string))
        .collect();
    names.sort();
    // Every sidecar must belong to a template (catches typos in file names).
    for e in fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = n.strip_suffix(".opts") {
            assert!(
                names.iter().any(|x| x == stem),
                "corpus: {n} has no {stem}.tmpl"
            );
        }
    }
    names
        .into_iter()
        .map(|name| {
            let template = fs::read_to_string(dir.join(format!("{name}.tmpl")))
                .unwrap_or_else(|e| panic!("corpus {name}.tmpl: {e}"));
            let mut case = Case {
                name: name.clone(),
                template,
                expect_error: false,
                loose_reason: false,
                error_on_missing_key: false,
                left_delim: String::new(),
                right_delim: String::new(),
                env: BTreeMap::new(),
                note: String::new(),
                divergence: String::new(),
                expect_engine: String::new(),
            };
            let opts_path = dir.join(format!("{name}.opts"));
            if let Ok(opts) = fs::read_to_string(&opts_path) {
                apply_opts(&mut case, &opts);
            }
            assert_eq!(
                case.divergence.is_empty(),
                case.expect_engine.is_empty(),
                "corpus {name}.opts: `divergence` and `expect_engine` go together"
            );
            case
        })
        .collect()
}

fn apply_opts(case: &mut Case, text: &str) {
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}.opts:{}: expected key = value", case.name, n + 1));
        let key = key.trim();
        let value = value.trim();
        let value = if value.starts_with('"') {
            match json::parse(value) {
                Ok(json::Json::Str(s)) => s,
                _ => panic!("{}.opts:{}: bad JSON string {value}", case.name, n + 1),
            }
        } else {
            value.to_string()
        };
        let flag = |v: &str| match v {
            "true" => true,
            "false" => false,
            _ => panic!("{}.opts:{}: expected true/false, got {v}", case.name, n + 1),
        };
        match key {
            "expect" => {
                case.expect_error = match value.as_str() {
                    "error" => true,
                    "render" => false,
                    v => panic!(
                        "{}.opts:{}: expect = render|error, got {v}",
                        case.name,
                        n + 1
                    ),
                }
            }
            "reason" => case.loose_reason = value == "loose",
            "error_on_missing_key" => case.error_on_missing_key = flag(&value),
            "left_delimiter" => case.left_delim = value,
            "right_delimiter" => case.right_delim = value,
            "note" => case.note = value,
            "divergence" => case.divergence = value,
            "expect_engine" => case.expect_engine = value,
            k if k.starts_with("env.") => {
                case.env.insert(k["env.".len()..].to_string(), value);
            }
            k => panic!("{}.opts:{}: unknown key {k}", case.name, n + 1),
        }
    }
}
