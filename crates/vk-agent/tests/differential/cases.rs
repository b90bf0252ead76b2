//! The cases: every template of vk-template's corpus (`crates/vk-template/tests/corpus/`) plus
//! every case of `shared/testdata/template-cases.json` (the copy in vk-template's `tests/data/`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::corpus::{self, Case};

/// One template to render with both agents.
pub(crate) struct AgentCase {
    pub(crate) case: Case,
    /// The template source file both agents read (`@FIXTURES@` substituted).
    pub(crate) source: PathBuf,
    /// Extra keys of the `template` stanza (template-cases.json's `template_stanza_extra`).
    pub(crate) stanza_extra: Vec<(String, serde_json::Value)>,
    /// The configuration itself is invalid: both agents must refuse to start, and ours must
    /// name the offending key (the first `stanza_extra` key).
    pub(crate) config_error: bool,
}

impl AgentCase {
    /// The destination, relative to the agent's working directory.
    pub(crate) fn destination(&self) -> String {
        format!("out/{}", sanitize(&self.case.name))
    }
}

pub(crate) fn sanitize(name: &str) -> String {
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

fn vk_template_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vk-template/tests")
}

/// The corpus cases, then the template-cases.json cases (named `tc-<id>`). Sources are written
/// to `src_dir` with `@FIXTURES@` replaced by `fixtures`.
pub(crate) fn load(src_dir: &Path, fixtures: &Path) -> Vec<AgentCase> {
    let corpus = corpus::load(&vk_template_tests().join("corpus"));
    let shared = shared_cases(&corpus);
    let fixtures = fixtures.display().to_string();
    corpus
        .into_iter()
        .map(|case| (case, Vec::new(), false))
        .chain(shared)
        .map(|(case, stanza_extra, config_error)| {
            let source = src_dir.join(format!("{}.tmpl", sanitize(&case.name)));
            fs::write(&source, case.template.replace("@FIXTURES@", &fixtures))
                .unwrap_or_else(|e| panic!("writing {}: {e}", source.display()));
            AgentCase {
                case,
                source,
                stanza_extra,
                config_error,
            }
        })
        .collect()
}

type Shared = (Case, Vec<(String, serde_json::Value)>, bool);

/// template-cases.json as corpus cases. A case whose template is a corpus case with a declared
/// divergence inherits that declaration (E05 is corpus case e05).
fn shared_cases(corpus: &[Case]) -> Vec<Shared> {
    let path = vk_template_tests().join("data/template-cases.json");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("template-cases.json");
    let cases = doc["cases"].as_array().expect("template-cases.json: cases");
    cases
        .iter()
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            let extra = field("template_stanza_extra");
            let error_on_missing_key = extra.contains("error_on_missing_key = true");
            // The other extras are `key = value` lines naming a key no agent accepts (E17).
            let stanza_extra: Vec<(String, serde_json::Value)> = extra
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim()))
                .filter(|(k, _)| k != "error_on_missing_key")
                .map(|(k, v)| {
                    let v = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.into()));
                    (k, v)
                })
                .collect();
            let template = field("template");
            let inherited = corpus.iter().find(|k| {
                k.template == template
                    && k.error_on_missing_key == error_on_missing_key
                    && !k.divergence.is_empty()
            });
            let case = Case {
                name: format!("tc-{}", field("id")),
                template,
                expect_error: field("kind") == "error",
                loose_reason: false,
                error_on_missing_key,
                left_delim: String::new(),
                right_delim: String::new(),
                // What the shared cases were recorded with (vk-template's tests/cases.rs).
                env: BTreeMap::from([("TESTVAR".to_string(), "hello".to_string())]),
                note: format!("{} from template-cases.json", field("label")),
                divergence: inherited.map(|k| k.divergence.clone()).unwrap_or_default(),
                expect_engine: inherited
                    .map(|k| k.expect_engine.clone())
                    .unwrap_or_default(),
            };
            let config_error = !stanza_extra.is_empty();
            (case, stanza_extra, config_error)
        })
        .collect()
}
