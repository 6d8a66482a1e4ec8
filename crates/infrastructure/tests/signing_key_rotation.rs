//! Signing keys end to end: two instances sharing one key store (in memory and SQLite), each
//! with its own loaded keys, rotate without refusing a single live token; keys that do not
//! open stop the load; and tokens that try to slip past the key ring are refused.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_application::SigningKeys;
use gatehouse_application::ports::{
    SigningKeyMaterial, SigningKeyStore, TokenClaims, TokenCodec, TokenDecodeError, TokenKind,
};
use gatehouse_domain::{
    AuthMethod, DeviceId, KeyState, RotationPolicy, RotationStep, SecurityStamp, UserId,
};
use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings};
use gatehouse_infrastructure::signing::{
    KeyAlgorithm, KeyRing, MASTER_KEY_BYTES, MasterKey, SealPurpose, SealedKeyMaterial, seal_label,
};
use gatehouse_memory::ManualClock;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use time::OffsetDateTime;
use uuid::Uuid;

use support::Backend;

const MAX_AGE: Duration = Duration::from_secs(300);
const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
const SKEW: Duration = Duration::from_secs(60);

fn policy() -> RotationPolicy {
    RotationPolicy::new(
        Duration::from_secs(30 * 86_400),
        MAX_AGE,
        TOKEN_LIFETIME,
        SKEW,
    )
}

fn master(byte: u8) -> MasterKey {
    MasterKey::from_bytes(&vec![byte; MASTER_KEY_BYTES].into()).unwrap()
}

/// One running process: its own loaded keys, the shared store.
struct Instance {
    keys: SigningKeys,
    codec: JwtCodec,
    material: Arc<SealedKeyMaterial>,
}

impl Instance {
    fn start(
        store: Arc<dyn SigningKeyStore>,
        clock: Arc<ManualClock>,
        algorithm: KeyAlgorithm,
        master_key: MasterKey,
    ) -> Self {
        let ring = Arc::new(ArcSwap::from_pointee(KeyRing::default()));
        let material = Arc::new(SealedKeyMaterial::new(master_key, algorithm, ring.clone()));
        Self {
            keys: SigningKeys::new(store, material.clone(), policy(), clock),
            codec: JwtCodec::new(&JwtSettings::key_pairs(ring, "gatehouse", "gatehouse")),
            material,
        }
    }

    fn sign(&self) -> String {
        self.codec.encode(&claims()).unwrap()
    }

    fn accepts(&self, token: &str) -> bool {
        self.codec.decode(token, TokenKind::Access).is_ok()
    }

    fn kid(&self, token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }
}

/// An access token living one token lifetime. Expiry is checked against the real clock, not
/// the instances' manual one (which only moves the keys along).
fn claims() -> TokenClaims {
    let issued_at = OffsetDateTime::now_utc();
    TokenClaims {
        subject: UserId::generate(),
        token_id: Uuid::new_v4(),
        kind: TokenKind::Access,
        family: None,
        device: Some(DeviceId::generate()),
        issued_at,
        authenticated_at: issued_at,
        expires_at: issued_at + TOKEN_LIFETIME,
        stamp: SecurityStamp::INITIAL,
        methods: vec![AuthMethod::Password],
        grant: None,
    }
}

fn start_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(OffsetDateTime::now_utc()))
}

