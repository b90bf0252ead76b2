use super::*;

#[test]
fn sec1_and_pkcs8_hold_the_same_key() {
    let key = KeyPair::generate().expect("key");
    let sec1 = sec1_from_pkcs8(key.serialized_der()).expect("to sec1");
    // version 1, 32-byte scalar, [0] prime256v1, [1] 65-byte point: OpenSSL's 121 bytes.
    assert_eq!(sec1.len(), 121);
    assert_eq!(&sec1[..7], &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
    let pkcs8 = pkcs8_from_sec1(&sec1).expect("to pkcs8");
    let back = KeyPair::try_from(pkcs8.as_slice()).expect("ring accepts it");
    assert_eq!(back.public_key_raw(), key.public_key_raw());

    let pem = sec1_pem(&key, "test").expect("pem");
    let loaded = key_pair_from_pem(&pem, "test").expect("sec1 pem");
    assert_eq!(loaded.public_key_raw(), key.public_key_raw());
    let loaded = key_pair_from_pem(&key.serialize_pem(), "test").expect("pkcs8 pem");
    assert_eq!(loaded.public_key_raw(), key.public_key_raw());
}

#[test]
fn unusable_keys_are_named() {
    let err = key_pair_from_pem("nothing here", "CA").expect_err("no key");
    assert!(matches!(err, AutoTlsError::NoKey { what: "CA" }), "{err:?}");
    let rsa = "-----BEGIN RSA PRIVATE KEY-----\nAQID\n-----END RSA PRIVATE KEY-----\n";
    let err = key_pair_from_pem(rsa, "CA").expect_err("rsa");
    assert!(err.to_string().contains("RSA PKCS#1"), "{err}");
    let truncated = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";
    let err = key_pair_from_pem(truncated, "CA").expect_err("truncated");
    assert!(
        err.to_string()
            .starts_with("the CA key PEM holds no usable private key"),
        "{err}"
    );

    // SEC1 without the named curve cannot be placed on a curve.
    let key = KeyPair::generate().expect("key");
    let sec1 = sec1_from_pkcs8(key.serialized_der()).expect("to sec1");
    let mut body = sec1[2..].to_vec();
    body.drain(37..49); // the [0] parameters TLV
    let err = pkcs8_from_sec1(&tlv(TAG_SEQUENCE, &body)).expect_err("no curve");
    assert!(err.contains("named curve"), "{err}");
}
