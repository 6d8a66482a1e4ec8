use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    UserId,
    UserAgent,
    Ip,
    FirstSeenAt,
    LastSeenAt,
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
                    .table(Devices::Table)
                    .if_not_exists()
                    .col(pk_uuid(Devices::Id))
                    .col(uuid(Devices::UserId))
                    .col(string_len(Devices::UserAgent, 512))
                    .col(string_len_null(Devices::Ip, 64))
                    .col(timestamp_with_time_zone(Devices::FirstSeenAt))
                    .col(timestamp_with_time_zone(Devices::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Devices::Table, Devices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One device per user agent per user: the key of the sign-in upsert.
        manager
            .create_index(
                Index::create()
                    .name("devices_user_agent_key")
                    .table(Devices::Table)
                    .col(Devices::UserId)
                    .col(Devices::UserAgent)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Devices::Table).to_owned())
            .await
    }
}
