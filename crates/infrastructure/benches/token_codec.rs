//! Token issue and verify: the per-request cost of bearer authentication before any store.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_application::ports::{TokenClaims, TokenCodec, TokenKind};
use gatehouse_domain::UserId;
use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings};
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
        expires_at: now + Duration::minutes(15),
        stamp: gatehouse_domain::SecurityStamp::new(3),
    }
}

fn token_codec(c: &mut Criterion) {
    let codec = JwtCodec::new(&JwtSettings {
        secret: "benchmark-secret-0123456789abcdef0123".to_owned().into(),
        verify_only: Vec::new(),
        issuer: "gatehouse".into(),
        audience: "gatehouse".into(),
    });
    let claims = claims();
    let token = codec.encode(&claims).expect("encodes");
    c.bench_function("jwt_issue_access", |b| {
        b.iter(|| codec.encode(black_box(&claims)))
    });
    c.bench_function("jwt_verify_access", |b| {
        b.iter(|| codec.decode(black_box(&token), TokenKind::Access))
    });
}

criterion_group!(benches, token_codec);
criterion_main!(benches);
