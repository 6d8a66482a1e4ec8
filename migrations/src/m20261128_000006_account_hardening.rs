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
    OpenTasks,
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
        // One row per user who has ever had a task: the count of their unfinished ones, kept
        // in step by the task repository in the same transaction as each insert and each
        // final change. No foreign key, as for the tasks themselves.
        manager
            .create_table(
                Table::create()
                    .table(TaskQuotas::Table)
                    .if_not_exists()
                    .col(pk_uuid(TaskQuotas::UserId))
                    .col(integer(TaskQuotas::OpenTasks).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO task_quotas (user_id, open_tasks) \
                 SELECT owner_id, COUNT(*) FROM tasks \
                 WHERE owner_id IS NOT NULL AND status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') \
                 GROUP BY owner_id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
