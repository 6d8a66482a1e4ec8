//! Account hardening: the users' security stamp and revocation floor, and a row per task
//! owner that serialises their task creations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    SecurityStamp,
    RevokedBelow,
}

#[derive(DeriveIden)]
enum TaskQuotas {
    Table,
    UserId,
    CheckedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [Users::SecurityStamp, Users::RevokedBelow] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(big_integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        // One row per user who has ever created a task. It holds no count: unfinished tasks
        // are counted from the tasks themselves (so no release, old or new, can make a count
        // drift); the row is what one owner's creations lock, one at a time, while they
        // count and insert.
        manager
            .create_table(
                Table::create()
                    .table(TaskQuotas::Table)
                    .if_not_exists()
                    .col(pk_uuid(TaskQuotas::UserId))
                    .col(timestamp_with_time_zone_null(TaskQuotas::CheckedAt))
                    .to_owned(),
            )
            .await?;
        // Counting an owner's unfinished tasks reads only those, however long their history.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS tasks_owner_unfinished_idx ON tasks (owner_id) \
                 WHERE status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS tasks_owner_unfinished_idx")
            .await?;
        manager
            .drop_table(Table::drop().table(TaskQuotas::Table).to_owned())
            .await?;
        for column in [Users::RevokedBelow, Users::SecurityStamp] {
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
