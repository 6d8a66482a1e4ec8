use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PhoneNumber,
    BirthDate,
    SecurityEmails,
    ProductEmails,
    AvatarUrl,
    Credits,
}

#[derive(DeriveIden)]
enum CreditEntries {
    Table,
    Id,
    UserId,
    Amount,
    BalanceAfter,
    Reason,
    ActorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PreRegistrations {
    Table,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    EventType,
    UserId,
    ActorId,
    Ip,
    UserAgent,
    Data,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            string_len_null(Users::PhoneNumber, 16),
            date_null(Users::BirthDate),
            boolean(Users::SecurityEmails).default(true).to_owned(),
            boolean(Users::ProductEmails).default(false).to_owned(),
            string_len_null(Users::AvatarUrl, 2048),
            big_integer(Users::Credits).default(0).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CreditEntries::Table)
                    .if_not_exists()
                    .col(pk_uuid(CreditEntries::Id))
                    .col(uuid(CreditEntries::UserId))
                    .col(big_integer(CreditEntries::Amount))
                    .col(big_integer(CreditEntries::BalanceAfter))
                    .col(string_len(CreditEntries::Reason, 200))
                    .col(uuid_null(CreditEntries::ActorId))
                    .col(timestamp_with_time_zone(CreditEntries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CreditEntries::Table, CreditEntries::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("credit_entries_user_created_idx")
                    .table(CreditEntries::Table)
                    .col(CreditEntries::UserId)
                    .col(CreditEntries::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PreRegistrations::Table)
                    .if_not_exists()
                    .col(string_len(PreRegistrations::Email, 254).primary_key())
                    .col(timestamp_with_time_zone(PreRegistrations::CreatedAt))
                    .to_owned(),
            )
            .await?;

        // Audit events outlive nothing they point at: users are deactivated, never deleted,
        // and the log must survive even that, so no foreign keys.
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(pk_uuid(AuditEvents::Id))
                    .col(string_len(AuditEvents::EventType, 64))
                    .col(uuid_null(AuditEvents::UserId))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(string_len_null(AuditEvents::Ip, 64))
                    .col(string_len_null(AuditEvents::UserAgent, 512))
                    .col(text(AuditEvents::Data))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Keyset pages, unfiltered and filtered by user or by type.
        for (name, filter) in [
            ("audit_events_created_id_idx", None),
            (
                "audit_events_user_created_id_idx",
                Some(AuditEvents::UserId),
            ),
            (
                "audit_events_type_created_id_idx",
                Some(AuditEvents::EventType),
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            if let Some(column) = filter {
                index.col(column);
            }
            manager
                .create_index(
                    index
                        .col(AuditEvents::CreatedAt)
                        .col(AuditEvents::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            PreRegistrations::Table.into_iden(),
            CreditEntries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            Users::PhoneNumber,
            Users::BirthDate,
            Users::SecurityEmails,
            Users::ProductEmails,
            Users::AvatarUrl,
            Users::Credits,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
