use std::sync::Arc;

use gatehouse_domain::UserId;

use crate::{AppError, Credential, Principal, SessionService, TokenService};

/// Ends a user's credentials: every refresh family, every live access token and every session,
/// on every instance at once.
pub struct Revocation {
    tokens: Arc<TokenService>,
    sessions: Arc<SessionService>,
}

impl Revocation {
    /// Builds the helper from the services that hold credentials.
    pub fn new(tokens: Arc<TokenService>, sessions: Arc<SessionService>) -> Self {
        Self { tokens, sessions }
    }

    /// Everything of `user` (logout-all, deactivation, password reset).
    pub async fn everything(&self, user: UserId) -> Result<(), AppError> {
        self.tokens.revoke_user(user).await?;
        self.sessions.end_all(user).await
    }

    /// Everything of the caller's but the session making this request (password change).
    /// A bearer caller keeps nothing: access tokens are checked against a per-user cutoff
    /// instant, which cannot spare one of them, so such a client signs in again with the new
    /// password.
    pub async fn all_but_current(&self, principal: &Principal) -> Result<(), AppError> {
        self.tokens.revoke_user(principal.user_id).await?;
        match &principal.credential {
            Credential::Session { key } => {
                self.sessions.end_all_except(principal.user_id, key).await
            }
            Credential::AccessToken { .. } => self.sessions.end_all(principal.user_id).await,
        }
    }
}
