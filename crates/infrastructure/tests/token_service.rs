//! `TokenService` on the real codec and the in-memory store: the revocation rules that
//! depend on both, without HTTP.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;

use gatehouse_application::{AppError, Credential, Refreshed, TokenService, TokenSettings};
use gatehouse_domain::{AuthMethod, Email, PasswordHash, SecurityStamp, User, UserId, Username};
use gatehouse_infrastructure::SystemClock;
use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings};
use gatehouse_memory::InMemoryTokenStore;

/// `id`'s account as a sign-in read it, under `stamp`.
fn account(id: UserId, stamp: SecurityStamp) -> User {
    let mut user = User::register(
        Email::parse("token-service@example.com").unwrap(),
        Username::parse("token_service").unwrap(),
        PasswordHash::new("$2b$04$hash".into()),
        time::OffsetDateTime::now_utc(),
    );
    user.id = id;
    user.security_stamp = stamp;
    user
}

fn password() -> Vec<AuthMethod> {
    vec![AuthMethod::Password]
}

fn service() -> TokenService {
    let codec = JwtCodec::new(&JwtSettings::hs256(
        "service-test-secret-0123456789abcdef".to_owned().into(),
        "gatehouse",
        "gatehouse",
    ));
    TokenService::new(
        Arc::new(codec),
        Arc::new(InMemoryTokenStore::new()),
        Arc::new(SystemClock),
        TokenSettings::default(),
    )
}

/// Revocation is by security stamp, not by clock: a token issued under the old stamp in the
/// same millisecond as the revocation is revoked, and one under the new stamp in that same
/// millisecond is not.
#[tokio::test]
async fn revoking_a_user_is_exact_to_the_stamp_whatever_the_clock() {
    let tokens = service();
    let user = UserId::generate();
    let (old, new) = (SecurityStamp::new(4), SecurityStamp::new(5));
    let before = tokens
        .issue_new_family(&account(user, old), None, password())
        .await
        .unwrap();
    tokens.revoke_user(user, new).await.unwrap();
    let late_but_stale = tokens
        .issue_new_family(&account(user, old), None, password())
        .await
        .unwrap();
    let after = tokens
        .issue_new_family(&account(user, new), None, password())
        .await
        .unwrap();

    assert!(matches!(
        tokens.authenticate(&late_but_stale.access_token).await,
        Err(AppError::TokenInvalid)
    ));

    assert!(matches!(
        tokens.authenticate(&before.access_token).await,
        Err(AppError::TokenInvalid)
    ));
    assert!(matches!(
        tokens.rotate(&before.refresh_token).await,
        Err(AppError::TokenInvalid)
    ));
    assert_eq!(
        tokens
            .authenticate(&after.access_token)
            .await
            .unwrap()
            .user_id,
        user
    );
    assert!(matches!(
        tokens.rotate(&after.refresh_token).await,
        Ok(Refreshed::Rotated(rotated)) if rotated.user == user
    ));
}

#[tokio::test]
async fn revoking_one_credential_leaves_the_users_other_tokens_alone() {
    let tokens = service();
    let user = UserId::generate();
    let stamp = SecurityStamp::INITIAL;
    let (first, second) = (
        tokens
            .issue_new_family(&account(user, stamp), None, password())
            .await
            .unwrap(),
        tokens
            .issue_new_family(&account(user, stamp), None, password())
            .await
            .unwrap(),
    );
    let principal = tokens.authenticate(&first.access_token).await.unwrap();
    let Credential::AccessToken {
        token_id: first_access_id,
        expires_at: first_access_exp,
    } = principal.credential
    else {
        panic!("a bearer token authenticates as an access token");
    };
    tokens
        .revoke_access_token(first_access_id, first_access_exp)
        .await
        .unwrap();
    tokens
        .revoke_refresh_token(user, &first.refresh_token)
        .await
        .unwrap();

    assert!(tokens.authenticate(&first.access_token).await.is_err());
    assert!(tokens.rotate(&first.refresh_token).await.is_err());
    assert!(tokens.authenticate(&second.access_token).await.is_ok());
    assert!(matches!(
        tokens.rotate(&second.refresh_token).await,
        Ok(Refreshed::Rotated(_))
    ));
}
