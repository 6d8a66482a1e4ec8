use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Username,
    PasswordHash,
    FirstName,
    LastName,
    Role,
    Permissions,
    IsActive,
    IsVerified,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(pk_uuid(Users::Id))
                    // Emails are stored normalised (lower case), so a plain unique key is a
                    // case-insensitive one.
                    .col(string_len(Users::Email, 254).unique_key())
                    .col(string_len(Users::Username, 150))
                    .col(string(Users::PasswordHash))
                    .col(string_len(Users::FirstName, 150))
                    .col(string_len(Users::LastName, 150))
                    .col(string_len(Users::Role, 16))
                    // Comma-separated permission names: portable, and the set is tiny.
                    .col(text(Users::Permissions))
                    .col(boolean(Users::IsActive))
                    .col(boolean(Users::IsVerified))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Usernames keep their case for display but are unique ignoring it. Both PostgreSQL
        // and SQLite accept this expression index verbatim.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS users_username_lower_key ON users (lower(username))",
            )
            .await?;
        // Keyset pagination walks (created_at, id).
        manager
            .create_index(
                Index::create()
                    .name("users_created_at_id_idx")
                    .table(Users::Table)
                    .col(Users::CreatedAt)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
