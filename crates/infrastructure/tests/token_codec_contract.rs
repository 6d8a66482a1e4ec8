//! The `TokenCodec` contract, run against every adapter: signed JWTs (`JwtCodec`, with each
//! asymmetric algorithm's key ring and with an HS256 secret) and the in-memory opaque tokens. Claims are built at the precision every codec keeps (expiry to
//! the second, issue time to the millisecond).
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;

use std::collections::BTreeSet;

use arc_swap::ArcSwap;
use gatehouse_application::ports::{
    AccessGrant, SigningKeyMaterial, TokenClaims, TokenCodec, TokenDecodeError, TokenKind,
};
use gatehouse_domain::{AuthMethod, DeviceId, KeyState, Permission, Role, SecurityStamp, UserId};
use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings};
use gatehouse_infrastructure::signing::{
    KeyAlgorithm, KeyRing, MASTER_KEY_BYTES, MasterKey, SealedKeyMaterial,
};
use gatehouse_memory::InMemoryTokenCodec;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

type Codec = Arc<dyn TokenCodec>;

fn claims(kind: TokenKind, lifetime: Duration) -> TokenClaims {
    let now = OffsetDateTime::now_utc();
    let issued_at = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap();
    TokenClaims {
        subject: UserId::generate(),
        token_id: Uuid::new_v4(),
        kind,
        family: (kind == TokenKind::Refresh).then(Uuid::new_v4),
        device: Some(DeviceId::generate()),
        issued_at,
        // The family's login, long before this token (to the second, as `auth_time` is).
        authenticated_at: (now - Duration::days(3)).replace_nanosecond(0).unwrap(),
        expires_at: (now + lifetime).replace_nanosecond(0).unwrap(),
        stamp: SecurityStamp::new(7),
        methods: vec![AuthMethod::Password],
        grant: (kind == TokenKind::Access).then(|| AccessGrant {
            role: Role::User,
            permissions: BTreeSet::from([Permission::CanCreateUser, Permission::CanViewUsers]),
        }),
    }
}

async fn claims_come_back_as_encoded(codec: Codec) {
    for kind in [TokenKind::Access, TokenKind::Refresh] {
        let original = claims(kind, Duration::minutes(5));
        let token = codec.encode(&original).unwrap();
        assert_eq!(codec.decode(&token, kind).unwrap(), original);
        // Decoding uses nothing up: a token is checked on every request.
        assert_eq!(codec.decode(&token, kind).unwrap(), original);
    }
    let mut anonymous = claims(TokenKind::Access, Duration::minutes(5));
    anonymous.device = None;
    let token = codec.encode(&anonymous).unwrap();
    assert_eq!(codec.decode(&token, TokenKind::Access).unwrap(), anonymous);
}

async fn a_token_is_only_accepted_as_its_own_kind(codec: Codec) {
    let access = codec
        .encode(&claims(TokenKind::Access, Duration::minutes(5)))
        .unwrap();
    let refresh = codec
        .encode(&claims(TokenKind::Refresh, Duration::minutes(5)))
        .unwrap();
    assert_eq!(
        codec.decode(&access, TokenKind::Refresh),
        Err(TokenDecodeError::Invalid)
    );
    assert_eq!(
        codec.decode(&refresh, TokenKind::Access),
        Err(TokenDecodeError::Invalid)
    );
}

async fn a_refresh_token_without_a_family_is_refused(codec: Codec) {
    let mut orphan = claims(TokenKind::Refresh, Duration::minutes(5));
    orphan.family = None;
    let token = codec.encode(&orphan).unwrap();
    assert_eq!(
        codec.decode(&token, TokenKind::Refresh),
        Err(TokenDecodeError::Invalid)
    );
}

async fn an_expired_token_is_expired(codec: Codec) {
    let token = codec
        .encode(&claims(TokenKind::Access, -Duration::minutes(1)))
        .unwrap();
    assert_eq!(
        codec.decode(&token, TokenKind::Access),
        Err(TokenDecodeError::Expired)
    );
}

/// Verified once while live does not mean valid for ever (codecs may remember what they
/// verified).
async fn a_token_verified_while_live_is_expired_afterwards(codec: Codec) {
    let token = codec
        .encode(&claims(TokenKind::Access, Duration::seconds(1)))
        .unwrap();
    assert!(codec.decode(&token, TokenKind::Access).is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        codec.decode(&token, TokenKind::Access),
        Err(TokenDecodeError::Expired)
    );
}

