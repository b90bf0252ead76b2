use std::time::Duration;

use super::*;
use crate::autotls::Lifetimes;

fn ca() -> CaMaterial {
    CaMaterial::generate(SystemTime::now(), &Lifetimes::default()).expect("ca")
}

fn pem_of(cas: &[&CaMaterial]) -> String {
    cas.iter().map(|c| c.cert_pem.clone()).collect()
}

fn ders(bundle: &CaBundle) -> Vec<Vec<u8>> {
    bundle.cas().iter().map(|c| c.der().to_vec()).collect()
}

// Spec case 91.
#[test]
fn last_old_ca_is_kept_before_the_new_one() {
    let (o1, o2, n, n2) = (ca(), ca(), ca(), ca());
    let cases: [(String, Vec<&CaMaterial>); 4] = [
        (String::new(), vec![&n]),
        (pem_of(&[&o1]), vec![&o1, &n]),
        (pem_of(&[&o1, &o2]), vec![&o2, &n]),
        ("not a cert".to_owned(), vec![&n]),
    ];
    for (old, expected) in cases {
        let bundle = CaBundle::last_old_plus_new(old.as_bytes(), &n);
        let want: Vec<Vec<u8>> = expected.iter().map(|c| c.der().to_vec()).collect();
        assert_eq!(ders(&bundle), want, "old bundle {old:?}");
        // Re-applying with another new CA keeps only the previous new one.
        let again = CaBundle::last_old_plus_new(bundle.to_pem().as_bytes(), &n2);
        assert_eq!(ders(&again), vec![n.der().to_vec(), n2.der().to_vec()]);
    }
    // Re-applying the same CA does not duplicate it.
    let same = CaBundle::last_old_plus_new(n.cert_pem.as_bytes(), &n);
    assert_eq!(ders(&same), vec![n.der().to_vec()]);
}

#[test]
fn parse_skips_other_blocks_and_duplicates_and_round_trips() {
    let (a, b) = (ca(), ca());
    let messy = format!(
        "# comment\n{}{}{}{}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        a.cert_pem, a.key_pem, b.cert_pem, a.cert_pem
    );
    let bundle = CaBundle::parse(messy.as_bytes());
    assert_eq!(ders(&bundle), vec![a.der().to_vec(), b.der().to_vec()]);
    assert!(bundle.contains(&a) && bundle.contains(&b));
    let pem = bundle.to_pem();
    assert_eq!(
        pem,
        format!("{}{}", a.cert_pem, b.cert_pem),
        "canonical PEM"
    );
    assert_eq!(CaBundle::parse(pem.as_bytes()), bundle);
    assert!(CaBundle::parse(b"").is_empty());
}

#[test]
fn added_cas_are_appended_once() {
    let (a, b) = (ca(), ca());
    let bundle = CaBundle::of(&a).with_added(&b).with_added(&a);
    assert_eq!(ders(&bundle), vec![a.der().to_vec(), b.der().to_vec()]);
    assert!(!CaBundle::of(&a).contains(&b));
}

#[test]
fn expired_cas_are_dropped() {
    let now = SystemTime::now();
    let short = Lifetimes {
        ca: Duration::from_secs(100),
        leaf: Duration::from_secs(10),
    };
    let old = CaMaterial::generate(now, &short).expect("ca");
    let new = CaMaterial::generate(now, &Lifetimes::default()).expect("ca");
    let bundle = CaBundle::of(&old).with_added(&new);
    assert_eq!(bundle.clone().without_expired(now).cas().len(), 2);
    let at_expiry = bundle.clone().without_expired(old.not_after);
    assert_eq!(ders(&at_expiry), vec![new.der().to_vec()]);
    assert_eq!(bundle.cas()[0].not_after(), old.not_after);
}
