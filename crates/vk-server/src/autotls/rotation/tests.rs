use super::*;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn hosts() -> AutoTlsHosts {
    AutoTlsHosts::parse("svc.ns.svc,127.0.0.1").expect("hosts")
}

#[test]
fn leaf_is_renewed_at_ninety_percent_of_its_life() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let leaf = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    // Validity is 24 h + the 1 min backdate; renewal 10 % of that before expiry.
    let renew_at = leaf.not_after - (DAY + Duration::from_secs(60)) / 10;
    assert_eq!(leaf.renew_at(), renew_at);
    let decide = |now| next_action(now, &ca, Some(&leaf), &hosts(), &lifetimes);
    assert_eq!(decide(t0()), AutoTlsAction::Nothing { until: renew_at });
    assert_eq!(
        decide(renew_at - Duration::from_secs(1)),
        AutoTlsAction::Nothing { until: renew_at }
    );
    assert_eq!(decide(renew_at), AutoTlsAction::RenewLeaf);
    assert_eq!(decide(leaf.not_after + HOUR), AutoTlsAction::RenewLeaf);
}

#[test]
fn missing_foreign_or_misnamed_leaf_is_renewed_at_once() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let other = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    assert_eq!(
        next_action(t0(), &ca, None, &hosts(), &lifetimes),
        AutoTlsAction::RenewLeaf
    );
    let foreign = other.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    assert_eq!(
        next_action(t0(), &ca, Some(&foreign), &hosts(), &lifetimes),
        AutoTlsAction::RenewLeaf
    );
    let leaf = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    let more = AutoTlsHosts::parse("svc.ns.svc,127.0.0.1,svc").expect("hosts");
    assert_eq!(
        next_action(t0(), &ca, Some(&leaf), &more, &lifetimes),
        AutoTlsAction::RenewLeaf
    );
    let reordered = AutoTlsHosts::parse("127.0.0.1,svc.ns.svc").expect("hosts");
    assert!(matches!(
        next_action(t0(), &ca, Some(&leaf), &reordered, &lifetimes),
        AutoTlsAction::Nothing { .. }
    ));
}

#[test]
fn ca_rotates_when_two_leaf_lifetimes_or_ten_percent_remain() {
    // Default lifetimes: 10 % of 10 years dominates 2 days.
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let validity = ca
        .not_after
        .duration_since(ca.not_before)
        .expect("validity");
    let rotate_at = ca.not_after - validity / 10;
    assert_eq!(ca_rotation_point(&ca, &lifetimes), rotate_at);
    let leaf = ca
        .issue_leaf(&hosts(), rotate_at - 2 * HOUR, &lifetimes)
        .expect("leaf");
    let decide = |now| next_action(now, &ca, Some(&leaf), &hosts(), &lifetimes);
    assert_eq!(
        decide(rotate_at - HOUR),
        AutoTlsAction::Nothing { until: rotate_at },
        "the earlier of leaf renewal and CA rotation"
    );
    assert_eq!(decide(rotate_at), AutoTlsAction::RotateCa);
    assert_eq!(
        decide(ca.not_after + HOUR),
        AutoTlsAction::RotateCa,
        "expired CA"
    );
    assert_eq!(
        next_action(rotate_at, &ca, None, &hosts(), &lifetimes),
        AutoTlsAction::RotateCa,
        "rotation comes before issuing"
    );

    // Short CA: two leaf lifetimes dominate 10 %.
    let short = Lifetimes {
        ca: 30 * DAY,
        leaf: 2 * DAY,
    };
    let ca = CaMaterial::generate(t0(), &short).expect("ca");
    let rotate_at = ca.not_after - 4 * DAY;
    assert_eq!(ca_rotation_point(&ca, &short), rotate_at);
    assert!(matches!(
        next_action(
            rotate_at - Duration::from_secs(1),
            &ca,
            None,
            &hosts(),
            &short
        ),
        AutoTlsAction::RenewLeaf
    ));
    assert_eq!(
        next_action(rotate_at, &ca, None, &hosts(), &short),
        AutoTlsAction::RotateCa
    );
}

#[test]
fn a_fresh_ca_is_never_due_whatever_the_lifetimes() {
    // Leaf as long as the CA: the margin is capped at half the CA's validity.
    let odd = Lifetimes { ca: DAY, leaf: DAY };
    let ca = CaMaterial::generate(t0(), &odd).expect("ca");
    let validity = ca
        .not_after
        .duration_since(ca.not_before)
        .expect("validity");
    assert_eq!(ca_rotation_point(&ca, &odd), ca.not_after - validity / 2);
    let leaf = ca.issue_leaf(&hosts(), t0(), &odd).expect("leaf");
    assert!(matches!(
        next_action(t0(), &ca, Some(&leaf), &hosts(), &odd),
        AutoTlsAction::Nothing { .. }
    ));
}

// Spec case 88 (expiry half): a 5-second leaf is due shortly before it expires, and its
// replacement differs and is again issued by the CA.
#[test]
fn short_leaf_is_replaced_before_it_expires() {
    let lifetimes = Lifetimes {
        ca: 1000 * Duration::from_secs(5),
        leaf: Duration::from_secs(5),
    };
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let first = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    let AutoTlsAction::Nothing { until } =
        next_action(t0(), &ca, Some(&first), &hosts(), &lifetimes)
    else {
        panic!("a fresh leaf needs nothing");
    };
    assert!(until > t0() + Duration::from_secs(4), "{until:?}");
    assert!(until < first.not_after, "renewed before expiry");
    assert_eq!(
        next_action(until, &ca, Some(&first), &hosts(), &lifetimes),
        AutoTlsAction::RenewLeaf
    );
    let second = ca.issue_leaf(&hosts(), until, &lifetimes).expect("leaf");
    assert_ne!(second.der(), first.der());
    assert_ne!(second.key_pem, first.key_pem);
    assert!(second.is_issued_by(&ca));
    assert!(matches!(
        next_action(until, &ca, Some(&second), &hosts(), &lifetimes),
        AutoTlsAction::Nothing { .. }
    ));
}
