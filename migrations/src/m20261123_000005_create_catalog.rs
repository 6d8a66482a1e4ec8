use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum Products {
    Table,
    Id,
    Name,
    Description,
    PriceCents,
    CategoryId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

fn index(name: &str, table: impl IntoIden, columns: &[Products]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column.clone());
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .if_not_exists()
                    .col(pk_uuid(Categories::Id))
                    .col(string_len(Categories::Name, 100))
                    .col(text(Categories::Description))
                    .col(timestamp_with_time_zone(Categories::CreatedAt))
                    .col(timestamp_with_time_zone(Categories::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Names are unique ignoring case; the index is the rule, so concurrent creations of
        // one name cannot both succeed.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS categories_name_lower_key ON categories (lower(name))",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("categories_created_at_id_idx")
                    .table(Categories::Table)
                    .col(Categories::CreatedAt)
                    .col(Categories::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .if_not_exists()
                    .col(pk_uuid(Products::Id))
                    .col(string_len(Products::Name, 200))
                    .col(text(Products::Description))
                    // Whole cents: exact on both databases (SQLite has no true decimal type).
                    .col(big_integer(Products::PriceCents))
                    .col(uuid(Products::CategoryId))
                    .col(uuid(Products::CreatedBy))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .col(timestamp_with_time_zone(Products::UpdatedAt))
                    // A category with products cannot be deleted: the database says so, even
                    // when a product is added while the delete runs. (NO ACTION rather than
                    // RESTRICT: SQLite reports RESTRICT with an error code sqlx does not
                    // classify as a foreign-key violation; the refusal is the same.)
                    .foreign_key(
                        ForeignKey::create()
                            .from(Products::Table, Products::CategoryId)
                            .to(Categories::Table, Categories::Id)
                            .on_delete(ForeignKeyAction::NoAction),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Products::Table, Products::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One index per ordering, each ending in id (the keyset tie-break), and one for the
        // category filter in the default order.
        use Products as P;
        for statement in [
            index(
                "products_created_at_id_idx",
                P::Table,
                &[P::CreatedAt, P::Id],
            ),
            index("products_price_id_idx", P::Table, &[P::PriceCents, P::Id]),
            index("products_name_id_idx", P::Table, &[P::Name, P::Id]),
            index(
                "products_category_created_at_id_idx",
                P::Table,
                &[P::CategoryId, P::CreatedAt, P::Id],
            ),
        ] {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Categories::Table).to_owned())
            .await
    }
}
