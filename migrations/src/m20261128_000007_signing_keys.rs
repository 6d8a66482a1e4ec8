//! Signing keys: every instance signs and verifies access tokens with the same keys, the
//! private halves sealed under the master key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Algorithm,
    State,
    PublicJwk,
    SealedPrivateKey,
    CreatedAt,
    ActivatedAt,
    RetiredAt,
    RemovedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .if_not_exists()
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(string(SigningKeys::Algorithm))
                    .col(string(SigningKeys::State))
                    .col(text(SigningKeys::PublicJwk))
                    .col(blob(SigningKeys::SealedPrivateKey))
                    .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::ActivatedAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::RetiredAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::RemovedAt))
                    .to_owned(),
            )
            .await?;
        // One current key and one next key at most, whatever instances do at once: the
        // database refuses the second (both engines take a literal partial index).
        for state in ["current", "next"] {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_{state} \
                     ON signing_keys (state) WHERE state = '{state}'"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await
    }
}
