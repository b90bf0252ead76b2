//! Booleans, durations and unknown keys as Vault Agent decodes them (observed with
//! `bao agent` 2.7.2): strict HCL bools, weak Go bools, Go durations or whole seconds.

use std::collections::BTreeMap;
use std::time::Duration;

use vk_agent_config::*;

fn load_text(text: &str) -> Result<Loaded, String> {
    load(text, "/etc/agent.hcl", &BTreeMap::new()).map_err(|e| e.to_string())
}

fn with_auth(top: &str, method_extra: &str, listener_extra: &str) -> String {
    format!(
        "{top}\nauto_auth {{\n  method \"kubernetes\" {{\n    {method_extra}\n    config = {{ role = \"r\" }}\n  }}\n  sink \"file\" {{ config = {{ path = \"/t\" }} }}\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:8200\"\n  {listener_extra}\n}}\n"
    )
}

#[test]
fn weak_booleans_take_every_go_spelling() {
    for (raw, want) in [
        ("\"1\"", true),
        ("\"t\"", true),
        ("\"T\"", true),
        ("\"TRUE\"", true),
        ("\"true\"", true),
        ("\"True\"", true),
        ("\"0\"", false),
        ("\"f\"", false),
        ("\"F\"", false),
        ("\"FALSE\"", false),
        ("\"false\"", false),
        ("\"False\"", false),
        ("true", true),
        ("false", false),
        ("1", true),
        ("0", false),
        ("\"\"", false),
    ] {
        let text = with_auth("", "", &format!("tls_disable = {raw}"));
        let loaded = load_text(&text).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(loaded.config.listeners[0].tls_disable, want, "{raw}");
    }
}

#[test]
fn weak_booleans_refuse_anything_else_naming_the_key() {
    for raw in ["yes", "no", "tRUE", "on", " true"] {
        let text = with_auth("", "", &format!("tls_disable = \"{raw}\""));
        let e = load_text(&text).unwrap_err();
        assert!(e.contains("tls_disable"), "{raw}: {e}");
        assert!(
            e.contains(&format!(
                "strconv.ParseBool: parsing {raw:?}: invalid syntax"
            )),
            "{raw}: {e}"
        );
    }
    let mut env = BTreeMap::new();
    env.insert("VAULT_SKIP_VERIFY".to_owned(), "maybe".to_owned());
    let e = load(&with_auth("", "", ""), "/etc/agent.hcl", &env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("VAULT_SKIP_VERIFY"), "{e}");
    env.insert("VAULT_SKIP_VERIFY".to_owned(), "TRUE".to_owned());
    let loaded = load(&with_auth("", "", ""), "/etc/agent.hcl", &env).unwrap();
    assert!(loaded.config.vault.tls_skip_verify);
}

#[test]
fn hcl_bool_fields_take_only_real_booleans_like_bao() {
    // `bao agent`: `exit_after_auth = "True"` → "root.exit_after_auth: unknown type".
    for raw in ["\"True\"", "\"true\"", "1", "\"garbage\""] {
        let e = load_text(&with_auth(&format!("exit_after_auth = {raw}"), "", "")).unwrap_err();
        assert!(e.contains("exit_after_auth"), "{raw}: {e}");
        assert!(e.contains("(line 1)"), "{raw}: {e}");
    }
    let loaded = load_text(&with_auth("exit_after_auth = true", "", "")).unwrap();
    assert!(loaded.config.exit_after_auth);
    let e = load_text(&with_auth("", "", "").replace(
        "auto_auth {",
        "auto_auth {\n  enable_reauth_on_new_credentials = \"yes\"",
    ))
    .unwrap_err();
    assert!(e.contains("enable_reauth_on_new_credentials"), "{e}");
    let loaded = load_text(&with_auth("", "", "").replace(
        "auto_auth {",
        "auto_auth {\n  enable_reauth_on_new_credentials = true",
    ))
    .unwrap();
    assert!(
        loaded
            .config
            .auto_auth
            .unwrap()
            .enable_reauth_on_new_credentials
    );
}

#[test]
fn durations_are_go_durations_or_whole_seconds() {
    for (raw, want) in [
        ("\"90s\"", Duration::from_secs(90)),
        ("\"1m30s\"", Duration::from_secs(90)),
        ("\"1.5s\"", Duration::from_millis(1500)),
        ("\"250ms\"", Duration::from_millis(250)),
        ("\"1h\"", Duration::from_secs(3600)),
        ("\"2d\"", Duration::from_secs(2 * 86_400)),
        ("\"45\"", Duration::from_secs(45)),
        ("45", Duration::from_secs(45)),
    ] {
        let text = with_auth(
            "",
            &format!("min_backoff = {raw}\n    max_backoff = \"100h\""),
            "",
        );
        let loaded = load_text(&text).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(
            loaded.config.auto_auth.unwrap().method.min_backoff,
            want,
            "{raw}"
        );
    }
    for (raw, want) in [
        ("\"soon\"", "time: invalid duration \"soon\""),
        (
            "\"5\u{3bc}\"",
            "time: unknown unit \"\u{3bc}\" in duration \"5\u{3bc}\"",
        ),
        ("\"1h30\"", "time: missing unit in duration \"1h30\""),
        ("\"9999999999h\"", "time: invalid duration \"9999999999h\""),
    ] {
        let text = with_auth("", &format!("min_backoff = {raw}"), "");
        let e = load_text(&text).unwrap_err();
        assert!(e.contains("min_backoff"), "{raw}: {e}");
        assert!(e.contains(want), "{raw}: {e}");
    }
}

#[test]
fn template_durations_are_go_durations() {
    let text = format!(
        "{}template {{\n  contents = \"x\"\n  destination = \"/o\"\n  command_timeout = \"1m30s\"\n  wait {{\n    min = \"2s\"\n  }}\n}}\n",
        with_auth("", "", "")
    );
    let loaded = load_text(&text).unwrap();
    let t = &loaded.config.templates[0];
    assert_eq!(t.command_timeout, Duration::from_secs(90));
    assert_eq!(
        t.wait,
        Some(Wait {
            min: Duration::from_secs(2),
            max: Duration::from_secs(8)
        })
    );
    let bad = text.replace("1m30s", "-1s");
    let e = load_text(&bad).unwrap_err();
    assert!(e.contains("command_timeout"), "{e}");
}

#[test]
fn unknown_keys_are_reported_as_warnings_with_their_place() {
    let text = with_auth(
        "colour = \"red\"\nexec { command = [\"x\"] }",
        "flavour = \"x\"",
        "",
    );
    let loaded = load_text(&text).unwrap();
    let found: Vec<(String, String)> = loaded
        .warnings
        .iter()
        .map(|w| (w.section.clone(), w.key.clone()))
        .collect();
    assert!(
        found.contains(&("top level".into(), "colour".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("top level".into(), "exec".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("auto_auth.method".into(), "flavour".into())),
        "{found:?}"
    );
}
