//! Template errors at admission (issue [9]): every template the agent config will carry is
//! parsed with the agent's own engine (`vk-template`), so a typo is reported when the pod is
//! created (an AdmissionReview warning naming the annotation, line and column, or a denial with
//! `agent-deny-template-errors` / `-deny-template-errors`) instead of leaving the pod stuck in
//! Init with the error only in the agent's log.
//!
//! Checked: `agent-inject-template-<name>` and, without one, the default template built for
//! `agent-inject-secret-<name>` (a path with a quote breaks it). Not checked: templates in
//! files (`agent-inject-template-file-*`) and config-map mode, whose text is not in the pod.

use std::borrow::Cow;
use std::fmt;

use crate::agent::Agent;
use crate::annotations as k;

/// One template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The annotation holding (or generating) the template.
    pub(crate) annotation: String,
    pub(crate) line: usize,
    pub(crate) col: Option<usize>,
    pub(crate) reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: template does not parse: line {}",
            self.annotation, self.line
        )?;
        if let Some(col) = self.col {
            write!(f, ", column {col}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Parses every template of the pod; empty when all parse.
pub(crate) fn check(agent: &Agent<'_>) -> Vec<Problem> {
    if !agent.configmap().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in &agent.secrets {
        if !s.template_file.is_empty() {
            continue;
        }
        let generated = s.template.is_empty();
        let text = if generated {
            Cow::Owned(crate::config::default_template(
                agent.default_template,
                s.path,
            ))
        } else {
            Cow::Borrowed(s.template)
        };
        if let Err(e) = vk_template::check_syntax(&text, s.left_delimiter, s.right_delimiter) {
            let prefix = if generated {
                k::SECRET_PREFIX
            } else {
                k::TEMPLATE_PREFIX
            };
            out.push(Problem {
                annotation: format!("{prefix}{}", s.raw),
                line: e.line,
                col: e.col,
                reason: e.reason,
            });
        }
    }
    out
}

/// What turned the problems into a denial, for the message.
pub(crate) fn deny_reason(agent: &Agent<'_>) -> String {
    if agent.deny_template_errors_annotated {
        format!("{}: true", k::AGENT_DENY_TEMPLATE_ERRORS)
    } else {
        "-deny-template-errors".to_owned()
    }
}
