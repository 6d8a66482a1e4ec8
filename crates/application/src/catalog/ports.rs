//! The catalog ports: category and product repositories, with the filters, sort keys and
//! keyset positions the catalog pages through.

use async_trait::async_trait;
use gatehouse_domain::{Category, CategoryId, Price, Product, ProductId, ProductOrder};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::shared::pagination::{CursorKey, PageRequest};

/// Why a catalog write was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum CatalogWriteError {
    /// Another category has this name (ignoring case).
    #[error("a category with this name exists")]
    NameTaken,
    /// The category still has products.
    #[error("the category still has products")]
    CategoryInUse,
    /// The product names a category that does not exist.
    #[error("no such category")]
    UnknownCategory,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// Persistent categories.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CategoryRepository: Send + Sync {
    /// Stores a new category; the store enforces unique names (ignoring case), so two
    /// concurrent creations of one name cannot both succeed.
    async fn insert(&self, category: &Category) -> Result<(), CatalogWriteError>;

    /// Saves a changed category; `false` if it no longer exists.
    async fn update(&self, category: &Category) -> Result<bool, CatalogWriteError>;

    /// Deletes a category that has no products (else [`CatalogWriteError::CategoryInUse`],
    /// decided by the store even against a concurrent insert); `false` if it did not exist.
    async fn delete(&self, id: CategoryId) -> Result<bool, CatalogWriteError>;

    /// The category with this id.
    async fn find(&self, id: CategoryId) -> anyhow::Result<Option<Category>>;

    /// Up to `request.fetch()` categories in walk order (see [`PageRequest`]).
    async fn page(&self, request: &PageRequest) -> anyhow::Result<Vec<Category>>;
}

/// Which products to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    /// Only products in this category.
    pub category: Option<CategoryId>,
    /// Only products whose name or description contains this text, ignoring case.
    pub search: Option<String>,
    /// Only products priced at least this.
    pub min_price: Option<Price>,
    /// Only products priced at most this.
    pub max_price: Option<Price>,
}

/// The value a product list is ordered by, at one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductSortKey {
    /// Creation time (`created_at`, `-created_at`).
    Created(OffsetDateTime),
    /// Price in cents (`price`, `-price`).
    Price(i64),
    /// Name (`name`, `-name`).
    Name(String),
}

/// A position in a product list: the row's sort value, and its id to break ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPosition {
    /// The sort value.
    pub key: ProductSortKey,
    /// The row's id.
    pub id: Uuid,
}

impl ProductPosition {
    /// Where `product` stands in a list ordered by `order`.
    pub fn of(product: &Product, order: ProductOrder) -> Self {
        use ProductOrder as O;
        let key = match order {
            O::NewestFirst | O::OldestFirst => ProductSortKey::Created(product.created_at),
            O::PriceAscending | O::PriceDescending => ProductSortKey::Price(product.price.cents()),
            O::NameAscending | O::NameDescending => {
                ProductSortKey::Name(product.name.as_str().to_owned())
            }
        };
        Self {
            key,
            id: product.id.as_uuid(),
        }
    }

    /// Whether this position belongs to a list ordered by `order`.
    pub fn fits(&self, order: ProductOrder) -> bool {
        use ProductOrder as O;
        matches!(
            (&self.key, order),
            (ProductSortKey::Created(_), O::NewestFirst | O::OldestFirst)
                | (
                    ProductSortKey::Price(_),
                    O::PriceAscending | O::PriceDescending
                )
                | (
                    ProductSortKey::Name(_),
                    O::NameAscending | O::NameDescending
                )
        )
    }
}

impl CursorKey for ProductPosition {
    /// A tag byte for the kind of key, the key, then the id.
    fn write(&self, out: &mut Vec<u8>) {
        match &self.key {
            ProductSortKey::Created(at) => {
                out.push(0);
                out.extend_from_slice(&at.unix_timestamp_nanos().to_be_bytes());
            }
            ProductSortKey::Price(cents) => {
                out.push(1);
                out.extend_from_slice(&cents.to_be_bytes());
            }
            ProductSortKey::Name(name) => {
                out.push(2);
                out.extend_from_slice(name.as_bytes());
            }
        }
        out.extend_from_slice(self.id.as_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        let (tag, rest) = bytes.split_first()?;
        let (value, id) = rest.split_last_chunk::<16>()?;
        let key = match tag {
            0 => ProductSortKey::Created(
                OffsetDateTime::from_unix_timestamp_nanos(i128::from_be_bytes(
                    value.try_into().ok()?,
                ))
                .ok()?,
            ),
            1 => ProductSortKey::Price(i64::from_be_bytes(value.try_into().ok()?)),
            2 => ProductSortKey::Name(String::from_utf8(value.to_vec()).ok()?),
            _ => return None,
        };
        Some(Self {
            key,
            id: Uuid::from_bytes(*id),
        })
    }
}

/// Persistent products.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ProductRepository: Send + Sync {
    /// Stores a new product ([`CatalogWriteError::UnknownCategory`] if its category is gone).
    async fn insert(&self, product: &Product) -> Result<(), CatalogWriteError>;

    /// Saves a changed product; `false` if it no longer exists.
    async fn update(&self, product: &Product) -> Result<bool, CatalogWriteError>;

    /// Deletes a product; `false` if it did not exist.
    async fn delete(&self, id: ProductId) -> anyhow::Result<bool>;

    /// The product with this id.
    async fn find(&self, id: ProductId) -> anyhow::Result<Option<Product>>;

    /// Up to `request.fetch()` products matching `filter`, in walk order of `order` (see
    /// [`PageRequest`]): down the list from the top or from a position, or up the list
    /// (reversed) from a position.
    async fn page(
        &self,
        filter: &ProductFilter,
        order: ProductOrder,
        request: &PageRequest<ProductPosition>,
    ) -> anyhow::Result<Vec<Product>>;
}
