//! Account emails: queued as jobs on the request path, rendered and sent by workers.
//!
//! A job carries only the user id and the kind of email. The worker mints the token (storing
//! its digest) when it renders the message, so no token ever sits in the queue or the task
//! table, and a retried job simply mints another.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{AuditEventType, Email, TaskKind, User, UserId};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::accounts::ports::UserRepository;
use crate::credentials::ports::{EmailTokenStore, TokenPurpose};
use crate::jobs::ports::{EmailMessage, JobLane, Mailer};
use crate::jobs::tasks::TaskService;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, new_email_token};
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// Links and lifetimes of account emails.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// Where links point (`GATEHOUSE_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
    /// How long a verification link works (default 48 h).
    pub verification_ttl: Duration,
    /// How long a reset link works (default 1 h).
    pub reset_ttl: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8000".into(),
            verification_ttl: Duration::from_secs(48 * 3600),
            reset_ttl: Duration::from_secs(3600),
        }
    }
}

/// Whom an account email is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A known account (registration, sign-in notices).
    User(UserId),
    /// Whichever active account has this address, if any. The worker finds out, so a request
    /// for an address without an account costs the request path exactly what one for a real
    /// account does: the same answer, the same writes, the same time.
    Address(Email),
}

/// Which account email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEmail {
    /// "Confirm your address", with a verification link.
    Verification,
    /// "Reset your password", with a reset link.
    PasswordReset {
        /// The client address that asked for it, for the audit log.
        requested_from: Option<String>,
    },
    /// "New sign-in", for a device never seen before.
    NewSignIn {
        /// The device's user agent.
        user_agent: String,
        /// The client address, if known.
        ip: Option<String>,
        /// When the sign-in happened (shown in the email, not when it is sent).
        at: OffsetDateTime,
    },
    /// "Your sign-in protection changed": a second factor was added, removed or reset.
    FactorChanged {
        /// What changed.
        change: FactorChange,
    },
}

/// A change to a user's second factors, as their email names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorChange {
    /// An authenticator app was confirmed.
    TotpEnabled,
    /// The authenticator app was removed.
    TotpDisabled,
    /// New recovery codes replaced the old ones.
    RecoveryCodesRegenerated,
    /// A passkey was registered.
    PasskeyAdded {
        /// Its name.
        name: String,
    },
    /// A passkey was removed.
    PasskeyRemoved {
        /// Its name.
        name: String,
    },
    /// An administrator removed every factor.
    Reset,
}

impl FactorChange {
    fn as_str(&self) -> &'static str {
        match self {
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::PasskeyAdded { .. } => "passkey_added",
            Self::PasskeyRemoved { .. } => "passkey_removed",
            Self::Reset => "reset",
        }
    }

    fn parse(kind: &str, name: Option<&str>) -> Option<Self> {
        let name = || name.map(str::to_owned);
        Some(match kind {
            "totp_enabled" => Self::TotpEnabled,
            "totp_disabled" => Self::TotpDisabled,
            "recovery_codes_regenerated" => Self::RecoveryCodesRegenerated,
            "passkey_added" => Self::PasskeyAdded { name: name()? },
            "passkey_removed" => Self::PasskeyRemoved { name: name()? },
            "reset" => Self::Reset,
            _ => return None,
        })
    }

    /// The sentence the email says it with.
    fn sentence(&self) -> String {
        match self {
            Self::TotpEnabled => "An authenticator app now protects your sign-ins, and new \
                                  recovery codes were issued."
                .into(),
            Self::TotpDisabled => "The authenticator app was removed from your account.".into(),
            Self::RecoveryCodesRegenerated => {
                "New recovery codes were issued; the earlier ones no longer work.".into()
            }
            Self::PasskeyAdded { name } => format!("A passkey named \"{name}\" was added."),
            Self::PasskeyRemoved { name } => format!("The passkey named \"{name}\" was removed."),
            Self::Reset => "An administrator removed every second factor of your account, and \
                            signed it out everywhere."
                .into(),
        }
    }
}

