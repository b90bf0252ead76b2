//! One API call: what it is (for error messages and RBAC hints) and how hard to try it.

use std::fmt;
use std::time::Duration;

/// The verb, resource and object of one API call, as RBAC names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub verb: &'static str,
    /// Plural resource name, e.g. `secrets`.
    pub resource: &'static str,
    /// API group; empty for the core group.
    pub group: &'static str,
    /// `None` for cluster-scoped resources.
    pub namespace: Option<String>,
    /// Object name; empty for collection calls (list, watch, create).
    pub name: String,
}

/// Per-attempt timeout and how many attempts a transient failure gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPolicy {
    pub timeout: Duration,
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one, capped at 5 s.
    pub first_backoff: Duration,
}

impl CallPolicy {
    /// For one-off calls (certificate Secret, webhook configuration).
    pub const STANDARD: Self = Self {
        timeout: Duration::from_secs(10),
        attempts: 4,
        first_backoff: Duration::from_millis(250),
    };

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.min(8);
        (self.first_backoff * factor).min(Duration::from_secs(5))
    }
}

impl Call {
    pub(crate) fn new(
        verb: &'static str,
        resource: &'static str,
        group: &'static str,
        namespace: Option<&str>,
        name: &str,
    ) -> Self {
        Self {
            verb,
            resource,
            group,
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// The RBAC rule this call needs, in the shape of a Role/ClusterRole rule.
    pub fn rbac_rule(&self) -> String {
        let scope = match &self.namespace {
            Some(ns) => format!(" in a Role in namespace {ns:?}"),
            None => " in a ClusterRole".to_owned(),
        };
        format!(
            "{{apiGroups: [{:?}], resources: [{:?}], verbs: [{:?}]}}{scope}",
            self.group, self.resource, self.verb
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if !self.name.is_empty() {
            write!(f, " {:?}", self.name)?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, " in namespace {ns:?}")?;
        }
        Ok(())
    }
}
