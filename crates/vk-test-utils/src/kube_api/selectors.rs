//! `labelSelector` and `fieldSelector` of LIST and WATCH.
//!
//! Label selectors: equality-based terms (`k=v`, `k==v`, `k!=v`) and existence (`k`, `!k`),
//! comma-separated. Set-based terms (`k in (a,b)`) are refused with 400 naming the term rather
//! than ignored. Field selectors: `metadata.name` and `metadata.namespace` with `=`, `==`, `!=`;
//! other fields get the API server's "field label not supported" 400.

use serde_json::Value;

use super::status::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

/// A parsed label and field selector pair; the empty selector matches everything.
#[derive(Debug, Clone, Default)]
pub(super) struct Selector {
    labels: Vec<Term>,
    fields: Vec<Term>,
}

fn parse_terms(raw: &str, what: &str) -> Result<Vec<Term>, ApiError> {
    if raw.contains('(') || raw.contains(" in ") || raw.contains(" notin ") {
        return Err(ApiError::bad_request(format!(
            "unable to parse requirement in {what} {raw:?}: set-based selectors are not supported by this test API server; use k=v, k!=v, k or !k"
        )));
    }
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if let Some((k, v)) = t.split_once("!=") {
                Ok(Term::NotEquals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = t.split_once("==") {
                Ok(Term::Equals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = t.split_once('=') {
                Ok(Term::Equals(k.trim().into(), v.trim().into()))
            } else if let Some(k) = t.strip_prefix('!') {
                Ok(Term::NotExists(k.trim().into()))
            } else if t.contains(['<', '>', ' ']) {
                Err(ApiError::bad_request(format!(
                    "unable to parse requirement {t:?} in {what}"
                )))
            } else {
                Ok(Term::Exists(t.into()))
            }
        })
        .collect()
}

impl Selector {
    /// From the raw query values (either may be absent).
    pub(super) fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Self, ApiError> {
        let labels = labels
            .map(|l| parse_terms(l, "labelSelector"))
            .transpose()?
            .unwrap_or_default();
        let fields = fields
            .map(|f| parse_terms(f, "fieldSelector"))
            .transpose()?
            .unwrap_or_default();
        for f in &fields {
            let key = match f {
                Term::Equals(k, _) | Term::NotEquals(k, _) => k,
                Term::Exists(k) | Term::NotExists(k) => {
                    return Err(ApiError::bad_request(format!(
                        "invalid field selector term {k:?}: expected field=value or field!=value"
                    )));
                }
            };
            if key != "metadata.name" && key != "metadata.namespace" {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {key}"
                )));
            }
        }
        Ok(Self { labels, fields })
    }

    /// Whether `obj` satisfies every term.
    pub(super) fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        let label_ok = self.labels.iter().all(|t| match t {
            Term::Equals(k, v) => labels[k].as_str() == Some(v),
            Term::NotEquals(k, v) => labels[k].as_str() != Some(v),
            Term::Exists(k) => labels.get(k).is_some(),
            Term::NotExists(k) => labels.get(k).is_none(),
        });
        let field = |k: &str| -> String {
            let key = k.strip_prefix("metadata.").unwrap_or(k);
            obj["metadata"][key]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let field_ok = self.fields.iter().all(|t| match t {
            Term::Equals(k, v) => field(k) == *v,
            Term::NotEquals(k, v) => field(k) != *v,
            Term::Exists(_) | Term::NotExists(_) => true,
        });
        label_ok && field_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_and_field_terms() {
        let obj = json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "web", "tier": "x"}}});
        let m = |l: Option<&str>, f: Option<&str>| Selector::parse(l, f).unwrap().matches(&obj);
        assert!(m(None, None));
        assert!(m(Some("app=web,tier"), None));
        assert!(m(Some("app==web,!missing,tier!=y"), None));
        assert!(!m(Some("app=db"), None));
        assert!(!m(Some("!app"), None));
        assert!(m(None, Some("metadata.name=a")));
        assert!(!m(None, Some("metadata.name=b")));
        assert!(m(
            Some("app=web"),
            Some("metadata.namespace==ns,metadata.name!=b")
        ));
        assert_eq!(
            Selector::parse(Some("app in (a,b)"), None)
                .unwrap_err()
                .code,
            400
        );
        let e = Selector::parse(None, Some("spec.nodeName=n")).unwrap_err();
        assert!(
            e.message
                .contains("field label not supported: spec.nodeName")
        );
    }
}
