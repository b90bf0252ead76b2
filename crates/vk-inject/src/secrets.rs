//! Secret discovery and naming (spec §2.3). Upstream iterates a Go map, so its order is random;
//! we order secrets by raw name so templates and custom volume indexes are deterministic.

use std::collections::BTreeMap;

use crate::annotations as k;
use crate::primitives::parse_bool;

/// One secret to render, with every companion annotation resolved by its raw name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Secret {
    pub(crate) raw: String,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) template: String,
    pub(crate) template_file: String,
    pub(crate) mount_path: String,
    pub(crate) command: String,
    pub(crate) left_delimiter: String,
    pub(crate) right_delimiter: String,
    pub(crate) file_path_and_name: String,
    pub(crate) file_permission: String,
    pub(crate) err_missing_key: bool,
}

fn get<'a>(ann: &'a BTreeMap<String, String>, prefix: &str, raw: &str) -> Option<&'a str> {
    // Reuse one key buffer per thread: these lookups run ~11 times per secret.
    thread_local!(static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) });
    KEY.with(|k| {
        let mut k = k.borrow_mut();
        k.clear();
        k.push_str(prefix);
        k.push_str(raw);
        ann.get(k.as_str()).map(String::as_str)
    })
}

/// The raw names of all secrets, in ascending order.
fn raw_names(ann: &BTreeMap<String, String>) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for (key, value) in ann {
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
pub(crate) fn discover(ann: &BTreeMap<String, String>) -> Result<Vec<Secret>, String> {
    let global_preserve = ann
        .get(k::PRESERVE_SECRET_CASE)
        .and_then(|v| parse_bool(v).ok())
        .unwrap_or(false);
    let global_mount = ann.get(k::SECRET_VOLUME_PATH).map_or("", String::as_str);
    let mut out = Vec::new();
    for raw in raw_names(ann) {
        // Parse errors of the case switches are ignored upstream (treated as false).
        let preserve = match get(ann, k::PRESERVE_SECRET_CASE_PREFIX, raw) {
            Some(v) => parse_bool(v).unwrap_or(false),
            None => global_preserve,
        };
        let name = if preserve {
            raw.to_owned()
        } else {
            raw.to_lowercase()
        };
        let template = get(ann, k::TEMPLATE_PREFIX, raw).unwrap_or("").to_owned();
        let template_file = if template.is_empty() {
            get(ann, k::TEMPLATE_FILE_PREFIX, raw)
                .unwrap_or("")
                .to_owned()
        } else {
            String::new()
        };
        let err_missing_key =
            parse_bool(get(ann, k::ERROR_ON_MISSING_KEY_PREFIX, raw).unwrap_or(""))
                .map_err(|e| e.to_string())?;
        let field = |prefix: &str| get(ann, prefix, raw).unwrap_or("").to_owned();
        out.push(Secret {
            raw: raw.to_owned(),
            name,
            path: field(k::SECRET_PREFIX),
            template,
            template_file,
            mount_path: get(ann, k::SECRET_VOLUME_PATH_PREFIX, raw)
                .unwrap_or(global_mount)
                .to_owned(),
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

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("vault.hashicorp.com/{k}"), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn template_file_prefix_alone_yields_file_dash() {
        let a = ann(&[
            ("agent-inject-template-file-", "x"),
            ("agent-inject-secret-", "y"),
            ("agent-inject-secret", "z"),
        ]);
        let names: Vec<String> = discover(&a)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.raw)
            .collect();
        assert_eq!(names, vec!["file-"]);
    }

    #[test]
    fn blank_values_do_not_create_secrets() {
        let a = ann(&[
            ("agent-inject-secret-a", "  "),
            ("agent-inject-template-b", "t"),
        ]);
        let names: Vec<String> = discover(&a)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.raw)
            .collect();
        assert_eq!(names, vec!["b"]);
    }
}
