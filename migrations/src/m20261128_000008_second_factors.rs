//! Second factors: authenticator apps (the secret sealed under the master key), recovery
//! codes (keyed digests only) and passkeys (public keys).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    UserId,
    SealedSecret,
    Confirmed,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    UserId,
    Digest,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    CredentialId,
    Name,
    Passkey,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

fn owned_by_user(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TotpFactors::Table)
                    .if_not_exists()
                    .col(uuid(TotpFactors::UserId).primary_key())
                    .col(blob(TotpFactors::SealedSecret))
                    .col(boolean(TotpFactors::Confirmed))
                    .col(big_integer_null(TotpFactors::LastStep))
                    .col(timestamp_with_time_zone(TotpFactors::CreatedAt))
                    .foreign_key(&mut owned_by_user(TotpFactors::Table, TotpFactors::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .if_not_exists()
                    .col(uuid(RecoveryCodes::UserId))
                    .col(string_len(RecoveryCodes::Digest, 64))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(RecoveryCodes::UserId)
                            .col(RecoveryCodes::Digest),
                    )
                    .foreign_key(&mut owned_by_user(
                        RecoveryCodes::Table,
                        RecoveryCodes::UserId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .if_not_exists()
                    .col(pk_uuid(Passkeys::Id))
                    .col(uuid(Passkeys::UserId))
                    .col(string_len(Passkeys::CredentialId, 1400))
                    .col(string_len(Passkeys::Name, 256))
                    .col(text(Passkeys::Passkey))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .foreign_key(&mut owned_by_user(Passkeys::Table, Passkeys::UserId))
                    .to_owned(),
            )
            .await?;
        // A credential belongs to one account: a passwordless sign-in finds its owner by it.
        manager
            .create_index(
                Index::create()
                    .name("passkeys_credential_id_key")
                    .table(Passkeys::Table)
                    .col(Passkeys::CredentialId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("passkeys_user_id")
                    .table(Passkeys::Table)
                    .col(Passkeys::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Passkeys::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            TotpFactors::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
