use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::UserId;

use crate::AppError;
use crate::counters;
use crate::ports::{RateLimit, RateLimiter, RateStatus};

/// The configured limits.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failed logins per account (default 10 per 15 minutes).
    pub login_failures_per_account: RateLimit,
    /// Failed logins per client address (default 100 per 15 minutes).
    pub login_failures_per_address: RateLimit,
    /// Registrations per client address (default 300 per 15 minutes).
    pub registrations_per_address: RateLimit,
    /// Refreshes per client address (default 600 per 15 minutes).
    pub refreshes_per_address: RateLimit,
    /// Forgot-password requests per client address (default 100 per 15 minutes).
    pub password_resets_per_address: RateLimit,
    /// Verification resends per client address (default 100 per 15 minutes).
    pub verification_resends_per_address: RateLimit,
    /// Resent verification emails per account (default 1 per minute).
    pub account_emails_per_user: RateLimit,
}

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);

impl Default for ThrottleSettings {
    fn default() -> Self {
        let per_window = |limit| RateLimit {
            limit,
            window: FIFTEEN_MINUTES,
        };
        Self {
            login_failures_per_account: per_window(10),
            login_failures_per_address: per_window(100),
            registrations_per_address: per_window(300),
            refreshes_per_address: per_window(600),
            password_resets_per_address: per_window(100),
            verification_resends_per_address: per_window(100),
            account_emails_per_user: RateLimit {
                limit: 1,
                window: Duration::from_secs(60),
            },
        }
    }
}

/// Something a client does that is limited per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressAction {
    /// `POST /auth/register`.
    Register,
    /// `POST /auth/refresh`.
    Refresh,
    /// `POST /auth/forgot-password`.
    ForgotPassword,
    /// `POST /auth/verify-email/resend`.
    ResendVerification,
}

/// Applies the limits. Keys never contain secrets: accounts are named by user id (or by the
/// normalised identifier when no such account exists, so unknown accounts throttle alike).
pub struct Throttle {
    limiter: Arc<dyn RateLimiter>,
    settings: ThrottleSettings,
}

/// `limit` names the limit in the rejection counter.
fn verdict(limit: &'static str, status: RateStatus) -> Result<(), AppError> {
    match status {
        RateStatus::Allowed => Ok(()),
        RateStatus::Limited { retry_after } => {
            counters::rate_limited(limit);
            Err(AppError::RateLimited { retry_after })
        }
    }
}

impl Throttle {
    /// A throttle over `limiter`.
    pub fn new(limiter: Arc<dyn RateLimiter>, settings: ThrottleSettings) -> Self {
        Self { limiter, settings }
    }

    /// Refuses a login attempt for an account or address already past its failure limit,
    /// whatever the password: guessing stops being useful at the limit.
    pub async fn check_login(
        &self,
        account: &str,
        address: Option<IpAddr>,
    ) -> Result<(), AppError> {
        let s = &self.settings;
        verdict(
            "login_account",
            self.limiter
                .peek(
                    &format!("login:account:{account}"),
                    s.login_failures_per_account,
                )
                .await?,
        )?;
        if let Some(ip) = address {
            verdict(
                "login_address",
                self.limiter
                    .peek(&format!("login:ip:{ip}"), s.login_failures_per_address)
                    .await?,
            )?;
        }
        Ok(())
    }

    /// Counts one failed login against the account and the address.
    pub async fn record_login_failure(
        &self,
        account: &str,
        address: Option<IpAddr>,
    ) -> Result<(), AppError> {
        let s = &self.settings;
        self.limiter
            .hit(
                &format!("login:account:{account}"),
                s.login_failures_per_account,
            )
            .await?;
        if let Some(ip) = address {
            self.limiter
                .hit(&format!("login:ip:{ip}"), s.login_failures_per_address)
                .await?;
        }
        Ok(())
    }

    /// Lifts an account's login lockout: a password reset proved the owner is at the keys.
    pub async fn clear_login_failures(&self, account: &str) -> Result<(), AppError> {
        Ok(self
            .limiter
            .clear(&format!("login:account:{account}"))
            .await?)
    }

    /// Counts one `action` from `address`, refusing it past the limit. Without an address
    /// (no peer address, as in some test harnesses) nothing is limited.
    pub async fn per_address(
        &self,
        action: AddressAction,
        address: Option<IpAddr>,
    ) -> Result<(), AppError> {
        let Some(ip) = address else { return Ok(()) };
        let (name, limit) = match action {
            AddressAction::Register => ("register", self.settings.registrations_per_address),
            AddressAction::Refresh => ("refresh", self.settings.refreshes_per_address),
            AddressAction::ForgotPassword => ("forgot", self.settings.password_resets_per_address),
            AddressAction::ResendVerification => {
                ("resend", self.settings.verification_resends_per_address)
            }
        };
        verdict(
            name,
            self.limiter.hit(&format!("{name}:ip:{ip}"), limit).await?,
        )
    }

    /// Counts one resent email to `user`; `false` once past the per-account limit. The
    /// caller stays silent about it: the answer must not tell whether the account exists.
    pub async fn allow_account_email(&self, user: UserId) -> Result<bool, AppError> {
        let key = format!("mail:user:{user}");
        let status = self
            .limiter
            .hit(&key, self.settings.account_emails_per_user)
            .await?;
        Ok(status == RateStatus::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockRateLimiter;

    #[tokio::test]
    async fn a_limited_account_is_refused_with_the_time_to_wait() {
        let mut limiter = MockRateLimiter::new();
        limiter.expect_peek().returning(|key, _| {
            Ok(if key.starts_with("login:account:") {
                RateStatus::Limited {
                    retry_after: Duration::from_secs(42),
                }
            } else {
                RateStatus::Allowed
            })
        });
        let throttle = Throttle::new(Arc::new(limiter), ThrottleSettings::default());
        let err = throttle.check_login("user-1", None).await.unwrap_err();
        assert!(
            matches!(err, AppError::RateLimited { retry_after } if retry_after == Duration::from_secs(42))
        );
    }

    #[tokio::test]
    async fn failures_count_against_account_and_address() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .withf(|key, limit| key == "login:account:user-1" && limit.limit == 10)
            .times(1)
            .returning(|_, _| Ok(RateStatus::Allowed));
        limiter
            .expect_hit()
            .withf(|key, limit| key == "login:ip:10.0.0.7" && limit.limit == 100)
            .times(1)
            .returning(|_, _| Ok(RateStatus::Allowed));
        let throttle = Throttle::new(Arc::new(limiter), ThrottleSettings::default());
        throttle
            .record_login_failure("user-1", Some("10.0.0.7".parse().unwrap()))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failing_limiter_fails_closed() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .returning(|_, _| Err(anyhow::anyhow!("down")));
        let throttle = Throttle::new(Arc::new(limiter), ThrottleSettings::default());
        let err = throttle
            .per_address(AddressAction::Register, Some("::1".parse().unwrap()))
            .await;
        assert!(matches!(err, Err(AppError::Unavailable(_))));
    }
}
