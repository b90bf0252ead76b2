//! The `env` list of the injected agent containers (spec §3.6), written as JSON text in
//! upstream's order (Go's `EnvVar` field order: `name`, `value`, `valueFrom`).

use base64::Engine as _;

use crate::InjectorSettings;
use crate::agent::Agent;
use crate::annotations::{self as k, Known, known};
use crate::containers::{CACHE_PATH, HANDOFF_DIR_ENV};
use crate::jsonw::Arr;

/// `{"name": …, "value": …}`, the value omitted when empty (Go's `omitempty`).
fn value(a: &mut Arr<'_>, name: &'static str, value: &str) {
    a.obj(|o| {
        o.str_static("name", name);
        o.str_nonempty("value", value);
    });
}

/// [`value`] for a variable named by the injector's environment.
fn named_value(a: &mut Arr<'_>, name: &str, value: &str) {
    a.obj(|o| {
        o.str("name", name);
        o.str_nonempty("value", value);
    });
}

/// The three `fieldRef` variables every agent gets (`NAMESPACE`, `HOST_IP`, `POD_IP`), as the
/// text [`field_ref`] writes for them (a test pins it): one copy instead of 15 members written
/// one by one, ~2.9k instructions per admission (webapp bench).
const FIELD_REFS: &str = concat!(
    r#"{"name":"NAMESPACE","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},"#,
    r#"{"name":"HOST_IP","valueFrom":{"fieldRef":{"fieldPath":"status.hostIP"}}},"#,
    r#"{"name":"POD_IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}}"#,
);

#[cfg(test)]
fn field_ref(a: &mut Arr<'_>, name: &'static str, path: &'static str) {
    a.obj(|o| {
        o.str_static("name", name);
        o.obj("valueFrom", |v| {
            v.obj("fieldRef", |f| f.str_static("fieldPath", path))
        });
    });
}

/// `VAULT_CACERT_BYTES`: the decoded text when the flag is padded standard base64 (CR/LF
/// ignored, as Go's decoder does), else the raw value.
pub(crate) fn cacert_bytes(raw: &str) -> String {
    let cleaned: String = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    match engine.decode(cleaned.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => raw.to_owned(),
    }
}

/// Writes the items of the `env` array. `config` is the base64 `VAULT_CONFIG` (config-map
/// mode has none); `reload` the sidecar's reload actions (empty: none).
pub(crate) fn write(
    a: &mut Arr<'_>,
    agent: &Agent<'_>,
    settings: &InjectorSettings,
    config: &str,
    reload: &str,
) {
    a.raw_static(FIELD_REFS);
    let opt = |a: &mut Arr<'_>, name: &'static str, key: Known| {
        let v = agent.get(key);
        if !v.is_empty() {
            value(a, name, v);
        }
    };
    opt(a, "GOMAXPROCS", known::GO_MAX_PROCS);
    opt(a, "VAULT_CLIENT_TIMEOUT", known::CLIENT_TIMEOUT);
    opt(a, "VAULT_MAX_RETRIES", known::CLIENT_MAX_RETRIES);
    opt(a, "VAULT_LOG_LEVEL", known::LOG_LEVEL);
    opt(a, "VAULT_LOG_FORMAT", known::LOG_FORMAT);
    opt(a, "HTTPS_PROXY", known::PROXY_ADDRESS);
    if agent.otel_forward {
        for (name, v) in &settings.agent_otel_env {
            named_value(a, name, v);
        }
    }
    if agent.configmap().is_empty() {
        a.obj(|o| {
            o.str_static("name", "VAULT_CONFIG");
            // Base64 text never needs JSON escaping, and it is the longest string here.
            if !config.is_empty() {
                o.str_plain("value", config);
            }
        });
    } else {
        opt(a, "VAULT_ADDR", known::SERVICE);
        opt(a, "VAULT_CACERT", known::CA_CERT);
        opt(a, "VAULT_CAPATH", known::CA_KEY);
        opt(a, "VAULT_CLIENT_CERT", known::CLIENT_CERT);
        opt(a, "VAULT_CLIENT_KEY", known::CLIENT_KEY);
        let skip = if agent.tls_skip_verify {
            "true"
        } else {
            "false"
        };
        value(a, "VAULT_SKIP_VERIFY", skip);
        opt(a, "VAULT_TLS_SERVER_NAME", known::TLS_SERVER_NAME);
    }
    if !settings.vault_cacert_bytes.is_empty() {
        value(
            a,
            "VAULT_CACERT_BYTES",
            &cacert_bytes(&settings.vault_cacert_bytes),
        );
    }
    if agent.credential_handoff {
        value(a, HANDOFF_DIR_ENV, CACHE_PATH);
    }
    if agent.is_aws() {
        // Upstream's order is random (map iteration); ours is alphabetical.
        for name in [
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            let found = agent
                .pod
                .containers
                .iter()
                .flat_map(|c| c.env())
                .find(|(n, _)| *n == name);
            if let Some((_, v)) = found {
                value(a, name, v);
            }
        }
        let region = agent
            .annotations
            .pod()
            .get_joined(k::AUTH_CONFIG_PREFIX, "region")
            .unwrap_or("");
        if !region.is_empty() {
            value(a, "AWS_REGION", region);
        }
    }
    if !reload.is_empty() {
        value(a, crate::reload::RELOAD_ENV, reload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn cacert_bytes_decodes_only_valid_base64() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let encoded = STANDARD.encode(pem);
        assert_eq!(cacert_bytes(&encoded), pem);
        let wrapped = format!("{}\r\n{}", &encoded[..8], &encoded[8..]);
        assert_eq!(cacert_bytes(&wrapped), pem);
        assert_eq!(cacert_bytes(pem), pem);
        assert_eq!(cacert_bytes("Zm9v"), "foo");
        assert_eq!(
            cacert_bytes("Zm9"),
            "Zm9",
            "unpadded is not valid standard base64"
        );
    }

    #[test]
    fn field_refs_text_is_what_field_ref_writes() {
        let mut constant = Vec::new();
        Arr::write(&mut constant, |a| a.raw_static(FIELD_REFS));
        let mut written = Vec::new();
        Arr::write(&mut written, |a| {
            field_ref(a, "NAMESPACE", "metadata.namespace");
            field_ref(a, "HOST_IP", "status.hostIP");
            field_ref(a, "POD_IP", "status.podIP");
        });
        assert_eq!(
            String::from_utf8(constant).unwrap_or_default(),
            String::from_utf8(written).unwrap_or_default()
        );
    }

    #[test]
    fn entries_omit_empty_values_and_escape_like_go() {
        let mut out = Vec::new();
        Arr::write(&mut out, |a| {
            value(a, "A", "");
            value(a, "B", "<x & \"y\">\u{2028}");
            field_ref(a, "C", "status.podIP");
        });
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#"[{"name":"A"},{"name":"B","value":"\u003cx \u0026 \"y\"\u003e\u2028"},{"name":"C","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}}]"#
        );
    }
}
