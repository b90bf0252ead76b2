//! Secret discovery and naming (spec §2.3). Upstream iterates a Go map, so its order is random;
//! we order secrets by raw name so templates and custom volume indexes are deterministic.

use std::borrow::Cow;

use crate::annotations::{self as k, Annotations};
use crate::pod::PodAnnotations;
use crate::primitives::parse_bool;

/// One secret to render, with every companion annotation resolved by its raw name (all borrowed
/// from the pod's annotations; only a lower-cased name is owned).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Secret<'p> {
    pub(crate) raw: &'p str,
    pub(crate) name: Cow<'p, str>,
    pub(crate) path: &'p str,
    pub(crate) template: &'p str,
    pub(crate) template_file: &'p str,
    pub(crate) mount_path: &'p str,
    pub(crate) command: &'p str,
    pub(crate) left_delimiter: &'p str,
    pub(crate) right_delimiter: &'p str,
    pub(crate) file_path_and_name: &'p str,
    pub(crate) file_permission: &'p str,
    pub(crate) err_missing_key: bool,
}

/// `to_lowercase`, allocating only when some character actually changes.
fn lower(raw: &str) -> Cow<'_, str> {
    let unchanged = if raw.is_ascii() {
        !raw.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        raw.chars().all(|c| c.to_lowercase().eq(std::iter::once(c)))
    };
    if unchanged {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.to_lowercase())
    }
}

/// The raw names of all secrets, in ascending order.
fn raw_names<'p>(ann: &PodAnnotations<'p>) -> Vec<&'p str> {
    let mut names: Vec<&str> = Vec::new();
    for (key, value) in ann.iter() {
        if value.trim().is_empty() {
            continue;
        }
        for prefix in [
            k::SECRET_PREFIX,
            k::TEMPLATE_FILE_PREFIX,
            k::TEMPLATE_PREFIX,
        ] {
            match key.strip_prefix(prefix) {
                Some("") | None => continue,
                Some(raw) => {
                    names.push(raw);
                    break;
                }
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// Discovers the secrets; the error is the `error-on-missing-key-<N>` parse failure.
pub(crate) fn discover<'p>(all: &Annotations<'p>) -> Result<Vec<Secret<'p>>, String> {
    // Per-secret keys have no defaults, so the pod's own annotations answer every lookup
    // except the global mount path, whose Init default is a constant.
    let ann = all.pod();
    let get = |prefix: &str, raw: &str| ann.get_joined(prefix, raw);
    let global_preserve = ann
        .get(k::PRESERVE_SECRET_CASE)
        .and_then(|v| parse_bool(v).ok())
        .unwrap_or(false);
    let global_mount = ann
        .get(k::SECRET_VOLUME_PATH)
        .unwrap_or(k::DEFAULT_SECRET_VOLUME_PATH);
    let names = raw_names(ann);
    let mut out = Vec::with_capacity(names.len());
    for raw in names {
        // Parse errors of the case switches are ignored upstream (treated as false).
        let preserve = match get(k::PRESERVE_SECRET_CASE_PREFIX, raw) {
            Some(v) => parse_bool(v).unwrap_or(false),
            None => global_preserve,
        };
        let name = if preserve {
            Cow::Borrowed(raw)
        } else {
            lower(raw)
        };
        let template = get(k::TEMPLATE_PREFIX, raw).unwrap_or("");
        let template_file = if template.is_empty() {
            get(k::TEMPLATE_FILE_PREFIX, raw).unwrap_or("")
        } else {
            ""
        };
        let err_missing_key = parse_bool(get(k::ERROR_ON_MISSING_KEY_PREFIX, raw).unwrap_or(""))
            .map_err(|e| e.to_string())?;
        let field = |prefix: &str| get(prefix, raw).unwrap_or("");
        out.push(Secret {
            raw,
            name,
            path: field(k::SECRET_PREFIX),
            template,
            template_file,
            mount_path: get(k::SECRET_VOLUME_PATH_PREFIX, raw).unwrap_or(global_mount),
            command: field(k::COMMAND_PREFIX),
            left_delimiter: field(k::LEFT_DELIM_PREFIX),
            right_delimiter: field(k::RIGHT_DELIM_PREFIX),
            file_path_and_name: field(k::FILE_PREFIX),
            file_permission: field(k::PERMS_PREFIX),
            err_missing_key,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InjectorSettings;
    use crate::pod::Pod;
    use serde_json::{Map, Value, json};

    /// Secrets discovered from a pod carrying `pairs` (keys without the common prefix).
    fn raw_names_of(pairs: &[(&str, &str)]) -> Vec<String> {
        let ann: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (format!("vault.hashicorp.com/{k}"), json!(v)))
            .collect();
        let raw = json!({"metadata": {"annotations": ann}});
        let raw = crate::jsontree::Json::from_value(&raw);
        let pod = Pod::decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        let settings = InjectorSettings {
            vault_address: "https://v".to_owned(),
            ..InjectorSettings::default()
        };
        let init = k::init(&pod, "ns", &settings).unwrap_or_else(|e| panic!("{e}"));
        discover(&init.annotations)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.raw.to_owned())
            .collect()
    }

    #[test]
    fn template_file_prefix_alone_yields_file_dash() {
        let names = raw_names_of(&[
            ("agent-inject-template-file-", "x"),
            ("agent-inject-secret-", "y"),
            ("agent-inject-secret", "z"),
        ]);
        assert_eq!(names, vec!["file-"]);
    }

    #[test]
    fn blank_values_do_not_create_secrets() {
        let names = raw_names_of(&[
            ("agent-inject-secret-a", "  "),
            ("agent-inject-template-b", "t"),
        ]);
        assert_eq!(names, vec!["b"]);
    }

    #[test]
    fn lower_borrows_unless_something_changes() {
        assert!(matches!(lower("db-config"), Cow::Borrowed("db-config")));
        assert_eq!(lower("DB-Config"), "db-config");
        assert!(matches!(lower("é"), Cow::Borrowed(_)));
        assert_eq!(lower("É"), "é");
        // A title-case letter is not upper-case but still lower-cases to something else.
        assert_eq!(lower("\u{1c5}"), "\u{1c6}");
    }
}
