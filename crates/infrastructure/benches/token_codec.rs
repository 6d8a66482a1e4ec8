//! Token issue and verify per algorithm: the per-request cost of bearer authentication
//! before any store. EdDSA is the default; HS256 the legacy baseline it is compared with.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::BTreeSet;
use std::sync::Arc;

use arc_swap::ArcSwap;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gatehouse_application::ports::{
    AccessGrant, SigningKeyMaterial, TokenClaims, TokenCodec, TokenKind,
};
use gatehouse_domain::{AuthMethod, KeyState, Role, UserId};
use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings};
use gatehouse_infrastructure::signing::{
    KeyAlgorithm, KeyRing, MASTER_KEY_BYTES, MasterKey, SealedKeyMaterial,
};
use std::hint::black_box;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn claims() -> TokenClaims {
    let now = OffsetDateTime::now_utc();
    TokenClaims {
        subject: UserId::generate(),
        token_id: Uuid::new_v4(),
        kind: TokenKind::Access,
        family: None,
        device: Some(gatehouse_domain::DeviceId::generate()),
        issued_at: now,
        authenticated_at: now,
        expires_at: now + Duration::minutes(15),
        stamp: gatehouse_domain::SecurityStamp::new(3),
        methods: vec![AuthMethod::Password],
        grant: Some(AccessGrant {
            role: Role::User,
            permissions: BTreeSet::new(),
        }),
    }
}

/// A codec signing with a fresh key of `algorithm`, loaded as a deployment loads it.
fn key_ring(algorithm: KeyAlgorithm) -> JwtCodec {
    let ring = Arc::new(ArcSwap::from_pointee(KeyRing::default()));
    let master = MasterKey::from_bytes(&vec![5u8; MASTER_KEY_BYTES].into()).unwrap();
    let material = SealedKeyMaterial::new(master, algorithm, ring.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = runtime
        .block_on(material.generate(KeyState::Current, OffsetDateTime::now_utc()))
        .unwrap();
    material.install(&[key], None).unwrap();
    JwtCodec::new(&JwtSettings::key_pairs(ring, "gatehouse", "gatehouse"))
}

fn token_codec(c: &mut Criterion) {
    let codecs = [
        (
            "hs256",
            JwtCodec::new(&JwtSettings::hs256(
                "benchmark-secret-0123456789abcdef0123".to_owned().into(),
                "gatehouse",
                "gatehouse",
            )),
        ),
        ("eddsa", key_ring(KeyAlgorithm::EdDsa)),
        ("es256", key_ring(KeyAlgorithm::Es256)),
        ("rs256", key_ring(KeyAlgorithm::Rs256)),
    ];
    let claims = claims();
    for (name, codec) in &codecs {
        let token = codec.encode(&claims).expect("encodes");
        c.bench_function(&format!("jwt_issue_access/{name}"), |b| {
            b.iter(|| codec.encode(black_box(&claims)))
        });
        // A token seen for the first time: the signature is checked.
        c.bench_function(&format!("jwt_verify_access_first/{name}"), |b| {
            b.iter_batched(
                || {
                    let mut fresh = claims.clone();
                    fresh.token_id = Uuid::new_v4();
                    codec.encode(&fresh).expect("encodes")
                },
                |token| codec.decode(black_box(&token), TokenKind::Access),
                BatchSize::SmallInput,
            )
        });
        // The same token again, as on every request of a session: a key-pair token's
        // signature was checked already.
        c.bench_function(&format!("jwt_verify_access_again/{name}"), |b| {
            b.iter(|| codec.decode(black_box(&token), TokenKind::Access))
        });
    }
}

criterion_group!(benches, token_codec);
criterion_main!(benches);
