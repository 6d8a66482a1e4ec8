//! The throttle: named limits over the rate limiter port, keyed by account, client address (IPv6
//! by its /64) or user, with reservations that are given back when an attempt does not count.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{AuditEventType, Email, UserId};

use crate::limits::ports::{RateLimit, RateLimiter, RateStatus};
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, sha256_hex};
use crate::shared::counters;
use crate::shared::error::AppError;

/// The configured limits.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Login attempts per account that may fail (default 10 per 15 minutes).
    pub login_failures_per_account: RateLimit,
    /// Login attempts per client address that may fail (default 100 per 15 minutes).
    pub login_failures_per_address: RateLimit,
    /// Registrations per client address (default 300 per 15 minutes).
    pub registrations_per_address: RateLimit,
    /// Refreshes per client address (default 600 per 15 minutes).
    pub refreshes_per_address: RateLimit,
    /// Forgot-password requests per client address (default 100 per 15 minutes).
    pub password_resets_per_address: RateLimit,
    /// Verification resends per client address (default 100 per 15 minutes).
    pub verification_resends_per_address: RateLimit,
    /// Emailed links of one kind to one address (default 1 per minute).
    pub account_emails_per_address: RateLimit,
    /// Reset emails to one address (default 10 per day, `GATEHOUSE_RESET_EMAILS_PER_DAY`).
    pub reset_emails_per_day: RateLimit,
    /// Resent verification emails to one address (default 10 per day): a victim's address
    /// registered by someone else cannot be mailed once a minute all day.
    pub verification_emails_per_day: RateLimit,
    /// Tasks created per user (default 60 per hour, `GATEHOUSE_TASKS_PER_HOUR`).
    pub tasks_per_user: RateLimit,
    /// Passwordless passkey sign-ins started per client address (default 300 per 15
    /// minutes): each start keeps a ceremony in the shared store for minutes.
    pub passkey_sign_ins_per_address: RateLimit,
    /// Second-factor changes per user (enrolments, removals, new recovery codes, passkey
    /// ceremonies started; default 30 per hour): each one emails and audits.
    pub factor_changes_per_user: RateLimit,
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
            account_emails_per_address: RateLimit {
                limit: 1,
                window: Duration::from_secs(60),
            },
            reset_emails_per_day: RateLimit {
                limit: 10,
                window: Duration::from_secs(24 * 3600),
            },
            verification_emails_per_day: RateLimit {
                limit: 10,
                window: Duration::from_secs(24 * 3600),
            },
            tasks_per_user: RateLimit {
                limit: 60,
                window: Duration::from_secs(3600),
            },
            passkey_sign_ins_per_address: per_window(300),
            factor_changes_per_user: RateLimit {
                limit: 30,
                window: Duration::from_secs(3600),
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
    /// `POST /auth/passkey/start`.
    PasskeySignIn,
}

/// Which emailed link a per-address email limit counts: each kind gets one a minute and a
/// daily number per address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailLimit {
    /// Verification links.
    Verification,
    /// Reset links.
    PasswordReset,
}

/// The two limits a login attempt is reserved against.
#[derive(Debug, Clone, Copy)]
enum LoginLimit {
    Address,
    Account,
}

impl LoginLimit {
    /// The `limit` label of the rejection counter.
    fn metric(self) -> &'static str {
        match self {
            Self::Address => "login_address",
            Self::Account => "login_account",
        }
    }

    /// The `limit` of a `login_throttled` audit event.
    fn audit_label(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Account => "account",
        }
    }
}

/// Counts held for an attempt while it is checked (a password, a task's place). Give it back
/// with [`Throttle::give_back`] when the attempt turns out not to count (the password was
/// right); otherwise it simply stays counted.
#[derive(Debug)]
#[must_use = "an attempt that should not count must be given back"]
pub struct Reservation {
    keys: Vec<String>,
}

