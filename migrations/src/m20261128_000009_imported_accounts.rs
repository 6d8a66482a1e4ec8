//! Imported accounts: which Gatehouse account each Django user became, so a re-import
//! updates exactly the accounts it created and never one that merely shares an email.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportedAccounts {
    Table,
    SourceId,
    UserId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportedAccounts::Table)
                    .if_not_exists()
                    .col(big_integer(ImportedAccounts::SourceId).primary_key())
                    .col(uuid(ImportedAccounts::UserId).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportedAccounts::Table, ImportedAccounts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportedAccounts::Table).to_owned())
            .await
    }
}
