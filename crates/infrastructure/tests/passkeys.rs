//! Passkey ceremonies end to end: `WebauthnPasskeys` (the `PasskeyCeremonies` adapter over
//! webauthn-rs) against a software authenticator that signs for real
//! ([`gatehouse_testing::passkeys::SoftAuthenticator`]). Registration, second factor,
//! discoverable sign-in, and the responses that must be refused: another ceremony's, replayed,
//! from a foreign origin or RP, tampered with, or garbage.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_application::ports::{CeremonyState, PasskeyCeremonies, PasskeyError};
use gatehouse_domain::UserId;
use gatehouse_infrastructure::mfa::WebauthnPasskeys;
use gatehouse_testing::passkeys::SoftAuthenticator;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

fn origin() -> Url {
    Url::parse("http://localhost:8080").unwrap()
}

fn rp() -> WebauthnPasskeys {
    let rp = WebauthnPasskeys::new("localhost", &origin(), "Gatehouse");
    assert!(rp.unavailable_reason().is_none());
    rp.available().unwrap();
    rp
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn unavailable<T: std::fmt::Debug>(result: Result<T, PasskeyError>) {
    assert!(
        matches!(result, Err(PasskeyError::Unavailable(_))),
        "expected Unavailable, got {result:?}"
    );
}

fn rejected<T: std::fmt::Debug>(result: Result<T, PasskeyError>) -> String {
    match result {
        Err(PasskeyError::Rejected(reason)) => reason,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

/// A registered user: id, stored passkey JSON list, credential id.
struct User {
    id: Uuid,
    passkeys: Vec<String>,
    credential_id: Vec<u8>,
}

fn register(rp: &WebauthnPasskeys, auth: &mut SoftAuthenticator, name: &str) -> User {
    let id = Uuid::new_v4();
    let (options, state) = rp
        .start_registration(UserId::from_uuid(id), name, name, &[])
        .unwrap();
    let response = auth.register(&origin(), &options);
    let registered = rp.finish_registration(&state, &response).unwrap();
    User {
        id,
        passkeys: vec![registered.passkey],
        credential_id: registered.credential_id,
    }
}

fn counter_of(passkey: &str) -> u64 {
    serde_json::from_str::<Value>(passkey).unwrap()["cred"]["counter"]
        .as_u64()
        .unwrap()
}

#[test]
fn configuration_availability() {
    let cases = [
        ("localhost", "http://localhost:8080", true),
        ("localhost", "http://localhost", true),
        ("localhost", "https://localhost:8443", true),
        ("auth.example.com", "https://auth.example.com", true),
        ("example.com", "https://auth.example.com", true),
        // webauthn-rs does not check the scheme: plain http is accepted for any domain (only
        // browsers refuse non-secure contexts other than localhost).
        ("example.com", "http://example.com", true),
        ("127.0.0.1", "http://127.0.0.1:8080", false),
        ("localhost", "http://127.0.0.1:8080", false),
        ("::1", "http://[::1]:8080", false),
        ("auth.example.com", "https://example.com", false),
        ("example.com", "https://badexample.com", false),
        ("", "http://localhost:8080", false),
    ];
    for (rp_id, origin, available) in cases {
        let rp = WebauthnPasskeys::new(rp_id, &Url::parse(origin).unwrap(), "Gatehouse");
        assert_eq!(
            rp.unavailable_reason().is_none(),
            available,
            "{rp_id} at {origin}"
        );
        assert_eq!(rp.available().is_ok(), available, "{rp_id} at {origin}");
    }
}

#[test]
fn ip_rp_id_is_unavailable_everywhere() {
    let rp = WebauthnPasskeys::new(
        "127.0.0.1",
        &Url::parse("http://127.0.0.1:8080").unwrap(),
        "G",
    );
    let state = CeremonyState("{}".into());
    let any = json!({});
    unavailable(rp.available());
    assert!(
        rp.unavailable_reason()
            .is_some_and(|r| r.contains("127.0.0.1"))
    );
    unavailable(rp.start_registration(UserId::generate(), "a", "a", &[]));
    unavailable(rp.finish_registration(&state, &any));
    unavailable(rp.start_authentication(&[]));
    unavailable(rp.finish_authentication(&state, &any, &[]));
    unavailable(rp.start_discoverable());
    unavailable(rp.identify(&any));
    unavailable(rp.finish_discoverable(&state, &any, &[]));
}

#[test]
fn register_then_second_factor_then_discoverable() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let user_id = Uuid::new_v4();

    // Registration options: bare, base64url, discoverable.
    let (options, state) = rp
        .start_registration(UserId::from_uuid(user_id), "claire", "Claire", &[])
        .unwrap();
    assert!(options.get("publicKey").is_none());
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["rp"]["name"], "Gatehouse");
    assert_eq!(options["user"]["id"], b64(user_id.as_bytes()));
    assert_eq!(options["user"]["name"], "claire");
    assert_eq!(unb64(options["challenge"].as_str().unwrap()).len(), 32);
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["requireResidentKey"],
        true
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert!(options.get("excludeCredentials").is_none());
    println!("creation options: {options}");

    let response = auth.register(&origin(), &options);
    println!("registration response: {response}");
    let registered = rp.finish_registration(&state, &response).unwrap();
    assert_eq!(
        registered.credential_id,
        unb64(response["rawId"].as_str().unwrap())
    );
    assert_eq!(counter_of(&registered.passkey), 0);
    let mut passkeys = vec![registered.passkey.clone()];

    // Second registration excludes the first credential.
    let (options2, _) = rp
        .start_registration(
            UserId::from_uuid(user_id),
            "claire",
            "Claire",
            std::slice::from_ref(&registered.credential_id),
        )
        .unwrap();
    assert_eq!(
        options2["excludeCredentials"][0]["id"],
        b64(&registered.credential_id)
    );
    assert!(auth.try_register(&origin(), &options2).is_err());

    // Second factor.
    let (options, state) = rp.start_authentication(&passkeys).unwrap();
    println!("request options: {options}");
    assert!(options.get("publicKey").is_none());
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(
        options["allowCredentials"][0]["id"],
        b64(&registered.credential_id)
    );
    assert_eq!(options["userVerification"], "required");
    let response = auth.authenticate(&origin(), &options);
    println!("authentication response: {response}");
    let outcome = rp
        .finish_authentication(&state, &response, &passkeys)
        .unwrap();
    assert_eq!(outcome.credential_id, registered.credential_id);
    let updated = outcome.updated_passkey.expect("counter moved from 0");
    assert_eq!(counter_of(&updated), 1);
    passkeys = vec![updated];

    // Discoverable: no allowCredentials, identify, then finish with that user's passkeys.
    let (options, state) = rp.start_discoverable().unwrap();
    println!("discoverable options: {options}");
    assert!(options.get("publicKey").is_none() && options.get("mediation").is_none());
    assert!(
        options["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    let response = auth.authenticate(&origin(), &options);
    let (who, credential_id) = rp.identify(&response).unwrap();
    assert_eq!(who, user_id);
    assert_eq!(credential_id, registered.credential_id);
    let outcome = rp
        .finish_discoverable(&state, &response, &passkeys)
        .unwrap();
    assert_eq!(outcome.credential_id, registered.credential_id);
    let updated = outcome.updated_passkey.expect("counter update");
    assert_eq!(counter_of(&updated), 2);
    passkeys = vec![updated];

    // Counter keeps moving; a stale stored copy (lower counter) still verifies and is updated.
    let (options, state) = rp.start_authentication(&passkeys).unwrap();
    let response = auth.authenticate(&origin(), &options);
    let outcome = rp
        .finish_authentication(&state, &response, &passkeys)
        .unwrap();
    assert_eq!(counter_of(outcome.updated_passkey.as_deref().unwrap()), 3);
}

#[test]
fn discoverable_picks_the_right_user_among_several() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let alice = register(&rp, &mut auth, "alice");
    let bob = register(&rp, &mut auth, "bob");
    for user in [&alice, &bob] {
        let (options, state) = rp.start_discoverable().unwrap();
        let response = auth
            .try_authenticate(&origin(), &options, Some(user.id.as_bytes()))
            .unwrap();
        let (who, cred) = rp.identify(&response).unwrap();
        assert_eq!((who, &cred), (user.id, &user.credential_id));
        rp.finish_discoverable(&state, &response, &user.passkeys)
            .unwrap();
    }
}

#[test]
fn a_state_only_accepts_its_own_ceremony() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    // Registration: response to ceremony 2 against state 1.
    let id = Uuid::new_v4();
    let (_, state1) = rp
        .start_registration(UserId::from_uuid(id), "u", "u", &[])
        .unwrap();
    let (options2, state2) = rp
        .start_registration(UserId::from_uuid(id), "u", "u", &[])
        .unwrap();
    let response2 = auth.register(&origin(), &options2);
    assert!(rejected(rp.finish_registration(&state1, &response2)).contains("MismatchedChallenge"));
    let user = User {
        id,
        passkeys: vec![rp.finish_registration(&state2, &response2).unwrap().passkey],
        credential_id: vec![],
    };
    // Second factor.
    let (_, state1) = rp.start_authentication(&user.passkeys).unwrap();
    let (options2, _) = rp.start_authentication(&user.passkeys).unwrap();
    let response2 = auth.authenticate(&origin(), &options2);
    assert!(
        rejected(rp.finish_authentication(&state1, &response2, &user.passkeys))
            .contains("MismatchedChallenge")
    );
    // Discoverable.
    let (_, state1) = rp.start_discoverable().unwrap();
    let (options2, _) = rp.start_discoverable().unwrap();
    let response2 = auth.authenticate(&origin(), &options2);
    assert!(
        rejected(rp.finish_discoverable(&state1, &response2, &user.passkeys))
            .contains("MismatchedChallenge")
    );
    // Kinds of state are not interchangeable.
    let (options, auth_state) = rp.start_authentication(&user.passkeys).unwrap();
    let response = auth.authenticate(&origin(), &options);
    rejected(rp.finish_discoverable(&auth_state, &response, &user.passkeys));
    let (options, disc_state) = rp.start_discoverable().unwrap();
    let response_d = auth.authenticate(&origin(), &options);
    rejected(rp.finish_authentication(&disc_state, &response_d, &user.passkeys));
    rejected(rp.finish_registration(&disc_state, &response_d));
    rejected(rp.finish_authentication(
        &CeremonyState("not json".into()),
        &response,
        &user.passkeys,
    ));
    rejected(rp.finish_authentication(
        &CeremonyState("{\"kind\":\"authentication\"}".into()),
        &response,
        &user.passkeys,
    ));
}

#[test]
fn replayed_assertions_are_rejected() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let user = register(&rp, &mut auth, "u");

    let (options, state) = rp.start_authentication(&user.passkeys).unwrap();
    let response = auth.authenticate(&origin(), &options);
    let stored = vec![
        rp.finish_authentication(&state, &response, &user.passkeys)
            .unwrap()
            .updated_passkey
            .unwrap(),
    ];
    // Same state again (the store failed to consume it), with the updated stored passkey.
    assert!(rejected(rp.finish_authentication(&state, &response, &stored)).contains("counter"));
    // Against a fresh ceremony.
    let (_, fresh) = rp.start_authentication(&stored).unwrap();
    assert!(
        rejected(rp.finish_authentication(&fresh, &response, &stored))
            .contains("MismatchedChallenge")
    );

    let (options, state) = rp.start_discoverable().unwrap();
    let response = auth.authenticate(&origin(), &options);
    let stored = vec![
        rp.finish_discoverable(&state, &response, &stored)
            .unwrap()
            .updated_passkey
            .unwrap(),
    ];
    assert!(rejected(rp.finish_discoverable(&state, &response, &stored)).contains("ompromise"));
    let (_, fresh) = rp.start_discoverable().unwrap();
    assert!(
        rejected(rp.finish_discoverable(&fresh, &response, &stored))
            .contains("MismatchedChallenge")
    );
}