impl AccountEmail {
    /// The arguments of the `send_email` job that sends this email to `to`.
    pub fn arguments(&self, to: &Recipient) -> Value {
        let mut arguments = match self {
            Self::Verification => json!({ "email": "verification" }),
            Self::PasswordReset { requested_from } => {
                json!({ "email": "password_reset", "requested_from": requested_from })
            }
            Self::NewSignIn { user_agent, ip, at } => json!({
                "email": "new_sign_in",
                "user_agent": user_agent,
                "ip": ip,
                "at": at.format(&Rfc3339).unwrap_or_default(),
            }),
            Self::FactorChanged { change } => {
                let name = match change {
                    FactorChange::PasskeyAdded { name } | FactorChange::PasskeyRemoved { name } => {
                        Some(name.as_str())
                    }
                    _ => None,
                };
                json!({ "email": "factor_changed", "change": change.as_str(), "name": name })
            }
        };
        match to {
            Recipient::User(user) => arguments["user_id"] = json!(user.to_string()),
            Recipient::Address(address) => arguments["address"] = json!(address.as_str()),
        }
        arguments
    }

    fn parse(arguments: &Value) -> Option<(Recipient, Self)> {
        let text = |name: &str| arguments[name].as_str();
        let to = match (text("user_id"), text("address")) {
            (Some(id), None) => Recipient::User(UserId::from_uuid(Uuid::parse_str(id).ok()?)),
            (None, Some(address)) => Recipient::Address(Email::parse(address).ok()?),
            _ => return None,
        };
        let email = match text("email")? {
            "verification" => Self::Verification,
            "password_reset" => Self::PasswordReset {
                requested_from: text("requested_from").map(str::to_owned),
            },
            "new_sign_in" => Self::NewSignIn {
                user_agent: text("user_agent").unwrap_or_default().to_owned(),
                ip: text("ip").map(str::to_owned),
                at: OffsetDateTime::parse(text("at")?, &Rfc3339).ok()?,
            },
            "factor_changed" => Self::FactorChanged {
                change: FactorChange::parse(text("change")?, text("name"))?,
            },
            _ => return None,
        };
        Some((to, email))
    }
}

/// The request side: puts account emails on the job queue.
pub struct EmailOutbox {
    tasks: Arc<TaskService>,
}

impl EmailOutbox {
    /// An outbox over the task queue.
    pub fn new(tasks: Arc<TaskService>) -> Self {
        Self { tasks }
    }

    /// Queues `email` for `to`, in the email lane (never behind clients' tasks).
    pub async fn queue(&self, to: Recipient, email: AccountEmail) -> Result<(), AppError> {
        self.tasks
            .queue_job(TaskKind::SendEmail, email.arguments(&to), JobLane::Email)
            .await
            .map(drop)
    }
}

/// The worker side: renders account emails from their templates and sends them.
pub struct EmailJobs {
    users: Arc<dyn UserRepository>,
    tokens: Arc<dyn EmailTokenStore>,
    mailer: Arc<dyn Mailer>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    settings: EmailSettings,
}

impl EmailJobs {
    /// A sender that re-reads the account at send time (`users`), mints emailed tokens into
    /// `tokens`, sends through `mailer`, and audits a password reset once its email is sent.
    pub fn new(
        users: Arc<dyn UserRepository>,
        tokens: Arc<dyn EmailTokenStore>,
        mailer: Arc<dyn Mailer>,
        audit: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        settings: EmailSettings,
    ) -> Self {
        Self {
            users,
            tokens,
            mailer,
            audit,
            clock,
            settings,
        }
    }