async fn a_rotation_across_two_instances_refuses_no_live_token(db: Backend) {
    let store = db.signing_keys();
    let clock = start_clock();
    let a = Instance::start(store.clone(), clock.clone(), KeyAlgorithm::EdDsa, master(1));
    let b = Instance::start(store.clone(), clock.clone(), KeyAlgorithm::EdDsa, master(1));
    // Both start at once on an empty store: one key comes out of it, shared.
    let (first_a, first_b) = tokio::join!(a.keys.maintain(false), b.keys.maintain(false));
    let created = [first_a.unwrap(), first_b.unwrap()].concat();
    assert_eq!(created, [RotationStep::CreateCurrent]);
    let old = a.sign();
    assert_eq!(a.kid(&old), b.kid(&b.sign()));
    assert!(b.accepts(&old));

    // An operator rotates on A: the next key is published, nothing signs with it yet.
    assert_eq!(
        a.keys.maintain(true).await.unwrap(),
        [RotationStep::CreateNext]
    );
    assert_eq!(a.kid(&a.sign()), a.kid(&old));
    assert_eq!(a.keys.jwks().len(), 2);
    // B picks it up within a max-age (its periodic reload).
    clock.advance(MAX_AGE / 2);
    b.keys.reload().await.unwrap();
    assert_eq!(b.keys.jwks().len(), 2);

    // Published long enough: A promotes it and signs with it; B, not reloaded yet, still
    // signs with the old key. Each accepts the other's tokens.
    clock.advance(policy().publish_before_use());
    let steps = a.keys.maintain(false).await.unwrap();
    assert!(
        matches!(steps.as_slice(), [RotationStep::Promote { .. }]),
        "{steps:?}"
    );
    let new = a.sign();
    assert_ne!(a.kid(&new), a.kid(&old));
    let still_old = b.sign();
    assert_eq!(b.kid(&still_old), a.kid(&old));
    for token in [&old, &new, &still_old] {
        assert!(a.accepts(token) && b.accepts(token));
    }
    b.keys.reload().await.unwrap();
    assert_eq!(b.kid(&b.sign()), a.kid(&new));

    // The retired key stays published until its last token has expired, then goes.
    clock.advance(policy().keep_after_retiring() - Duration::from_secs(1));
    assert!(a.keys.maintain(false).await.unwrap().is_empty());
    assert!(b.accepts(&still_old));
    clock.advance(Duration::from_secs(1));
    let steps = a.keys.maintain(false).await.unwrap();
    assert!(
        matches!(steps.as_slice(), [RotationStep::Remove { .. }]),
        "{steps:?}"
    );
    b.keys.reload().await.unwrap();
    assert_eq!(b.keys.jwks().len(), 1);
    assert!(!b.accepts(&old) && !a.accepts(&still_old));
    assert!(a.accepts(&new) && b.accepts(&new));
}

async fn a_wrong_master_key_or_a_changed_row_stops_the_load(db: Backend) {
    let store = db.signing_keys();
    let clock = start_clock();
    let right = Instance::start(store.clone(), clock.clone(), KeyAlgorithm::EdDsa, master(1));
    right.keys.maintain(false).await.unwrap();
    let wrong = Instance::start(store.clone(), clock.clone(), KeyAlgorithm::EdDsa, master(2));
    let refused = wrong.keys.maintain(false).await.unwrap_err();
    assert!(
        format!("{:#}", anyhow::Error::from(refused)).contains("wrong master key"),
        "the message says why"
    );
    assert!(wrong.keys.jwks().is_empty());

    let stored = store.published().await.unwrap();
    let other = gatehouse_infrastructure::signing::generate(KeyAlgorithm::EdDsa).unwrap();
    let mut swapped_public = stored.clone();
    swapped_public[0].public_jwk = serde_json::to_string(&other.public_jwk).unwrap();
    let mut flipped = stored.clone();
    let last = flipped[0].sealed_private_key.len() - 1;
    flipped[0].sealed_private_key[last] ^= 1;
    let mut other_algorithm = stored.clone();
    other_algorithm[0].algorithm = "ES256".into();
    let mut wrong_parameters = stored.clone();
    wrong_parameters[0].public_jwk = stored[0].public_jwk.replace("\"x\":\"", "\"x\":\"AA");
    // Rows sealed consistently by someone holding the master key, but wrong inside: a short
    // Ed25519 key (jsonwebtoken would panic verifying with it), and another key's public half.
    let resealed = |public_jwk: String| {
        let mut row = stored.clone();
        let private = master(1)
            .open(
                SealPurpose::SigningKey,
                &seal_label(&row[0].kid, KeyAlgorithm::EdDsa, &row[0].public_jwk),
                &row[0].sealed_private_key,
            )
            .unwrap();
        row[0].sealed_private_key = master(1)
            .seal(
                SealPurpose::SigningKey,
                &seal_label(&row[0].kid, KeyAlgorithm::EdDsa, &public_jwk),
                secrecy::ExposeSecret::expose_secret(&private),
            )
            .unwrap();
        row[0].public_jwk = public_jwk;
        row
    };
    let mut short: serde_json::Value = serde_json::from_str(&stored[0].public_jwk).unwrap();
    short["x"] = URL_SAFE_NO_PAD.encode([1u8; 16]).into();
    let short_key = resealed(short.to_string());
    let mut mismatched: serde_json::Value = serde_json::to_value(&other.public_jwk).unwrap();
    mismatched["kid"] = stored[0].kid.clone().into();
    let mismatched_pair = resealed(mismatched.to_string());
    for changed in [
        swapped_public,
        flipped,
        other_algorithm,
        wrong_parameters,
        short_key,
        mismatched_pair,
    ] {
        assert!(
            right.material.install(&changed, None).is_err(),
            "{changed:?}"
        );
    }
    // The keys loaded before are still the ones in use.
    let token = right.sign();
    assert!(right.accepts(&token));
}

