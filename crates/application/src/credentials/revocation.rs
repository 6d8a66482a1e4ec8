//! Ending every credential of an account at once: used when a password changes, an account is
//! deactivated or its access shrinks.

use std::sync::Arc;

use gatehouse_domain::{SecurityStamp, UserId};

use crate::credentials::sessions::SessionService;
use crate::credentials::tokens::TokenService;
use crate::shared::context::{Credential, Principal};
use crate::shared::error::AppError;

/// Ends a user's credentials: every refresh family, every live access token and every session,
/// on every instance at once. Callers first move the account's security stamp forward (in the
/// same write as the change that calls for it) and pass the new stamp: every access token
/// issued under an older one is refused, exactly, however close in time it was issued.
pub struct Revocation {
    tokens: Arc<TokenService>,
    sessions: Arc<SessionService>,
}

impl Revocation {
    /// Builds the helper from the services that hold credentials.
    pub fn new(tokens: Arc<TokenService>, sessions: Arc<SessionService>) -> Self {
        Self { tokens, sessions }
    }

    /// Everything of `user` (logout-all, deactivation, password reset), whose stamp is now
    /// `stamp`.
    pub async fn everything(&self, user: UserId, stamp: SecurityStamp) -> Result<(), AppError> {
        // Both are tried whatever the other did: a half-done revocation should be as little
        // half as possible (and the account's floor covers what still slips through).
        let tokens = self.tokens.revoke_user(user, stamp).await;
        let sessions = self.sessions.end_all(user).await;
        tokens.and(sessions)
    }

    /// `user`'s role or permissions changed: nothing ends here (Gatehouse reads the account
    /// on every use), but services that trust the grant in access tokens learn that the
    /// tokens issued until now carry the old one.
    pub async fn grant_changed(&self, user: UserId) -> Result<(), AppError> {
        self.tokens.grant_changed(user).await
    }

    /// Everything of the caller's but the session making this request (password change).
    /// A bearer caller keeps nothing: access tokens are checked against the per-user stamp
    /// floor, which cannot spare one of them, so such a client signs in again with the new
    /// password.
    pub async fn all_but_current(
        &self,
        principal: &Principal,
        stamp: SecurityStamp,
    ) -> Result<(), AppError> {
        // The kept session moves to the new stamp first: from the account's write until then
        // it is below the floor, and its owner's requests in that moment are refused.
        let kept = match &principal.credential {
            Credential::Session { key } => Some(key),
            Credential::AccessToken { .. } => None,
        };
        if let Some(key) = kept {
            self.sessions.restamp(key, stamp).await?;
        }
        let tokens = self.tokens.revoke_user(principal.user_id, stamp).await;
        let sessions = match kept {
            Some(key) => self.sessions.end_all_except(principal.user_id, key).await,
            None => self.sessions.end_all(principal.user_id).await,
        };
        tokens.and(sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ports::{MockSessionStore, MockTokenCodec, MockTokenStore};
    use crate::credentials::sessions::SessionSettings;
    use crate::credentials::tokens::TokenSettings;
    use crate::shared::context::SessionKey;
    use crate::test_support::{bearer_principal, fixed_clock};

    /// A password change from a session: the session is moved to the new stamp first, and
    /// both revocations are tried even when one fails (the failure is still reported).
    #[tokio::test]
    async fn the_kept_session_is_restamped_first_and_every_revocation_is_tried() {
        let stamp = SecurityStamp::new(5);
        let key = SessionKey::from_hash("kept".into());
        let mut seq = mockall::Sequence::new();
        let mut sessions = MockSessionStore::new();
        let kept = key.clone();
        sessions
            .expect_restamp()
            .withf(move |k, s| *k == kept && *s == stamp)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let mut tokens = MockTokenStore::new();
        tokens
            .expect_revoke_user()
            .times(1)
            .returning(|_, _, _| Err(anyhow::anyhow!("Redis timed out")));
        let kept = key.clone();
        sessions
            .expect_remove_all_for_user()
            .withf(move |_, keep| keep.as_ref() == Some(&kept))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let revocation = Revocation::new(
            Arc::new(TokenService::new(
                Arc::new(MockTokenCodec::new()),
                Arc::new(tokens),
                fixed_clock(),
                TokenSettings::default(),
            )),
            Arc::new(SessionService::new(
                Arc::new(sessions),
                fixed_clock(),
                SessionSettings::default(),
            )),
        );
        let mut principal = bearer_principal(gatehouse_domain::UserId::generate());
        principal.credential = Credential::Session { key };
        let outcome = revocation.all_but_current(&principal, stamp).await;
        assert!(
            matches!(outcome, Err(AppError::Unavailable(_))),
            "{outcome:?}"
        );
    }
}
