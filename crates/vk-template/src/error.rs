//! Template errors, shaped like Go's `text/template` messages so agent logs read the same.

/// A parse or execution failure.
///
/// `Display` gives the Go-shaped text without the agent's prefix (see [`TemplateError::agent_message`]):
/// `template: :<line>: <reason>` (parse) or
/// `template: :<line>:<col>: executing "<template>" at <<node>>: <reason>` (execute).
/// consul-template names every template `""`, so the location's name part is always empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not a valid template.
    #[error("template: :{line}: {reason}")]
    Parse {
        /// [`crate::ParseOptions::name`] (the source path, for the agent's prefix).
        name: String,
        /// 1-based line of the offending token.
        line: usize,
        /// What is wrong, e.g. `unterminated quoted string`.
        reason: String,
    },
    /// Execution stopped at a node.
    #[error("template: :{line}:{col}: executing \"{template}\" at <{node}>: {reason}")]
    Exec {
        /// [`crate::ParseOptions::name`] (the source path, for the agent's prefix).
        name: String,
        /// The (sub)template being executed: `""` for the main body, else the `define` name.
        template: String,
        /// 1-based line of the node.
        line: usize,
        /// Byte column of the node (0-based, as Go reports it).
        col: usize,
        /// The node as Go prints it (e.g. `.Data.data.nope`).
        node: String,
        /// What went wrong, e.g. `map has no entry for key "nope"`.
        reason: String,
    },
    /// Execution failed where Go has no node to point at (e.g. an unknown template name at top level).
    #[error("template: {template}: {reason}")]
    ExecNoNode {
        /// [`crate::ParseOptions::name`].
        name: String,
        /// The (sub)template being executed.
        template: String,
        /// What went wrong.
        reason: String,
    },
    /// A dependency could not be fetched ([`crate::Lookup::Failed`]); the text is passed through.
    #[error("{0}")]
    Dependency(String),
    /// A guard rail stopped the render (output size, steps, depth).
    #[error("template: {0}")]
    Limit(String),
}

impl TemplateError {
    /// The reason text alone (no location prefix).
    pub fn reason(&self) -> &str {
        match self {
            TemplateError::Parse { reason, .. }
            | TemplateError::Exec { reason, .. }
            | TemplateError::ExecNoNode { reason, .. } => reason,
            TemplateError::Dependency(text) | TemplateError::Limit(text) => text,
        }
    }

    /// The 1-based line, when the error has a location.
    pub fn line(&self) -> Option<usize> {
        match self {
            TemplateError::Parse { line, .. } | TemplateError::Exec { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The byte column (execution errors only).
    pub fn col(&self) -> Option<usize> {
        match self {
            TemplateError::Exec { col, .. } => Some(*col),
            _ => None,
        }
    }

    /// The line the agent logs: `<source or "(dynamic)">: parse: …` / `…: execute: …`.
    pub fn agent_message(&self) -> String {
        let source = |name: &str| {
            if name.is_empty() {
                "(dynamic)".to_string()
            } else {
                name.to_string()
            }
        };
        match self {
            TemplateError::Parse { name, .. } => format!("{}: parse: {self}", source(name)),
            TemplateError::Exec { name, .. } | TemplateError::ExecNoNode { name, .. } => {
                format!("{}: execute: {self}", source(name))
            }
            TemplateError::Dependency(_) | TemplateError::Limit(_) => self.to_string(),
        }
    }
}
