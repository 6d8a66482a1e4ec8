use std::sync::Arc;

use gatehouse_domain::{SecurityStamp, UserId};

use crate::{AppError, Credential, Principal, SessionService, TokenService};

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

    /// Everything of the caller's but the session making this request (password change).
    /// A bearer caller keeps nothing: access tokens are checked against the per-user stamp
    /// floor, which cannot spare one of them, so such a client signs in again with the new
    /// password.
    pub async fn all_but_current(
        &self,
        principal: &Principal,
        stamp: SecurityStamp,
    ) -> Result<(), AppError> {
        self.tokens.revoke_user(principal.user_id, stamp).await?;
        match &principal.credential {
            Credential::Session { key } => {
                self.sessions.end_all_except(principal.user_id, key).await?;
                // The kept session is the only one confirmed under the new stamp.
                self.sessions.restamp(key, stamp).await
            }
            Credential::AccessToken { .. } => self.sessions.end_all(principal.user_id).await,
        }
    }
}