/// Applies the limits. Keys never contain secrets: accounts are named by user id (or a hash
/// of the identifier when no such account exists, so unknown accounts throttle alike), email
/// addresses by their hash, and client addresses as the network they stand for (an IPv6
/// client by its /64, which one subscriber typically holds whole).
///
/// Attempts that can be guessed (passwords, codes) are RESERVED before they are checked: the
/// count is taken in one atomic step of the limiter, so N guesses sent at once get at most
/// `limit` checks and the rest are refused without a hash being computed. A right password
/// gives its reservation back, so a user who signs in often never locks themselves out; only
/// failures stay counted.
pub struct Throttle {
    limiter: Arc<dyn RateLimiter>,
    settings: ThrottleSettings,
    audit: Arc<Auditor>,
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

/// How a client address is counted: IPv4 as it is (and IPv4 mapped into IPv6 likewise), IPv6
/// by its /64, since one subscriber is handed a whole /64 and could otherwise rotate through
/// 2^64 addresses.
pub(crate) fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl Throttle {
    /// A throttle over `limiter`; refusals of guessable attempts are audited through `audit`.
    pub fn new(
        limiter: Arc<dyn RateLimiter>,
        settings: ThrottleSettings,
        audit: Arc<Auditor>,
    ) -> Self {
        Self {
            limiter,
            settings,
            audit,
        }
    }

    /// Reserves one login attempt (a password, or a current password, about to be checked)
    /// against the client's address and the account, before anything is checked. Past
    /// either limit the attempt is refused with the time to wait, whatever the password.
    /// `account` is the throttle key of the account, `user` the account when it exists.
    pub async fn reserve_login(
        &self,
        account: &str,
        user: Option<UserId>,
        client: &ClientInfo,
    ) -> Result<Reservation, AppError> {
        let s = &self.settings;
        let mut held = Reservation { keys: Vec::new() };
        let limits = client
            .address
            .map(|ip| {
                let key = format!("login:ip:{}", address_key(ip));
                (LoginLimit::Address, key, s.login_failures_per_address)
            })
            .into_iter()
            .chain([(
                LoginLimit::Account,
                format!("login:account:{account}"),
                s.login_failures_per_account,
            )]);
        for (which, key, limit) in limits {
            let status = match self.limiter.reserve(&key, limit).await {
                Ok(status) => status,
                Err(error) => {
                    self.give_back(held).await;
                    return Err(error.into());
                }
            };
            if let RateStatus::Limited { retry_after } = status {
                self.give_back(held).await;
                counters::rate_limited(which.metric());
                self.report_refusal(which, &key, retry_after, user, client)
                    .await;
                return Err(AppError::RateLimited { retry_after });
            }
            held.keys.push(key);
        }
        Ok(held)
    }

    /// Records a `login_throttled` event, at most once per limit key per window (the report
    /// marker lives exactly as long as the window that refused): a flood of refused attempts
    /// writes one row, not one each, and the next lockout is reported again.
    async fn report_refusal(
        &self,
        which: LoginLimit,
        key: &str,
        window_left: Duration,
        user: Option<UserId>,
        client: &ClientInfo,
    ) {
        let once = RateLimit {
            limit: 1,
            window: window_left.max(Duration::from_millis(1)),
        };
        match self.limiter.hit(&format!("reported:{key}"), once).await {
            Ok(RateStatus::Allowed) => {}
            Ok(RateStatus::Limited { .. }) => return,
            Err(error) => {
                tracing::warn!(error = %error, "cannot tell whether a refusal was reported");
                return;
            }
        }
        let context = AuditContext {
            user,
            actor: None,
            client,
        };
        let data = [("limit", which.audit_label().to_owned())];
        self.audit
            .record(AuditEventType::LoginThrottled, context, &data)
            .await;
    }

    /// Gives a reservation back: its attempt does not count. Best effort: a limiter that
    /// fails now leaves the attempt counted, which errs on the safe side.
    pub async fn give_back(&self, reservation: Reservation) {
        for key in reservation.keys {
            if let Err(error) = self.limiter.release(&key).await {
                tracing::warn!(error = %error, "a rate-limit reservation was not given back");
            }
        }
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
            AddressAction::PasskeySignIn => ("passkey", self.settings.passkey_sign_ins_per_address),
        };
        let key = format!("{name}:ip:{}", address_key(ip));
        verdict(name, self.limiter.hit(&key, limit).await?)
    }