async fn unknown_garbled_and_altered_tokens_are_invalid(codec: Codec) {
    let token = codec
        .encode(&claims(TokenKind::Access, Duration::minutes(5)))
        .unwrap();
    let mut altered = token.clone().into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    let truncated = &token[..token.len() - 1];
    let longer = format!("{token}a");
    for bad in ["", "garbage", "a.b.c", truncated, &altered, &longer] {
        assert_eq!(
            codec.decode(bad, TokenKind::Access),
            Err(TokenDecodeError::Invalid),
            "{bad:?}"
        );
    }
}

async fn another_codec_refuses_the_token(codec: Codec, other: Codec) {
    let token = codec
        .encode(&claims(TokenKind::Access, Duration::minutes(5)))
        .unwrap();
    assert_eq!(
        other.decode(&token, TokenKind::Access),
        Err(TokenDecodeError::Invalid)
    );
}

fn jwt(secret: &str) -> Codec {
    Arc::new(JwtCodec::new(&JwtSettings::hs256(
        secret.to_owned().into(),
        "gatehouse",
        "gatehouse",
    )))
}

/// A codec signing with a fresh current key of `algorithm`, loaded as a deployment loads it.
async fn key_ring(algorithm: KeyAlgorithm) -> Codec {
    let ring = Arc::new(ArcSwap::from_pointee(KeyRing::default()));
    let master = MasterKey::from_bytes(&vec![9u8; MASTER_KEY_BYTES].into()).unwrap();
    let material = SealedKeyMaterial::new(master, algorithm, ring.clone());
    let key = material
        .generate(KeyState::Current, OffsetDateTime::now_utc())
        .await
        .unwrap();
    material.install(&[key], None).unwrap();
    Arc::new(JwtCodec::new(&JwtSettings::key_pairs(
        ring,
        "gatehouse",
        "gatehouse",
    )))
}

fn in_memory() -> Codec {
    Arc::new(InMemoryTokenCodec::new())
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod jwt_hs256 {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::jwt("a-test-secret-of-32-bytes-or-more!")).await;
            })*

            #[tokio::test]
            async fn another_codec_refuses_the_token() {
                super::another_codec_refuses_the_token(
                    super::jwt("a-test-secret-of-32-bytes-or-more!"),
                    super::jwt("another-secret-of-32-bytes-or-more"),
                )
                .await;
            }
        }
        key_ring_contract!(jwt_eddsa, EdDsa; $($case),*);
        key_ring_contract!(jwt_es256, Es256; $($case),*);
        key_ring_contract!(jwt_rs256, Rs256; $($case),*);
        mod in_memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::in_memory()).await;
            })*

            #[tokio::test]
            async fn another_codec_refuses_the_token() {
                super::another_codec_refuses_the_token(super::in_memory(), super::in_memory())
                    .await;
            }
        }
    };
}

macro_rules! key_ring_contract {
    ($module:ident, $algorithm:ident; $($case:ident),*) => {
        mod $module {
            use gatehouse_infrastructure::signing::KeyAlgorithm;

            $(#[tokio::test]
            async fn $case() {
                super::$case(super::key_ring(KeyAlgorithm::$algorithm).await).await;
            })*

            /// Another deployment's key (another `kid`) and an HS256 deployment's secret.
            #[tokio::test]
            async fn another_codec_refuses_the_token() {
                let this = || super::key_ring(KeyAlgorithm::$algorithm);
                super::another_codec_refuses_the_token(this().await, this().await).await;
                let secret = super::jwt("a-test-secret-of-32-bytes-or-more!");
                super::another_codec_refuses_the_token(this().await, secret.clone()).await;
                super::another_codec_refuses_the_token(secret, this().await).await;
            }
        }
    };
}

contract!(
    claims_come_back_as_encoded,
    a_token_is_only_accepted_as_its_own_kind,
    a_refresh_token_without_a_family_is_refused,
    an_expired_token_is_expired,
    a_token_verified_while_live_is_expired_afterwards,
    unknown_garbled_and_altered_tokens_are_invalid,
);