#[test]
fn foreign_origin_and_foreign_rp_are_rejected() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let user = register(&rp, &mut auth, "u");
    let other_port = Url::parse("http://localhost:9999").unwrap();

    // Same RP id, other origin (port): the client accepts, the server must not.
    let (options, state) = rp
        .start_registration(UserId::generate(), "v", "v", &[])
        .unwrap();
    let response = auth.register(&other_port, &options);
    assert!(rejected(rp.finish_registration(&state, &response)).contains("InvalidRPOrigin"));
    let (options, state) = rp.start_authentication(&user.passkeys).unwrap();
    let response = auth.authenticate(&other_port, &options);
    assert!(
        rejected(rp.finish_authentication(&state, &response, &user.passkeys))
            .contains("InvalidRPOrigin")
    );

    // Our challenge, signed for another RP at its origin (phishing relay).
    let evil = Url::parse("https://evil.example").unwrap();
    let (mut options, state) = rp
        .start_registration(UserId::generate(), "v", "v", &[])
        .unwrap();
    options["rp"]["id"] = json!("evil.example");
    let response = auth.register(&evil, &options);
    rejected(rp.finish_registration(&state, &response));
    let (mut options, state) = rp.start_authentication(&user.passkeys).unwrap();
    options["rpId"] = json!("evil.example");
    let response = auth.authenticate(&evil, &options);
    rejected(rp.finish_authentication(&state, &response, &user.passkeys));

    // A credential registered at another RP, presented here.
    let other = WebauthnPasskeys::new(
        "auth.example.com",
        &Url::parse("https://auth.example.com").unwrap(),
        "Other",
    );
    let (options, state) = other
        .start_registration(UserId::from_uuid(user.id), "u", "u", &[])
        .unwrap();
    let foreign = other
        .finish_registration(
            &state,
            &auth.register(&Url::parse("https://auth.example.com").unwrap(), &options),
        )
        .unwrap();
    let (options, state) = other
        .start_authentication(std::slice::from_ref(&foreign.passkey))
        .unwrap();
    let foreign_response =
        auth.authenticate(&Url::parse("https://auth.example.com").unwrap(), &options);
    let (_, ours) = rp.start_authentication(&user.passkeys).unwrap();
    rejected(rp.finish_authentication(&ours, &foreign_response, &user.passkeys));
    let (_, ours) = rp.start_discoverable().unwrap();
    rejected(rp.finish_discoverable(
        &ours,
        &foreign_response,
        std::slice::from_ref(&foreign.passkey),
    ));
    // And the response is fine where it belongs.
    other
        .finish_authentication(&state, &foreign_response, &[foreign.passkey])
        .unwrap();
}

