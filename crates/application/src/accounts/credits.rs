//! Credits: each user's balance, kept as a ledger of signed entries so every change is
//! explained, and never allowed below zero. Users read their own statement; admins adjust it.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, UserId};
use uuid::Uuid;

use crate::accounts::policy;
use crate::accounts::ports::{CreditEntry, CreditError, CreditLedger};
use crate::accounts::users::UserService;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::ports::Clock;

/// A balance with its latest entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditStatement {
    /// Current balance.
    pub balance: i64,
    /// Most recent entries, newest first.
    pub entries: Vec<CreditEntry>,
}

/// Credits: a ledger whose balance never goes below zero.
pub struct CreditService {
    ledger: Arc<dyn CreditLedger>,
    accounts: Arc<UserService>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl CreditService {
    /// Largest single movement, either way.
    pub const MAX_AMOUNT: i64 = 1_000_000_000;
    /// Entries shown in a statement.
    pub const STATEMENT_ENTRIES: u64 = 50;
    /// Longest reason, in characters.
    pub const MAX_REASON: usize = 200;

    /// Credits kept in `ledger`; `accounts` resolves the caller (and the admin rights an
    /// adjustment needs), and every adjustment is audited.
    pub fn new(
        ledger: Arc<dyn CreditLedger>,
        accounts: Arc<UserService>,
        audit: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            ledger,
            accounts,
            audit,
            clock,
        }
    }

    /// The caller's balance and recent entries.
    pub async fn statement(&self, principal: &Principal) -> Result<CreditStatement, AppError> {
        let user = self.accounts.me(principal).await?;
        let entries = self.ledger.recent(user.id, Self::STATEMENT_ENTRIES).await?;
        Ok(CreditStatement {
            balance: user.credits,
            entries,
        })
    }

    /// Grants (positive) or spends (negative) credits of `user` (admins only). A spend the
    /// balance does not cover is a conflict, and changes nothing.
    pub async fn adjust(
        &self,
        principal: &Principal,
        user: UserId,
        amount: i64,
        reason: &str,
    ) -> Result<CreditEntry, AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        let mut errors = ValidationErrors::new();
        if amount == 0 || amount.unsigned_abs() > Self::MAX_AMOUNT.unsigned_abs() {
            errors.add(
                "amount",
                format!(
                    "must be a non-zero integer between -{0} and {0}",
                    Self::MAX_AMOUNT
                ),
            );
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > Self::MAX_REASON {
            errors.add(
                "reason",
                format!("must be 1 to {} characters", Self::MAX_REASON),
            );
        } else if reason.chars().any(char::is_control) {
            errors.add("reason", "must not contain control characters");
        }
        errors.into_result()?;
        let entry = CreditEntry {
            id: Uuid::now_v7(),
            user,
            amount,
            balance_after: 0,
            reason: reason.to_owned(),
            actor: Some(actor.id),
            created_at: self.clock.now(),
        };
        let entry = self.ledger.apply(entry).await.map_err(|e| match e {
            CreditError::Insufficient => AppError::Conflict {
                field: "amount",
                message: "insufficient credits: the balance cannot go below zero".into(),
            },
            CreditError::UnknownUser => AppError::NotFound("user"),
            CreditError::Unavailable(e) => AppError::Unavailable(e),
        })?;
        // The balance is part of the account users read as theirs.
        self.accounts.account_changed(user).await;
        self.audit
            .record(
                AuditEventType::CreditsChanged,
                AuditContext::by(principal, user),
                &[
                    ("amount", amount.to_string()),
                    ("balance", entry.balance_after.to_string()),
                    ("reason", entry.reason.clone()),
                ],
            )
            .await;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::{MockCreditLedger, MockPasswordHasher, MockUserRepository};
    use crate::test_support::{bearer_principal, fixed_clock, quiet_auditor, sample_user};
    use gatehouse_domain::{PasswordPolicy, Role};

    fn service(ledger: MockCreditLedger, caller: gatehouse_domain::User) -> CreditService {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(caller.clone())));
        let accounts = Arc::new(UserService::new(
            Arc::new(users),
            Arc::new(MockPasswordHasher::new()),
            fixed_clock(),
            PasswordPolicy::default(),
        ));
        CreditService::new(Arc::new(ledger), accounts, quiet_auditor(), fixed_clock())
    }

    #[tokio::test]
    async fn only_admins_adjust_and_amounts_are_checked_before_the_ledger() {
        let mut ledger = MockCreditLedger::new();
        ledger.expect_apply().never();
        let plain = sample_user();
        let service_for_plain = service(ledger, plain.clone());
        let refused = service_for_plain
            .adjust(&bearer_principal(plain.id), UserId::generate(), 5, "gift")
            .await;
        assert!(matches!(refused, Err(AppError::PermissionDenied)));

        let mut admin = sample_user();
        admin.role = Role::Admin;
        let mut ledger = MockCreditLedger::new();
        ledger.expect_apply().never();
        let service = service(ledger, admin.clone());
        for (amount, reason) in [(0, "x"), (CreditService::MAX_AMOUNT + 1, "x"), (5, "  ")] {
            let result = service
                .adjust(
                    &bearer_principal(admin.id),
                    UserId::generate(),
                    amount,
                    reason,
                )
                .await;
            assert!(
                matches!(result, Err(AppError::Validation(_))),
                "{amount} {reason:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_uncovered_spend_is_a_conflict() {
        let mut admin = sample_user();
        admin.role = Role::Admin;
        let mut ledger = MockCreditLedger::new();
        ledger
            .expect_apply()
            .returning(|_| Err(CreditError::Insufficient));
        let result = service(ledger, admin.clone())
            .adjust(&bearer_principal(admin.id), UserId::generate(), -5, "spend")
            .await;
        assert!(matches!(
            result,
            Err(AppError::Conflict {
                field: "amount",
                ..
            })
        ));
    }
}