    /// Counts one emailed link of `kind` to `address` (hashed here); `false` once past the
    /// per-address limits. The caller stays silent about it: the answer must not tell
    /// whether the account exists.
    pub async fn allow_account_email(
        &self,
        kind: EmailLimit,
        address: &Email,
    ) -> Result<bool, AppError> {
        let s = &self.settings;
        let (name, per_day) = match kind {
            EmailLimit::Verification => ("verification", s.verification_emails_per_day),
            EmailLimit::PasswordReset => ("reset", s.reset_emails_per_day),
        };
        let digest = sha256_hex(address.as_str());
        let minute = format!("mail:{name}:{digest}");
        if self
            .limiter
            .reserve(&minute, s.account_emails_per_address)
            .await?
            != RateStatus::Allowed
        {
            return Ok(false);
        }
        let day = format!("mail:{name}:day:{digest}");
        Ok(self.limiter.reserve(&day, per_day).await? == RateStatus::Allowed)
    }

    /// Reserves one check of a code against the challenge `challenge` (a digest, never the
    /// secret), at most `limit` per `window`: `false` once the challenge has used them all.
    /// Nothing is given back, so a challenge gets `limit` checks in its whole life, however
    /// many arrive at once.
    pub async fn reserve_challenge_check(
        &self,
        challenge: &str,
        limit: RateLimit,
    ) -> Result<bool, AppError> {
        let key = format!("challenge:{challenge}");
        Ok(self.limiter.reserve(&key, limit).await? == RateStatus::Allowed)
    }

    /// Counts one change of `user`'s second factors, refusing it past the hourly limit.
    pub async fn factor_change(&self, user: UserId) -> Result<(), AppError> {
        let key = format!("factors:user:{user}");
        let limit = self.settings.factor_changes_per_user;
        verdict("factor_changes", self.limiter.hit(&key, limit).await?)
    }

