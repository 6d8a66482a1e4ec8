//! [`CategoryRepository`] and [`ProductRepository`] on sea-orm (PostgreSQL or SQLite).
//!
//! The database holds the catalog's invariants: a unique index on `lower(name)` for category
//! names, and a foreign key from products to categories, so neither a duplicate name
//! nor a category deleted while a product is added to it can slip through a race.

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{
    CatalogWriteError, CategoryRepository, ProductFilter, ProductPosition, ProductRepository,
    ProductSortKey,
};
use gatehouse_domain::{
    Category, CategoryId, CategoryName, Description, Price, Product, ProductId, ProductName,
    ProductOrder, UserId,
};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr, Value,
};

use super::entities::{category, product};
use super::{keyset, like};

/// What a refused insert or update means, from the constraint it broke.
fn write_error(error: DbErr, what: &'static str) -> CatalogWriteError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => CatalogWriteError::NameTaken,
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => CatalogWriteError::UnknownCategory,
        _ => CatalogWriteError::Unavailable(anyhow::Error::new(error).context(what)),
    }
}

/// [`CategoryRepository`] on sea-orm.
#[derive(Clone)]
pub struct SeaOrmCategoryRepository {
    db: DatabaseConnection,
}

impl SeaOrmCategoryRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn category_row(category: &Category) -> category::ActiveModel {
    category::ActiveModel {
        id: Set(category.id.as_uuid()),
        name: Set(category.name.as_str().to_owned()),
        description: Set(category.description.as_str().to_owned()),
        created_at: Set(category.created_at),
        updated_at: Set(category.updated_at),
    }
}

fn category_from(row: category::Model) -> anyhow::Result<Category> {
    Ok(Category {
        id: CategoryId::from_uuid(row.id),
        name: CategoryName::parse(&row.name).context("stored category name is invalid")?,
        description: Description::parse(&row.description)
            .context("stored category description is invalid")?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[async_trait]
impl CategoryRepository for SeaOrmCategoryRepository {
    async fn insert(&self, category: &Category) -> Result<(), CatalogWriteError> {
        category::Entity::insert(category_row(category))
            .exec_without_returning(&self.db)
            .await
            .map(drop)
            .map_err(|e| write_error(e, "category insert"))
    }

    async fn update(&self, category: &Category) -> Result<bool, CatalogWriteError> {
        let result = category::Entity::update_many()
            .set(category_row(category))
            .filter(category::Column::Id.eq(category.id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(|e| write_error(e, "category update"))?;
        Ok(result.rows_affected == 1)
    }

    async fn delete(&self, id: CategoryId) -> Result<bool, CatalogWriteError> {
        let result = category::Entity::delete_by_id(id.as_uuid())
            .exec(&self.db)
            .await
            .map_err(|e| match e.sql_err() {
                // Deleting, a broken foreign key means products still point here.
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => CatalogWriteError::CategoryInUse,
                _ => write_error(e, "category delete"),
            })?;
        Ok(result.rows_affected == 1)
    }

    async fn find(&self, id: CategoryId) -> anyhow::Result<Option<Category>> {
        category::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .context("category lookup failed")?
            .map(category_from)
            .transpose()
    }

    async fn page(&self, request: &PageRequest) -> anyhow::Result<Vec<Category>> {
        use category::Column;
        keyset::page(
            category::Entity::find(),
            Column::CreatedAt,
            Column::Id,
            request,
        )
        .all(&self.db)
        .await
        .context("category query failed")?
        .into_iter()
        .map(category_from)
        .collect()
    }
}

/// [`ProductRepository`] on sea-orm.
#[derive(Clone)]
pub struct SeaOrmProductRepository {
    db: DatabaseConnection,
}

impl SeaOrmProductRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn product_row(product: &Product) -> product::ActiveModel {
    product::ActiveModel {
        id: Set(product.id.as_uuid()),
        name: Set(product.name.as_str().to_owned()),
        description: Set(product.description.as_str().to_owned()),
        price_cents: Set(product.price.cents()),
        category_id: Set(product.category.as_uuid()),
        created_by: Set(product.created_by.as_uuid()),
        created_at: Set(product.created_at),
        updated_at: Set(product.updated_at),
    }
}

fn product_from(row: product::Model) -> anyhow::Result<Product> {
    Ok(Product {
        id: ProductId::from_uuid(row.id),
        name: ProductName::parse(&row.name).context("stored product name is invalid")?,
        description: Description::parse(&row.description)
            .context("stored product description is invalid")?,
        price: Price::from_cents(row.price_cents).context("stored price is out of range")?,
        category: CategoryId::from_uuid(row.category_id),
        created_by: UserId::from_uuid(row.created_by),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn filter_condition(filter: &ProductFilter) -> Condition {
    use product::Column;
    let mut condition = Condition::all();
    if let Some(category) = filter.category {
        condition = condition.add(Column::CategoryId.eq(category.as_uuid()));
    }
    if let Some(min) = filter.min_price {
        condition = condition.add(Column::PriceCents.gte(min.cents()));
    }
    if let Some(max) = filter.max_price {
        condition = condition.add(Column::PriceCents.lte(max.cents()));
    }
    if let Some(text) = &filter.search {
        condition = condition.add(like::any_contains(
            [Column::Name, Column::Description],
            text,
        ));
    }
    condition
}

#[async_trait]
impl ProductRepository for SeaOrmProductRepository {
    async fn insert(&self, product: &Product) -> Result<(), CatalogWriteError> {
        product::Entity::insert(product_row(product))
            .exec_without_returning(&self.db)
            .await
            .map(drop)
            .map_err(|e| write_error(e, "product insert"))
    }

    async fn update(&self, product: &Product) -> Result<bool, CatalogWriteError> {
        let result = product::Entity::update_many()
            .set(product_row(product))
            .filter(product::Column::Id.eq(product.id.as_uuid()))
            .exec(&self.db)
            .await
            .map_err(|e| write_error(e, "product update"))?;
        Ok(result.rows_affected == 1)
    }

    async fn delete(&self, id: ProductId) -> anyhow::Result<bool> {
        let result = product::Entity::delete_by_id(id.as_uuid())
            .exec(&self.db)
            .await
            .context("product delete failed")?;
        Ok(result.rows_affected == 1)
    }

    async fn find(&self, id: ProductId) -> anyhow::Result<Option<Product>> {
        product::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .context("product lookup failed")?
            .map(product_from)
            .transpose()
    }

    async fn page(
        &self,
        filter: &ProductFilter,
        order: ProductOrder,
        request: &PageRequest<ProductPosition>,
    ) -> anyhow::Result<Vec<Product>> {
        use product::Column;
        let key = match order {
            ProductOrder::NewestFirst | ProductOrder::OldestFirst => Column::CreatedAt,
            ProductOrder::PriceAscending | ProductOrder::PriceDescending => Column::PriceCents,
            ProductOrder::NameAscending | ProductOrder::NameDescending => Column::Name,
        };
        let from = request.from.as_ref().map(|(direction, at)| {
            let value = match &at.key {
                ProductSortKey::Created(time) => Value::from(*time),
                ProductSortKey::Price(cents) => Value::from(*cents),
                ProductSortKey::Name(name) => Value::from(name.clone()),
            };
            (*direction, value, Value::from(at.id))
        });
        let select = product::Entity::find().filter(filter_condition(filter));
        keyset::page_by(
            select,
            key,
            Column::Id,
            order.ascending(),
            from,
            request.fetch(),
        )
        .all(&self.db)
        .await
        .context("product query failed")?
        .into_iter()
        .map(product_from)
        .collect()
    }
}