fn flip_b64(value: &mut Value, pointer: &str, index: usize) {
    let field = value.pointer_mut(pointer).unwrap();
    let mut bytes = unb64(field.as_str().unwrap());
    let i = index.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    *field = json!(b64(&bytes));
}

#[test]
fn tampered_responses_are_rejected() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let alice = register(&rp, &mut auth, "alice");
    let bob = register(&rp, &mut auth, "bob");

    let (options, state) = rp.start_authentication(&alice.passkeys).unwrap();
    let good = auth.authenticate(&origin(), &options);
    for (pointer, index) in [
        ("/response/signature", 10),
        ("/response/authenticatorData", 0),  // rpIdHash
        ("/response/authenticatorData", 32), // flags
        ("/response/authenticatorData", 36), // counter
        ("/response/clientDataJSON", 15),
        ("/rawId", 3),
    ] {
        let mut bad = good.clone();
        flip_b64(&mut bad, pointer, index);
        let reason = rejected(rp.finish_authentication(&state, &bad, &alice.passkeys));
        println!("{pointer}[{index}] -> {reason}");
    }
    // Bob's credential id in Alice's ceremony.
    let mut bad = good.clone();
    bad["rawId"] = json!(b64(&bob.credential_id));
    bad["id"] = bad["rawId"].clone();
    rejected(rp.finish_authentication(&state, &bad, &alice.passkeys));
    // The untouched response still passes.
    rp.finish_authentication(&state, &good, &alice.passkeys)
        .unwrap();

    // Discoverable: user handle swapped to Bob; Bob's passkeys do not hold Alice's credential.
    let (options, state) = rp.start_discoverable().unwrap();
    let mut response = auth
        .try_authenticate(&origin(), &options, Some(alice.id.as_bytes()))
        .unwrap();
    response["response"]["userHandle"] = json!(b64(bob.id.as_bytes()));
    let (who, _) = rp.identify(&response).unwrap();
    assert_eq!(who, bob.id);
    assert!(
        rejected(rp.finish_discoverable(&state, &response, &bob.passkeys))
            .contains("CredentialNotFound")
    );
    // No user handle at all.
    response["response"]["userHandle"] = Value::Null;
    rejected(rp.identify(&response));
    rejected(rp.finish_discoverable(&state, &response, &alice.passkeys));
    // Not a UUID.
    response["response"]["userHandle"] = json!(b64(b"bob"));
    rejected(rp.identify(&response));

    // Registration: tampered attestation object / client data.
    let (options, state) = rp
        .start_registration(UserId::generate(), "c", "c", &[])
        .unwrap();
    let good = auth.register(&origin(), &options);
    for (pointer, index) in [
        ("/response/attestationObject", 40),
        ("/response/attestationObject", 100),
        ("/response/clientDataJSON", 15),
    ] {
        let mut bad = good.clone();
        flip_b64(&mut bad, pointer, index);
        let reason = rejected(rp.finish_registration(&state, &bad));
        println!("registration {pointer}[{index}] -> {reason}");
    }
    rp.finish_registration(&state, &good).unwrap();
}