macro_rules! backends {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Backend::memory()).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                let (db, _file) = super::support::sqlite().await;
                super::$case(db).await;
            })*
        }
    };
}

backends!(
    a_rotation_across_two_instances_refuses_no_live_token,
    a_wrong_master_key_or_a_changed_row_stops_the_load,
);

/// The tokens an attacker would try against an EdDSA deployment, each refused as invalid.
#[tokio::test]
async fn tokens_that_try_to_slip_past_the_key_ring_are_invalid() {
    let clock = start_clock();
    let instance = Instance::start(
        Backend::memory().signing_keys(),
        clock.clone(),
        KeyAlgorithm::EdDsa,
        master(1),
    );
    instance.keys.maintain(false).await.unwrap();
    let token = instance.sign();
    let kid = instance.kid(&token);
    let parts: Vec<&str> = token.split('.').collect();
    let payload =
        serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap())
            .unwrap();
    let header = |json: serde_json::Value| URL_SAFE_NO_PAD.encode(json.to_string());

    // The published key's bytes used as an HMAC secret (key confusion).
    let jwk: serde_json::Value = serde_json::from_str(&instance.keys.jwks()[0]).unwrap();
    let public_bytes = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some(kid.clone());
    let confusion = jsonwebtoken::encode(
        &confused,
        &payload,
        &EncodingKey::from_secret(&public_bytes),
    )
    .unwrap();
    let jwk_text_confusion = jsonwebtoken::encode(
        &confused,
        &payload,
        &EncodingKey::from_secret(instance.keys.jwks()[0].as_bytes()),
    )
    .unwrap();

    let unknown_kid = format!(
        "{}.{}.{}",
        header(serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": "not-a-key"})),
        parts[1],
        parts[2]
    );
    let no_kid = format!(
        "{}.{}.{}",
        header(serde_json::json!({"alg": "EdDSA", "typ": "JWT"})),
        parts[1],
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        header(serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid})),
        parts[1]
    );
    let other_alg = format!(
        "{}.{}.{}",
        header(serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid})),
        parts[1],
        parts[2]
    );
    let truncated = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        &parts[2][..parts[2].len() / 2]
    );
    let no_signature = format!("{}.{}.", parts[0], parts[1]);
    for bad in [
        confusion,
        jwk_text_confusion,
        unknown_kid,
        no_kid,
        alg_none,
        other_alg,
        truncated,
        no_signature,
    ] {
        assert_eq!(
            instance.codec.decode(&bad, TokenKind::Access),
            Err(TokenDecodeError::Invalid),
            "{bad}"
        );
    }
    assert!(instance.accepts(&token));
}

/// Every new key is generated in the configured algorithm, and the published JWK carries
/// public parameters only.
#[tokio::test]
async fn published_keys_carry_no_private_parameter() {
    for algorithm in [
        KeyAlgorithm::EdDsa,
        KeyAlgorithm::Es256,
        KeyAlgorithm::Rs256,
    ] {
        let clock = start_clock();
        let instance = Instance::start(
            Backend::memory().signing_keys(),
            clock.clone(),
            algorithm,
            master(1),
        );
        instance.keys.maintain(false).await.unwrap();
        let key = &instance
            .material
            .generate(
                KeyState::Next,
                gatehouse_application::ports::Clock::now(&*clock),
            )
            .await
            .unwrap();
        assert_eq!(key.algorithm, algorithm.as_str());
        let jwk: serde_json::Value = serde_json::from_str(&instance.keys.jwks()[0]).unwrap();
        assert_eq!(jwk["alg"], algorithm.as_str());
        assert_eq!(jwk["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                jwk.get(private).is_none(),
                "{algorithm:?} publishes {private}"
            );
        }
    }
}