    /// Sends the email a job describes. Nothing is sent when it does not (or no longer)
    /// make sense: no active account has the address, the account is gone or deactivated,
    /// already verified, or opted out of security emails.
    pub async fn deliver(&self, arguments: &Value) -> anyhow::Result<()> {
        let (to, email) = AccountEmail::parse(arguments)
            .ok_or_else(|| anyhow::anyhow!("malformed send_email arguments"))?;
        let user = match &to {
            Recipient::User(id) => self.users.find_by_id(*id).await?,
            Recipient::Address(address) => self.users.find_by_email(address).await?,
        };
        let Some(user) = user.filter(|user| user.is_active) else {
            return Ok(());
        };
        let requested_from = match &email {
            AccountEmail::PasswordReset { requested_from } => Some(requested_from.clone()),
            _ => None,
        };
        let message = match email {
            AccountEmail::Verification if user.is_verified => return Ok(()),
            AccountEmail::Verification => {
                let link = self
                    .link(&user, TokenPurpose::Verification, "verify-email")
                    .await?;
                let hours = self.settings.verification_ttl.as_secs() / 3600;
                render(
                    Template::Verification,
                    &user,
                    Some(link),
                    &[("hours", hours.to_string())],
                )
            }
            AccountEmail::PasswordReset { .. } => {
                let link = self
                    .link(&user, TokenPurpose::PasswordReset, "reset-password")
                    .await?;
                let hours = self.settings.reset_ttl.as_secs().div_ceil(3600);
                render(
                    Template::PasswordReset,
                    &user,
                    Some(link),
                    &[("hours", hours.to_string())],
                )
            }
            AccountEmail::NewSignIn { .. } if !user.notifications.security_emails => {
                return Ok(());
            }
            AccountEmail::NewSignIn { user_agent, ip, at } => {
                let when = at.format(&Rfc3339).unwrap_or_default();
                let ip = ip.unwrap_or_else(|| "unknown".into());
                let details = [("user_agent", user_agent), ("ip", ip), ("time", when)];
                render(Template::NewSignIn, &user, None, &details)
            }
            // Not to an address nobody proved to own: the account's creator could otherwise
            // mail a stranger at will.
            AccountEmail::FactorChanged { .. } if !user.is_verified => return Ok(()),
            // Sent whatever the notification settings: a factor change is what a thief would
            // want its owner not to hear about.
            AccountEmail::FactorChanged { change } => render(
                Template::FactorChanged,
                &user,
                None,
                &[("change", change.sentence())],
            ),
        };
        self.mailer.send(&message).await?;
        if let Some(from) = requested_from {
            let client = ClientInfo {
                address: from.and_then(|ip| ip.parse().ok()),
                user_agent: None,
            };
            self.audit
                .record(
                    AuditEventType::PasswordResetRequested,
                    AuditContext::own(user.id, &client),
                    &[],
                )
                .await;
        }
        Ok(())
    }

    /// Mints a token for `purpose`, stores its digest, and returns the link carrying it.
    async fn link(&self, user: &User, purpose: TokenPurpose, path: &str) -> anyhow::Result<String> {
        let ttl = match purpose {
            TokenPurpose::Verification => self.settings.verification_ttl,
            TokenPurpose::PasswordReset => self.settings.reset_ttl,
        };
        let (token, digest) = new_email_token();
        let now = self.clock.now();
        self.tokens
            .issue(&digest, user.id, purpose, now, now + ttl)
            .await?;
        Ok(format!("{}/{path}?token={token}", self.settings.public_url))
    }
}

/// The email templates, kept as files next to this crate (`templates/email/`): a text part
/// whose first line is `Subject: ...`, and an HTML part.
#[derive(Debug, Clone, Copy)]
enum Template {
    Verification,
    PasswordReset,
    NewSignIn,
    FactorChanged,
}

impl Template {
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Self::Verification => (
                include_str!("../../templates/email/verification.txt"),
                include_str!("../../templates/email/verification.html"),
            ),
            Self::PasswordReset => (
                include_str!("../../templates/email/password_reset.txt"),
                include_str!("../../templates/email/password_reset.html"),
            ),
            Self::NewSignIn => (
                include_str!("../../templates/email/new_sign_in.txt"),
                include_str!("../../templates/email/new_sign_in.html"),
            ),
            Self::FactorChanged => (
                include_str!("../../templates/email/factor_changed.txt"),
                include_str!("../../templates/email/factor_changed.html"),
            ),
        }
    }
}

/// Fills `{{name}}` placeholders: the username, `link` when given, and `extra`. Values are
/// HTML-escaped in the HTML part.
fn render(
    template: Template,
    user: &User,
    link: Option<String>,
    extra: &[(&str, String)],
) -> EmailMessage {
    let mut values: Vec<(&str, String)> = vec![("username", user.username.as_str().to_owned())];
    if let Some(link) = &link {
        values.push(("link", link.clone()));
    }
    values.extend(extra.iter().cloned());
    let fill = |source: &str, escape: fn(&str) -> String| {
        values
            .iter()
            .fold(source.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{{{name}}}}}"), &escape(value))
            })
    };
    let (text, html) = template.parts();
    let (subject, body) = text.split_once('\n').unwrap_or((text, ""));
    EmailMessage {
        to: user.email.as_str().to_owned(),
        subject: fill(subject.trim_start_matches("Subject:").trim(), str::to_owned),
        text: fill(body.trim_start(), str::to_owned),
        html: fill(html, escape_html),
        link,
    }
}

fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::MockUserRepository;
    use crate::credentials::ports::MockEmailTokenStore;
    use crate::jobs::ports::MockMailer;
    use crate::shared::context::token_digest;
    use crate::test_support::{NOW, fixed_clock, quiet_auditor, user};

    fn jobs(
        users: MockUserRepository,
        tokens: MockEmailTokenStore,
        mailer: MockMailer,
    ) -> EmailJobs {
        let settings = EmailSettings {
            public_url: "https://auth.example.test".into(),
            ..EmailSettings::default()
        };
        EmailJobs::new(
            Arc::new(users),
            Arc::new(tokens),
            Arc::new(mailer),
            quiet_auditor(),
            fixed_clock(),
            settings,
        )
    }

    fn users_with(account: User) -> MockUserRepository {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(account.clone())));
        users
    }

    #[tokio::test]
    async fn a_verification_email_carries_a_link_whose_digest_alone_is_stored() {
        let account = user("ada@example.test", "ada");
        let id = account.id;
        let stored = Arc::new(std::sync::Mutex::new(String::new()));
        let mut tokens = MockEmailTokenStore::new();
        let keep = stored.clone();
        tokens
            .expect_issue()
            .withf(move |_, user, purpose, created, expires| {
                *user == id
                    && *purpose == TokenPurpose::Verification
                    && *created == NOW
                    && *expires == NOW + Duration::from_secs(48 * 3600)
            })
            .returning(move |digest, _, _, _, _| {
                *keep.lock().unwrap() = digest.to_owned();
                Ok(())
            });
        let sent = Arc::new(std::sync::Mutex::new(None));
        let mut mailer = MockMailer::new();
        let out = sent.clone();
        mailer.expect_send().times(1).returning(move |m| {
            *out.lock().unwrap() = Some(m.clone());
            Ok(())
        });
        let args = AccountEmail::Verification.arguments(&Recipient::User(id));
        jobs(users_with(account), tokens, mailer)
            .deliver(&args)
            .await
            .unwrap();

        let message = sent.lock().unwrap().clone().unwrap();
        assert_eq!(message.to, "ada@example.test");
        assert_eq!(message.subject, "Confirm your email address");
        let link = message.link.clone().unwrap();
        let token = link
            .strip_prefix("https://auth.example.test/verify-email?token=")
            .unwrap();
        assert!(message.text.contains(&link) && message.html.contains(&link));
        assert!(message.text.contains("48 hours") && message.text.contains("Hello ada"));
        assert_eq!(*stored.lock().unwrap(), token_digest(token));
        assert_ne!(token, token_digest(token));
    }

    #[tokio::test]
    async fn nothing_is_sent_when_it_no_longer_makes_sense() {
        let mut verified = user("ada@example.test", "ada");
        verified.is_verified = true;
        let mut opted_out = user("bob@example.test", "bob");
        opted_out.notifications.security_emails = false;
        let sign_in = AccountEmail::NewSignIn {
            user_agent: "curl".into(),
            ip: None,
            at: NOW,
        };
        for (account, email) in [(verified, AccountEmail::Verification), (opted_out, sign_in)] {
            let args = email.arguments(&Recipient::User(account.id));
            let mut mailer = MockMailer::new();
            mailer.expect_send().never();
            jobs(users_with(account), MockEmailTokenStore::new(), mailer)
                .deliver(&args)
                .await
                .unwrap();
        }
    }

    #[test]
    fn arguments_round_trip_and_html_values_are_escaped() {
        let id = UserId::generate();
        let sign_in = AccountEmail::NewSignIn {
            user_agent: "<script>".into(),
            ip: Some("203.0.113.9".into()),
            at: NOW,
        };
        let reset = AccountEmail::PasswordReset {
            requested_from: Some("2001:db8::1".into()),
        };
        let address = Recipient::Address(Email::parse("ada@example.test").unwrap());
        for email in [AccountEmail::Verification, reset, sign_in.clone()] {
            for to in [Recipient::User(id), address.clone()] {
                let arguments = email.arguments(&to);
                assert_eq!(AccountEmail::parse(&arguments), Some((to, email.clone())));
            }
        }
        assert_eq!(
            AccountEmail::parse(&json!({"email": "spam", "user_id": id.to_string()})),
            None
        );
        let account = user("ada@example.test", "ada");
        let message = render(
            Template::NewSignIn,
            &account,
            None,
            &[
                ("user_agent", "<script>".into()),
                ("ip", "x".into()),
                ("time", "t".into()),
            ],
        );
        assert!(message.html.contains("&lt;script&gt;") && !message.html.contains("<script>"));
        assert!(message.text.contains("<script>"));
        assert!(!message.text.contains("{{") && !message.html.contains("{{"));
    }
}
