//! When to renew the serving certificate and when to rotate the CA (pure; time passed in).

use std::time::{Duration, SystemTime};

use super::{AutoTlsHosts, CaMaterial, LeafMaterial, Lifetimes};

/// What the certificate manager should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoTlsAction {
    /// Everything is current; look again at `until` (or earlier on outside events).
    Nothing { until: SystemTime },
    /// Issue a new serving certificate with the current CA.
    RenewLeaf,
    /// Generate a new CA and start the overlap protocol (module docs), then renew the leaf.
    RotateCa,
}

/// Decide what to do at `now` given the current CA, the leaf being served (if any) and the
/// hosts it must name.
///
/// * [`AutoTlsAction::RotateCa`] once at most `max(2 × lifetimes.leaf, 10 % of the CA
///   validity)` of the CA's validity remains (capped at half the validity, so a fresh CA is
///   never due immediately whatever the lifetimes), including when it has expired;
/// * else [`AutoTlsAction::RenewLeaf`] when there is no leaf, it was not signed by `ca`, its
///   SANs are not exactly `hosts`, or 90 % of its validity has passed ([`LeafMaterial::renew_at`]);
/// * else [`AutoTlsAction::Nothing`] until the earlier of the leaf's renewal point and the CA's
///   rotation point.
pub fn next_action(
    now: SystemTime,
    ca: &CaMaterial,
    leaf: Option<&LeafMaterial>,
    hosts: &AutoTlsHosts,
    lifetimes: &Lifetimes,
) -> AutoTlsAction {
    let rotate_ca_at = ca_rotation_point(ca, lifetimes);
    if now >= rotate_ca_at {
        return AutoTlsAction::RotateCa;
    }
    let Some(leaf) = leaf else {
        return AutoTlsAction::RenewLeaf;
    };
    let renew_at = leaf.renew_at();
    if now >= renew_at || !hosts.same_set(leaf.sans()) || !leaf.is_issued_by(ca) {
        return AutoTlsAction::RenewLeaf;
    }
    AutoTlsAction::Nothing {
        until: renew_at.min(rotate_ca_at),
    }
}

/// The instant from which the CA counts as due for rotation.
pub(crate) fn ca_rotation_point(ca: &CaMaterial, lifetimes: &Lifetimes) -> SystemTime {
    let validity = ca
        .not_after
        .duration_since(ca.not_before)
        .unwrap_or(Duration::ZERO);
    let margin = lifetimes
        .leaf
        .saturating_mul(2)
        .max(validity / 10)
        .min(validity / 2);
    ca.not_after - margin
}

#[cfg(test)]
mod tests;