#[test]
fn garbage_is_rejected_without_panicking() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let user = register(&rp, &mut auth, "u");
    let (reg_options, reg_state) = rp
        .start_registration(UserId::generate(), "g", "g", &[])
        .unwrap();
    let registration = auth.register(&origin(), &reg_options);
    let (options, auth_state) = rp.start_authentication(&user.passkeys).unwrap();
    let assertion = auth.authenticate(&origin(), &options);
    let (_, disc_state) = rp.start_discoverable().unwrap();

    let mut garbage: Vec<Value> = vec![
        Value::Null,
        json!({}),
        json!([]),
        json!("public-key"),
        json!(42),
        json!({"id": "x", "rawId": "!!!not base64!!!", "type": "public-key",
               "response": {"clientDataJSON": "%%%", "authenticatorData": "***", "signature": "", "attestationObject": "@@"}}),
        json!({"id": "", "rawId": "", "type": "public-key", "response": {}}),
    ];
    // Every field replaced by garbage, emptied, or truncated at every length.
    for base in [&registration, &assertion] {
        for (name, field) in base["response"].as_object().unwrap() {
            let Some(text) = field.as_str() else { continue };
            for replacement in [
                json!(null),
                json!(""),
                json!("AAAA"),
                json!("!!"),
                json!(123),
                json!(b64(b"{\"type\":\"webauthn.get\"}")),
            ] {
                let mut bad = base.clone();
                bad["response"][name] = replacement;
                garbage.push(bad);
            }
            let bytes = unb64(text);
            for len in 0..bytes.len() {
                let mut bad = base.clone();
                bad["response"][name] = json!(b64(&bytes[..len]));
                garbage.push(bad);
            }
        }
        for key in ["rawId", "type", "response"] {
            let mut bad = base.clone();
            bad.as_object_mut().unwrap().remove(key);
            garbage.push(bad);
        }
    }
    println!("{} garbage inputs", garbage.len());
    for bad in &garbage {
        rejected(rp.finish_registration(&reg_state, bad));
        let user_handle_only = bad.get("response").is_some_and(Value::is_object)
            && bad["response"].get("userHandle") != assertion["response"].get("userHandle")
            && {
                let mut restored = bad.clone();
                restored["response"]["userHandle"] = assertion["response"]["userHandle"].clone();
                restored == assertion
            };
        match rp.finish_authentication(&auth_state, bad, &user.passkeys) {
            // userHandle is not signed and webauthn-rs ignores it in second-factor mode.
            Ok(_) if user_handle_only => {}
            other => {
                rejected(other);
            }
        }
        rejected(rp.finish_discoverable(&disc_state, bad, &user.passkeys));
        let _ = rp.identify(bad); // parses only: Ok for a well-formed one, never a panic
    }
    // Garbage stored passkeys.
    rejected(rp.start_authentication(&["{}".to_string()]));
    rejected(rp.start_authentication(&[]));
    rejected(rp.finish_authentication(&auth_state, &assertion, &["nope".to_string()]));
    // The real ones still pass after all that.
    rp.finish_registration(&reg_state, &registration).unwrap();
    rp.finish_authentication(&auth_state, &assertion, &user.passkeys)
        .unwrap();
}

#[test]
fn non_resident_credential_cannot_answer_a_discoverable_request() {
    // The server accepts any Passkey as a DiscoverableKey; discoverability is the
    // authenticator's business. Plain webauthn-rs options say residentKey "discouraged".
    let rp = rp();
    let mut auth = SoftAuthenticator::new();
    let (mut options, state) = rp
        .start_registration(UserId::generate(), "n", "n", &[])
        .unwrap();
    options["authenticatorSelection"]["residentKey"] = json!("discouraged");
    options["authenticatorSelection"]["requireResidentKey"] = json!(false);
    let passkey = rp
        .finish_registration(&state, &auth.register(&origin(), &options))
        .unwrap()
        .passkey;
    let (options, _) = rp.start_discoverable().unwrap();
    assert!(auth.try_authenticate(&origin(), &options, None).is_err());
    // Second factor still works.
    let (options, state) = rp
        .start_authentication(std::slice::from_ref(&passkey))
        .unwrap();
    let response = auth.authenticate(&origin(), &options);
    assert!(response["response"]["userHandle"].is_null());
    rp.finish_authentication(&state, &response, &[passkey])
        .unwrap();
}
