//! Template engine: Go `text/template` + consul-template functions, rendering byte for byte what Vault Agent renders.
//!
//! Owns: parsing, execution, value printing, the function library, error positions, guard rails.
//! Must never: perform I/O. Secrets, lists, certificates, environment, files and the clock come in
//! through [`DataSource`], which the agent (and tests) implement.
//!
//! API CONTRACT (fixed; the agent and the differential test code against it). Internals are free,
//! items may be added, these signatures must not change.
//!
//! Entry points: [`parse`] turns template text into a [`Template`]; [`Template::render`] executes it
//! against a [`DataSource`]. Errors are [`TemplateError`]s whose `Display` is Go's message shape.

mod ast;
mod error;
mod exec;
mod funcs;
mod gofmt;
mod json;
mod lexer;
mod objects;
mod parser;
mod pem;
mod printf;
mod timefmt;
mod toml_emit;
mod value;
mod yaml_emit;
mod yaml_parse;

pub use error::TemplateError;

/// How to parse one template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// Name used in error messages (the template's `source` path, or empty for inline contents).
    pub name: String,
    /// Left delimiter (`{{` when empty).
    pub left_delim: String,
    /// Right delimiter (`}}` when empty).
    pub right_delim: String,
}

/// How to execute one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// `error_on_missing_key`: Go's `missingkey=error` instead of `missingkey=zero`.
    pub error_on_missing_key: bool,
    /// The template's destination path (`pkiCert` uses it as its cache key).
    pub destination: String,
    /// Output larger than this fails the render (guard rail against hostile templates).
    pub max_output_bytes: usize,
}

/// One piece of data a template asked for. Two equal dependencies are fetched once and shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dependency {
    /// `secret "path"` (path trimmed of spaces and surrounding `/`; a `?query` stays in `path`).
    Read { path: String },
    /// `secret "path" "k=v" …`: a write; `data` keeps the argument order, keys/values trimmed.
    Write {
        path: String,
        data: Vec<(String, String)>,
    },
    /// `secrets "path"`: a list.
    List { path: String },
    /// `pkiCert "path" "k=v" …`: a PKI issue, cached in the template's destination file.
    PkiCert {
        path: String,
        data: Vec<(String, String)>,
        destination: String,
    },
}

/// What a [`DataSource`] says about one dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not fetched yet: the engine records the dependency as missing and renders an empty value.
    Missing,
    /// The raw JSON body of Vault's response (numbers are kept exactly as written in it).
    /// For `PkiCert` served from the destination-file cache: a JSON object whose `data` holds
    /// `certificate`, `private_key`, `issuing_ca` (and `ca_chain`) strings.
    Ready(String),
    /// The fetch failed for good (e.g. `no secret exists at secret/data/x`); the render fails with this text.
    Failed(String),
}

/// Everything outside the engine that a template can observe.
pub trait DataSource {
    /// Data for a dependency (see [`Lookup`]).
    fn lookup(&mut self, dependency: &Dependency) -> Lookup;
    /// An environment variable (`env`, `envOrDefault`, `mustEnv`); `None` when unset.
    fn env(&self, name: &str) -> Option<String>;
    /// Current time as (seconds, nanoseconds) since the Unix epoch, UTC (`timestamp`).
    fn now(&self) -> (i64, u32);
    /// Contents of a local file (`file`); `Err` carries the reason.
    fn read_file(&self, path: &str) -> Result<String, String>;
}

/// The result of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered bytes; meaningful only when `missing` is empty.
    pub output: String,
    /// Every dependency this execution used, in first-use order, deduplicated.
    pub dependencies: Vec<Dependency>,
    /// Those that were [`Lookup::Missing`]: the file must not be written yet.
    pub missing: Vec<Dependency>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            error_on_missing_key: false,
            destination: String::new(),
            max_output_bytes: 16 << 20,
        }
    }
}

/// A parsed template (the main body plus every `define`d / `block` template).
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    trees: parser::TreeSet,
}

/// Parse template text with the given delimiters (`{{`/`}}` when empty).
pub fn parse(text: &str, opts: &ParseOptions) -> Result<Template, TemplateError> {
    let left = if opts.left_delim.is_empty() {
        "{{"
    } else {
        opts.left_delim.as_str()
    };
    let right = if opts.right_delim.is_empty() {
        "}}"
    } else {
        opts.right_delim.as_str()
    };
    let trees = parser::parse(text, left, right).map_err(|e| TemplateError::Parse {
        name: opts.name.clone(),
        line: e.line,
        reason: e.reason,
    })?;
    Ok(Template {
        name: opts.name.clone(),
        text: text.to_string(),
        trees,
    })
}

/// Where template text fails to parse, for callers that point a user at it (the injector's
/// admission check, issue [9]); [`parse`] reports the same failure as a [`TemplateError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) where the offending token starts, when there is one.
    pub col: Option<usize>,
    /// What is wrong, as Go's parser says it, e.g. `unclosed action`.
    pub reason: String,
}

/// Parses `text` only to find out whether it is a valid template (delimiters as in
/// [`ParseOptions`]: `{{`/`}}` when empty).
pub fn check_syntax(text: &str, left_delim: &str, right_delim: &str) -> Result<(), SyntaxError> {
    let left = if left_delim.is_empty() {
        "{{"
    } else {
        left_delim
    };
    let right = if right_delim.is_empty() {
        "}}"
    } else {
        right_delim
    };
    match parser::check(text, left, right) {
        Ok(()) => Ok(()),
        Err(e) => Err(SyntaxError {
            line: e.line,
            col: e.pos.filter(|p| *p <= text.len()).map(|p| {
                let before = text.get(..p).unwrap_or("");
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                before[line_start..].chars().count() + 1
            }),
            reason: e.reason,
        }),
    }
}

impl Template {
    /// Execute the template once (Go's `Execute` with nil data).
    ///
    /// Data functions whose dependency is [`Lookup::Missing`] yield empty values and are listed in
    /// [`Rendered::missing`]; the caller writes the output only when that list is empty.
    pub fn render(
        &self,
        source: &mut dyn DataSource,
        opts: &RenderOptions,
    ) -> Result<Rendered, TemplateError> {
        let mut state = exec::State::new(&self.text, &self.name, &self.trees, source, opts);
        let output = state.run()?;
        Ok(Rendered {
            output,
            dependencies: std::mem::take(&mut state.dependencies),
            missing: std::mem::take(&mut state.missing),
        })
    }

    /// Names of the templates defined with `define`/`block` (the main body is `""`).
    pub fn defined_templates(&self) -> Vec<&str> {
        self.trees.keys().map(String::as_str).collect()
    }
}
