//! What `bench inject` and `bench soak` share: the AdmissionReview they send, the one-request
//! check that the webhook injects, and the throwaway TLS certificates.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::util;

/// The pod the load sends, as the API server would (defaults filled in).
pub(crate) const POD_FIXTURE: &str = "crates/vk-test-utils/fixtures/webapp-pod-admitted.json";

/// Sends the review once with curl and checks that vault-k8s allows it with a patch; returns
/// the answer's text.
pub(crate) fn check_injects(addr: &str, body_file: &Path) -> anyhow::Result<String> {
    let out = util::output(
        Command::new("curl")
            .args([
                "-sS",
                "--fail",
                "-k",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
            ])
            .arg(format!("@{}", body_file.display()))
            .arg(mutate_url(addr)),
    )
    .context("the pre-flight request to vault-k8s failed")?;
    let review: Value = serde_json::from_str(&out)
        .with_context(|| format!("vault-k8s did not answer with JSON: {out}"))?;
    let response = &review["response"];
    ensure!(
        response["allowed"] == true && response["patch"].is_string(),
        "vault-k8s did not inject the bench pod (expected allowed=true and a patch): {out}"
    );
    Ok(out)
}

pub(crate) fn mutate_url(addr: &str) -> String {
    format!("https://{addr}/mutate")
}

/// An AdmissionReview v1 for creating the fixture pod, compact, as the API server sends it.
pub(crate) fn admission_review_body() -> anyhow::Result<String> {
    let path = util::workspace_root().join(POD_FIXTURE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let pod: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let namespace = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let gvk = json!({"group": "", "version": "v1", "kind": "Pod"});
    let gvr = json!({"group": "", "version": "v1", "resource": "pods"});
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-4000-8000-00000000b3c4",
            "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": pod,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    });
    Ok(serde_json::to_string(&review)?)
}

/// A CA and a leaf for 127.0.0.1 signed by it, made with the openssl CLI (P-256 keys).
pub(crate) fn make_certificates(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let openssl =
        |args: &[&str]| util::output(Command::new("openssl").args(args).current_dir(dir)).map(drop);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "1",
                "-subj",
                "/CN=vk-bench-ca",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "tls.key",
                "-out",
                "tls.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    )?;
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tls.crt",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
    ])
    .context("openssl could not sign the bench certificate")?;
    Ok((dir.join("tls.crt"), dir.join("tls.key")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_wraps_the_fixture_pod() {
        let body: Value = serde_json::from_str(&admission_review_body().unwrap()).unwrap();
        assert_eq!(body["kind"], "AdmissionReview");
        assert_eq!(body["request"]["operation"], "CREATE");
        assert_eq!(body["request"]["object"]["metadata"]["name"], "webapp");
    }
}
