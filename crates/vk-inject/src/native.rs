//! Native sidecar mode (issue [9]; annotation `vault.hashicorp.com/agent-native-sidecar`, flag
//! `-native-sidecar`): one agent, `vault-agent`, in `initContainers` with `restartPolicy: Always`
//! (a Kubernetes ≥ 1.29 "sidecar container") instead of `vault-agent-init` + `vault-agent`.
//!
//! * Placement follows `agent-init-first`: appended after the pod's init containers by default
//!   (they run first, without secrets), or first when `agent-init-first` is true (they then wait
//!   for its startup probe and can read the secrets). The app's containers start only once the
//!   sidecar's startup probe passed.
//! * The startup probe (only with `agent-pre-populate`, the default: without it the app is not
//!   meant to wait) passes once every template has rendered once. With this project's image the
//!   agent writes [`READY_FILE`] into its in-memory home volume after its first full render and
//!   [`probe_command`] asks our binary about it (the image has no shell). With any other image
//!   (upstream's `hashicorp/vault`, which has a shell but no such marker) the probe is
//!   `/bin/sh -c 'test -e F1 && …'` over the template destinations, which Vault Agent writes only
//!   once rendered; in config-map mode those are unknown, so that combination is refused.
//! * `agent-pre-populate-only` has nothing to keep running: asking for both is denied.
//!
//! When the mode comes from the flag and not from the pod, a pod it cannot apply to (pre-populate
//! only, or another image in config-map mode) keeps the classic injection with a warning, so
//! turning the flag on never starts denying pods that were admitted before.

use crate::annotations as k;
use crate::command::AGENT_BINARY;
use crate::jsonw::Obj;

/// The readiness marker the agent writes after its first full render: on the sidecar's
/// in-memory home volume (`home-sidecar` at `/home/vault`), never on a disk-backed one.
pub const READY_FILE: &str = "/home/vault/.vault-k8s-rendered";

/// Probe period in seconds.
pub const PROBE_PERIOD_SECONDS: u32 = 1;

/// Failures before the kubelet restarts the sidecar: 5 minutes of login and render retries.
pub const PROBE_FAILURE_THRESHOLD: u32 = 300;

/// The agent's extra argument telling it where to write [`READY_FILE`].
pub fn ready_file_arg() -> String {
    format!("-ready-file={READY_FILE}")
}

/// `vault-k8s agent probe -ready-file=…`: exits 0 once the marker says every template rendered.
pub fn probe_command() -> Vec<String> {
    vec![
        AGENT_BINARY.to_owned(),
        "agent".to_owned(),
        "probe".to_owned(),
        ready_file_arg(),
    ]
}

/// The shell probe for images without our binary: every destination exists.
fn shell_probe_command(destinations: &[String]) -> Vec<String> {
    let tests: Vec<String> = destinations
        .iter()
        .map(|d| format!("test -e '{}'", d.replace('\'', r"'\''")))
        .collect();
    let script = if tests.is_empty() {
        "true".to_owned()
    } else {
        tests.join(" && ")
    };
    vec!["/bin/sh".to_owned(), "-c".to_owned(), script]
}

/// The members of the `startupProbe` object (Go's `Probe` field order).
pub(crate) fn startup_probe(p: &mut Obj<'_>, own_command: bool, destinations: &[String]) {
    let command = if own_command {
        probe_command()
    } else {
        shell_probe_command(destinations)
    };
    p.obj("exec", |e| {
        e.arr("command", |a| command.iter().for_each(|c| a.str(c)));
    });
    p.int("periodSeconds", i64::from(PROBE_PERIOD_SECONDS));
    p.int("failureThreshold", i64::from(PROBE_FAILURE_THRESHOLD));
}

/// Whether this pod gets a native sidecar. `annotated` is the pod's own value, `default` the
/// flag's. Errors are denials (the pod asked for something impossible); `notes` collects
/// warnings for flag defaults that cannot apply.
pub(crate) fn decide(
    annotated: Option<bool>,
    default: bool,
    pre_populate_only: bool,
    own_command: bool,
    configmap: bool,
    notes: &mut Vec<String>,
) -> Result<bool, String> {
    let obstacle = if pre_populate_only {
        Some(format!(
            "{} and {} cannot both be true: a native sidecar keeps running beside the app, pre-populate-only renders once and stops; remove one of them",
            k::AGENT_NATIVE_SIDECAR,
            k::AGENT_PRE_POPULATE_ONLY
        ))
    } else if configmap && !own_command {
        Some(format!(
            "{} with {} needs the vault-k8s agent image: with another image the startup probe checks the template destinations, which a config map hides; use the vault-k8s image or remove {}",
            k::AGENT_NATIVE_SIDECAR,
            k::AGENT_CONFIGMAP,
            k::AGENT_NATIVE_SIDECAR
        ))
    } else {
        None
    };
    match (annotated, obstacle) {
        (Some(true), Some(message)) => Err(message),
        (Some(v), None) => Ok(v),
        (Some(false), Some(_)) => Ok(false),
        (None, None) => Ok(default),
        (None, Some(message)) => {
            if default {
                notes.push(format!(
                    "-native-sidecar is on but this pod keeps the classic init container and sidecar: {message}"
                ));
            }
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decision_table() {
        let mut notes = Vec::new();
        assert_eq!(
            decide(None, false, false, true, false, &mut notes),
            Ok(false)
        );
        assert_eq!(decide(None, true, false, true, false, &mut notes), Ok(true));
        assert_eq!(
            decide(Some(true), false, false, false, false, &mut notes),
            Ok(true)
        );
        assert_eq!(
            decide(Some(false), true, false, true, false, &mut notes),
            Ok(false)
        );
        assert!(notes.is_empty());
        let denied = decide(Some(true), false, true, true, false, &mut notes).unwrap_err();
        assert!(
            denied.contains("vault.hashicorp.com/agent-native-sidecar")
                && denied.contains("vault.hashicorp.com/agent-pre-populate-only"),
            "{denied}"
        );
        let denied = decide(Some(true), false, false, false, true, &mut notes).unwrap_err();
        assert!(
            denied.contains("vault.hashicorp.com/agent-configmap"),
            "{denied}"
        );
        assert_eq!(decide(None, true, true, true, false, &mut notes), Ok(false));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("-native-sidecar is on"), "{notes:?}");
    }

    fn probe(own_command: bool, destinations: &[String]) -> serde_json::Value {
        let mut out = Vec::new();
        Obj::write(&mut out, |p| startup_probe(p, own_command, destinations));
        serde_json::from_slice(&out).unwrap_or_default()
    }

    #[test]
    fn probes() {
        let own = probe(true, &[]);
        assert_eq!(
            serde_json::to_string(&own).unwrap_or_default(),
            r#"{"exec":{"command":["/usr/local/bin/vault-k8s","agent","probe","-ready-file=/home/vault/.vault-k8s-rendered"]},"periodSeconds":1,"failureThreshold":300}"#
        );
        assert_eq!(
            own["exec"]["command"],
            json!([
                "/usr/local/bin/vault-k8s",
                "agent",
                "probe",
                "-ready-file=/home/vault/.vault-k8s-rendered"
            ])
        );
        let shell = probe(false, &["/vault/secrets/a".into(), "/x/it's".into()]);
        assert_eq!(
            shell["exec"]["command"],
            json!([
                "/bin/sh",
                "-c",
                r"test -e '/vault/secrets/a' && test -e '/x/it'\''s'"
            ])
        );
    }
}
