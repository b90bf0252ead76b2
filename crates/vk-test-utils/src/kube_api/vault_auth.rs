//! OpenBao's `kubernetes` auth method configured against the endpoint's TokenReview.

use anyhow::{Context, Result};

use super::KubeApi;

/// Enables the kubernetes auth method on `dev` (mount `kubernetes`) pointed at `kube`, with
/// `kubernetes_host`, `kubernetes_ca_cert`, `token_reviewer_jwt` and `disable_local_ca_jwt=true`.
pub fn enable_kubernetes_auth(dev: &crate::bao::DevServer, kube: &KubeApi) -> Result<()> {
    dev.cli_ok(&["auth", "enable", "kubernetes"])?;
    let ca_path = dev.scratch_dir().join("kubernetes-ca.pem");
    std::fs::write(&ca_path, kube.ca_pem())
        .with_context(|| format!("writing {}", ca_path.display()))?;
    dev.cli_ok(&[
        "write",
        "auth/kubernetes/config",
        &format!("kubernetes_host={}", kube.url()),
        &format!("kubernetes_ca_cert=@{}", ca_path.display()),
        &format!("token_reviewer_jwt={}", kube.reviewer_token()),
        "disable_local_ca_jwt=true",
    ])?;
    Ok(())
}

/// Writes a kubernetes-auth role bound to service account `sa` in namespace `ns`.
pub fn write_kubernetes_role(
    dev: &crate::bao::DevServer,
    role: &str,
    sa: &str,
    ns: &str,
    policies: &[&str],
) -> Result<()> {
    dev.cli_ok(&[
        "write",
        &format!("auth/kubernetes/role/{role}"),
        &format!("bound_service_account_names={sa}"),
        &format!("bound_service_account_namespaces={ns}"),
        &format!("policies={}", policies.join(",")),
        "ttl=24h",
    ])?;
    Ok(())
}

/// The guide's setup in one call: kubernetes auth against `kube`, policy `policy_name` from
/// `policy_hcl`, and role `role` bound to `ns/sa` with that policy.
pub fn configure_kubernetes_auth(
    dev: &crate::bao::DevServer,
    kube: &KubeApi,
    role: &str,
    sa: &str,
    ns: &str,
    policy_name: &str,
    policy_hcl: &str,
) -> Result<()> {
    enable_kubernetes_auth(dev, kube)?;
    dev.write_policy(policy_name, policy_hcl)?;
    write_kubernetes_role(dev, role, sa, ns, &[policy_name])
}