    /// Reserves one task creation for `user` within the hourly limit. Give it back when the
    /// task is refused for another reason: refused creations do not count.
    pub async fn reserve_task(&self, user: UserId) -> Result<Reservation, AppError> {
        let key = format!("tasks:user:{user}");
        verdict(
            "tasks_per_user",
            self.limiter
                .reserve(&key, self.settings.tasks_per_user)
                .await?,
        )?;
        Ok(Reservation { keys: vec![key] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::ports::MockRateLimiter;
    use crate::test_support::{quiet_auditor, recording_auditor};

    fn client(ip: &str) -> ClientInfo {
        ClientInfo {
            address: Some(ip.parse().unwrap()),
            user_agent: None,
        }
    }

    #[tokio::test]
    async fn a_limited_account_is_refused_with_the_time_to_wait_and_nothing_stays_held() {
        let mut limiter = MockRateLimiter::new();
        limiter.expect_reserve().returning(|key, _| {
            Ok(if key.starts_with("login:account:") {
                RateStatus::Limited {
                    retry_after: Duration::from_secs(42),
                }
            } else {
                RateStatus::Allowed
            })
        });
        // The address's reservation is given back when the account refuses.
        limiter
            .expect_release()
            .withf(|key| key == "login:ip:10.0.0.7")
            .times(1)
            .returning(|_| Ok(()));
        limiter
            .expect_hit()
            .returning(|_, _| Ok(RateStatus::Allowed));
        let throttle = Throttle::new(
            Arc::new(limiter),
            ThrottleSettings::default(),
            quiet_auditor(),
        );
        let err = throttle
            .reserve_login("user-1", None, &client("10.0.0.7"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::RateLimited { retry_after } if retry_after == Duration::from_secs(42))
        );
    }

    #[tokio::test]
    async fn attempts_are_reserved_against_address_and_account_and_given_back_together() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_reserve()
            .withf(|key, limit| key == "login:ip:10.0.0.7" && limit.limit == 100)
            .times(1)
            .returning(|_, _| Ok(RateStatus::Allowed));
        limiter
            .expect_reserve()
            .withf(|key, limit| key == "login:account:user-1" && limit.limit == 10)
            .times(1)
            .returning(|_, _| Ok(RateStatus::Allowed));
        limiter.expect_release().times(2).returning(|_| Ok(()));
        let throttle = Throttle::new(
            Arc::new(limiter),
            ThrottleSettings::default(),
            quiet_auditor(),
        );
        let held = throttle
            .reserve_login("user-1", None, &client("10.0.0.7"))
            .await
            .unwrap();
        throttle.give_back(held).await;
    }

    #[tokio::test]
    async fn a_refusal_is_audited_once_per_window() {
        let mut limiter = MockRateLimiter::new();
        limiter.expect_reserve().returning(|_, _| {
            Ok(RateStatus::Limited {
                retry_after: Duration::from_secs(9),
            })
        });
        let reported = std::sync::atomic::AtomicBool::new(false);
        limiter.expect_hit().returning(move |key, limit| {
            assert!(key.starts_with("reported:login:") && limit.limit == 1);
            Ok(
                if reported.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    RateStatus::Limited {
                        retry_after: Duration::from_secs(9),
                    }
                } else {
                    RateStatus::Allowed
                },
            )
        });
        let (audit, events) = recording_auditor();
        let throttle = Throttle::new(Arc::new(limiter), ThrottleSettings::default(), audit);
        let user = UserId::generate();
        for _ in 0..5 {
            let refused = throttle
                .reserve_login("k", Some(user), &client("::1"))
                .await;
            assert!(matches!(refused, Err(AppError::RateLimited { .. })));
        }
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, AuditEventType::LoginThrottled);
        assert_eq!(events[0].user, Some(user));
    }

    #[tokio::test]
    async fn a_failing_limiter_fails_closed() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .returning(|_, _| Err(anyhow::anyhow!("down")));
        let throttle = Throttle::new(
            Arc::new(limiter),
            ThrottleSettings::default(),
            quiet_auditor(),
        );
        let err = throttle
            .per_address(AddressAction::Register, Some("::1".parse().unwrap()))
            .await;
        assert!(matches!(err, Err(AppError::Unavailable(_))));
    }

    /// Both kinds of emailed link have a daily cap per address, besides the minute one, and
    /// the address is named by its hash only.
    #[tokio::test]
    async fn emailed_links_are_capped_per_address_by_the_minute_and_the_day() {
        for (kind, name) in [
            (EmailLimit::Verification, "verification"),
            (EmailLimit::PasswordReset, "reset"),
        ] {
            let mut limiter = MockRateLimiter::new();
            limiter.expect_reserve().returning(move |key, limit| {
                assert!(!key.contains('@'), "{key}");
                assert!(key.starts_with(&format!("mail:{name}:")), "{key}");
                Ok(if key.contains(":day:") {
                    assert_eq!(limit.limit, 10);
                    RateStatus::Limited {
                        retry_after: Duration::from_secs(3600),
                    }
                } else {
                    RateStatus::Allowed
                })
            });
            let throttle = Throttle::new(
                Arc::new(limiter),
                ThrottleSettings::default(),
                quiet_auditor(),
            );
            let address = Email::parse("victim@example.com").unwrap();
            assert!(!throttle.allow_account_email(kind, &address).await.unwrap());
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        let key = |ip: &str| address_key(ip.parse().unwrap());
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
