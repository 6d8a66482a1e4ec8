use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{
    CatalogWriteError, CategoryRepository, ProductFilter, ProductPosition, ProductRepository,
    ProductSortKey,
};
use gatehouse_domain::{Category, CategoryId, Product, ProductId, ProductOrder};

use crate::keyset;
use crate::locked::Shared;

#[derive(Default)]
struct Catalog {
    categories: HashMap<CategoryId, Category>,
    products: HashMap<ProductId, Product>,
}

impl Catalog {
    fn name_taken(&self, category: &Category) -> bool {
        let name = category.name.as_str().to_lowercase();
        self.categories
            .values()
            .any(|c| c.id != category.id && c.name.as_str().to_lowercase() == name)
    }
}

/// [`CategoryRepository`] in process memory. Shares its state with the
/// [`InMemoryProductRepository`] made from it, so "unique name ignoring case", "no delete
/// while products exist" and "no product in a missing category" are decided under one lock.
#[derive(Clone, Default)]
pub struct InMemoryCategoryRepository {
    catalog: Shared<Catalog>,
}

impl InMemoryCategoryRepository {
    /// No categories yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CategoryRepository for InMemoryCategoryRepository {
    async fn insert(&self, category: &Category) -> Result<(), CatalogWriteError> {
        self.catalog.with(|catalog| {
            if catalog.name_taken(category) {
                return Err(CatalogWriteError::NameTaken);
            }
            if catalog.categories.contains_key(&category.id) {
                return Err(anyhow::anyhow!("a category with this id exists").into());
            }
            catalog.categories.insert(category.id, category.clone());
            Ok(())
        })?
    }

    async fn update(&self, category: &Category) -> Result<bool, CatalogWriteError> {
        self.catalog.with(|catalog| {
            if !catalog.categories.contains_key(&category.id) {
                return Ok(false);
            }
            if catalog.name_taken(category) {
                return Err(CatalogWriteError::NameTaken);
            }
            catalog.categories.insert(category.id, category.clone());
            Ok(true)
        })?
    }

    async fn delete(&self, id: CategoryId) -> Result<bool, CatalogWriteError> {
        self.catalog.with(|catalog| {
            if !catalog.categories.contains_key(&id) {
                return Ok(false);
            }
            if catalog.products.values().any(|p| p.category == id) {
                return Err(CatalogWriteError::CategoryInUse);
            }
            Ok(catalog.categories.remove(&id).is_some())
        })?
    }

    async fn find(&self, id: CategoryId) -> anyhow::Result<Option<Category>> {
        self.catalog
            .with(|catalog| catalog.categories.get(&id).cloned())
    }

    async fn page(&self, request: &PageRequest) -> anyhow::Result<Vec<Category>> {
        self.catalog.with(|catalog| {
            keyset::page(
                catalog.categories.values().cloned(),
                |c| (c.created_at, c.id.as_uuid()),
                request,
            )
        })
    }
}

/// [`ProductRepository`] in process memory, over the categories of an
/// [`InMemoryCategoryRepository`]; pages in the same six `(key, id)` orders as SQL.
#[derive(Clone)]
pub struct InMemoryProductRepository {
    catalog: Shared<Catalog>,
}

impl InMemoryProductRepository {
    /// Products in the categories of `categories`.
    pub fn new(categories: &InMemoryCategoryRepository) -> Self {
        Self {
            catalog: categories.catalog.clone(),
        }
    }
}

fn matches(product: &Product, filter: &ProductFilter) -> bool {
    let contains = |text: &str, needle: &str| text.to_lowercase().contains(needle);
    filter.category.is_none_or(|c| product.category == c)
        && filter
            .min_price
            .is_none_or(|min| product.price.cents() >= min.cents())
        && filter
            .max_price
            .is_none_or(|max| product.price.cents() <= max.cents())
        && filter.search.as_deref().is_none_or(|text| {
            let needle = text.to_lowercase();
            contains(product.name.as_str(), &needle)
                || contains(product.description.as_str(), &needle)
        })
}

#[async_trait]
impl ProductRepository for InMemoryProductRepository {
    async fn insert(&self, product: &Product) -> Result<(), CatalogWriteError> {
        self.catalog.with(|catalog| {
            if !catalog.categories.contains_key(&product.category) {
                return Err(CatalogWriteError::UnknownCategory);
            }
            if catalog.products.contains_key(&product.id) {
                return Err(anyhow::anyhow!("a product with this id exists").into());
            }
            catalog.products.insert(product.id, product.clone());
            Ok(())
        })?
    }

    async fn update(&self, product: &Product) -> Result<bool, CatalogWriteError> {
        self.catalog.with(|catalog| {
            if !catalog.products.contains_key(&product.id) {
                return Ok(false);
            }
            if !catalog.categories.contains_key(&product.category) {
                return Err(CatalogWriteError::UnknownCategory);
            }
            catalog.products.insert(product.id, product.clone());
            Ok(true)
        })?
    }

    async fn delete(&self, id: ProductId) -> anyhow::Result<bool> {
        self.catalog
            .with(|catalog| catalog.products.remove(&id).is_some())
    }

    async fn find(&self, id: ProductId) -> anyhow::Result<Option<Product>> {
        self.catalog
            .with(|catalog| catalog.products.get(&id).cloned())
    }

    async fn page(
        &self,
        filter: &ProductFilter,
        order: ProductOrder,
        request: &PageRequest<ProductPosition>,
    ) -> anyhow::Result<Vec<Product>> {
        let from = request
            .from
            .as_ref()
            .map(|(direction, at)| (*direction, (at.key.clone(), at.id)));
        self.catalog.with(|catalog| {
            let rows = catalog
                .products
                .values()
                .filter(|p| matches(p, filter))
                .cloned();
            keyset::page_by(
                rows,
                |p| {
                    let position = ProductPosition::of(p, order);
                    (SortKey(position.key), position.id)
                },
                order.ascending(),
                from.map(|(d, (key, id))| (d, (SortKey(key), id))),
                request.fetch(),
            )
        })
    }
}

/// A product sort value, ordered as the column it stands for (positions of one list all
/// carry the same kind of key).
#[derive(Clone, PartialEq, Eq)]
struct SortKey(ProductSortKey);

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use ProductSortKey as K;
        match (&self.0, &other.0) {
            (K::Created(a), K::Created(b)) => a.cmp(b),
            (K::Price(a), K::Price(b)) => a.cmp(b),
            (K::Name(a), K::Name(b)) => a.cmp(b),
            // Never within one list; an arbitrary but fixed order keeps `Ord` total.
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

fn rank(key: &ProductSortKey) -> u8 {
    match key {
        ProductSortKey::Created(_) => 0,
        ProductSortKey::Price(_) => 1,
        ProductSortKey::Name(_) => 2,
    }
}
