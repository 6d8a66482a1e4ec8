//! The sample catalog: categories (admins write them) and products (anyone signed in creates
//! one; its owner or an admin changes or deletes it). Reading is open to everyone.

use std::sync::Arc;

use gatehouse_domain::{
    AuditEventType, Category, CategoryId, CategoryName, Description, DomainError, Price, Product,
    ProductId, ProductName, ProductOrder, User,
};
use uuid::Uuid;

use crate::accounts::policy;
use crate::accounts::users::UserService;
use crate::catalog::ports::{
    CatalogWriteError, CategoryRepository, ProductFilter, ProductPosition, ProductRepository,
};
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::pagination::{CursorCodec, Keyset, Page};
use crate::shared::ports::Clock;

/// A category's fields as a client sends them: `PUT` and `POST` send them all (a missing
/// description is empty), `PATCH` only those to change.
#[derive(Debug, Clone, Default)]
pub struct CategoryFields {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// A product's fields as a client sends them: `PUT` and `POST` send them all (a missing
/// description is empty), `PATCH` only those to change. Values are raw: the service parses
/// them and reports every bad one at once.
#[derive(Debug, Clone, Default)]
pub struct ProductFields {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New price, as a decimal string (`"19.99"`).
    pub price: Option<String>,
    /// New category id.
    pub category: Option<String>,
}

/// How a product list is asked for: raw query values, parsed by the service.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Category id.
    pub category: Option<String>,
    /// Text to find in names and descriptions.
    pub search: Option<String>,
    /// Lowest price.
    pub min_price: Option<String>,
    /// Highest price.
    pub max_price: Option<String>,
    /// `price`, `-price`, `created_at`, `-created_at`, `name` or `-name`.
    pub ordering: Option<String>,
    /// Page size.
    pub limit: Option<u64>,
    /// A cursor from an earlier page of the same ordering.
    pub cursor: Option<String>,
}

/// Whether a write replaces every field or changes some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `PUT`: every required field must be present.
    Replace,
    /// `PATCH`: absent fields keep their value.
    Patch,
}

/// The catalog's use cases.
pub struct CatalogService {
    categories: Arc<dyn CategoryRepository>,
    products: Arc<dyn ProductRepository>,
    accounts: Arc<UserService>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    cursors: CursorCodec,
}

/// Longest accepted search text, in characters.
const MAX_SEARCH_LEN: usize = 200;

impl CatalogService {
    /// A catalog over its two repositories. `accounts` resolves the caller of a write (its
    /// grants decide), `audit` records every write; `cursors` signs page cursors so clients
    /// cannot forge positions.
    pub fn new(
        categories: Arc<dyn CategoryRepository>,
        products: Arc<dyn ProductRepository>,
        accounts: Arc<UserService>,
        audit: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        cursors: CursorCodec,
    ) -> Self {
        Self {
            categories,
            products,
            accounts,
            audit,
            clock,
            cursors,
        }
    }

    /// One page of categories, newest first.
    pub async fn categories(
        &self,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<Page<Category>, AppError> {
        let cursors = self.cursors.scoped("categories");
        let request = cursors.request(limit, cursor)?;
        let rows = self.categories.page(&request).await?;
        Ok(Page::assemble(rows, &request, &cursors, |c| Keyset {
            created_at: c.created_at,
            id: c.id.as_uuid(),
        }))
    }

    /// One category.
    pub async fn category(&self, id: CategoryId) -> Result<Category, AppError> {
        self.categories
            .find(id)
            .await?
            .ok_or(AppError::NotFound("category"))
    }

    /// Creates a category (admins only).
    pub async fn create_category(
        &self,
        principal: &Principal,
        fields: CategoryFields,
    ) -> Result<Category, AppError> {
        self.admin(principal).await?;
        let (name, description) = category_fields(&fields, None)?;
        let now = self.clock.now();
        let category = Category {
            id: CategoryId::generate(),
            name,
            description,
            created_at: now,
            updated_at: now,
        };
        self.categories
            .insert(&category)
            .await
            .map_err(write_error)?;
        let id = category.id.to_string();
        self.audit_change(
            principal,
            "created",
            "category",
            &id,
            category.name.as_str(),
        )
        .await;
        Ok(category)
    }

    /// Replaces or patches a category (admins only).
    pub async fn update_category(
        &self,
        principal: &Principal,
        id: CategoryId,
        fields: CategoryFields,
        mode: WriteMode,
    ) -> Result<Category, AppError> {
        self.admin(principal).await?;
        let current = self.category(id).await?;
        let base = (mode == WriteMode::Patch).then_some(&current);
        let (name, description) = category_fields(&fields, base)?;
        let updated = Category {
            name,
            description,
            updated_at: self.clock.now(),
            ..current
        };
        if !self
            .categories
            .update(&updated)
            .await
            .map_err(write_error)?
        {
            return Err(AppError::NotFound("category"));
        }
        let id = updated.id.to_string();
        self.audit_change(principal, "changed", "category", &id, updated.name.as_str())
            .await;
        Ok(updated)
    }

    /// Deletes a category that has no products (admins only); one that has is a conflict.
    pub async fn delete_category(
        &self,
        principal: &Principal,
        id: CategoryId,
    ) -> Result<(), AppError> {
        self.admin(principal).await?;
        let category = self.category(id).await?;
        if !self.categories.delete(id).await.map_err(write_error)? {
            return Err(AppError::NotFound("category"));
        }
        let id = id.to_string();
        self.audit_change(
            principal,
            "deleted",
            "category",
            &id,
            category.name.as_str(),
        )
        .await;
        Ok(())
    }

    /// One page of products matching the query, in its ordering.
    pub async fn products(&self, query: ProductQuery) -> Result<Page<Product>, AppError> {
        let mut errors = ValidationErrors::new();
        let order = query
            .ordering
            .as_deref()
            .map_or(Some(ProductOrder::default()), |raw| {
                errors.check(raw.parse())
            });
        let category = query.category.as_deref().and_then(|raw| {
            errors
                .check(parse_id("category", raw))
                .map(CategoryId::from_uuid)
        });
        let min_price = query
            .min_price
            .as_deref()
            .and_then(|raw| errors.check(Price::parse("min_price", raw)));
        let max_price = query
            .max_price
            .as_deref()
            .and_then(|raw| errors.check(Price::parse("max_price", raw)));
        let search = query
            .search
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if search
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH_LEN)
        {
            errors.add("search", format!("at most {MAX_SEARCH_LEN} characters"));
        }
        errors.into_result()?;
        let order = order.unwrap_or_default();

        let scope = format!("products:{}", order.as_str());
        let cursors = self.cursors.scoped(&scope);
        let request = cursors.request::<ProductPosition>(query.limit, query.cursor.as_deref())?;
        if request.from.as_ref().is_some_and(|(_, at)| !at.fits(order)) {
            return Err(DomainError::new("cursor", "invalid cursor").into());
        }
        let filter = ProductFilter {
            category,
            search,
            min_price,
            max_price,
        };
        let rows = self.products.page(&filter, order, &request).await?;
        Ok(Page::assemble(rows, &request, &cursors, |p| {
            ProductPosition::of(p, order)
        }))
    }

    /// One product.
    pub async fn product(&self, id: ProductId) -> Result<Product, AppError> {
        self.products
            .find(id)
            .await?
            .ok_or(AppError::NotFound("product"))
    }

    /// Creates a product owned by the caller (any active user).
    pub async fn create_product(
        &self,
        principal: &Principal,
        fields: ProductFields,
    ) -> Result<Product, AppError> {
        let owner = self.accounts.me(principal).await?;
        let parsed = self.product_fields(&fields, None).await?;
        let now = self.clock.now();
        let product = Product {
            id: ProductId::generate(),
            name: parsed.name,
            description: parsed.description,
            price: parsed.price,
            category: parsed.category,
            created_by: owner.id,
            created_at: now,
            updated_at: now,
        };
        self.products.insert(&product).await.map_err(write_error)?;
        let id = product.id.to_string();
        self.audit_change(principal, "created", "product", &id, product.name.as_str())
            .await;
        Ok(product)
    }

    /// Replaces or patches a product (its owner or an admin).
    pub async fn update_product(
        &self,
        principal: &Principal,
        id: ProductId,
        fields: ProductFields,
        mode: WriteMode,
    ) -> Result<Product, AppError> {
        let current = self.owned_product(principal, id).await?;
        let base = (mode == WriteMode::Patch).then_some(&current);
        let parsed = self.product_fields(&fields, base).await?;
        let updated = Product {
            name: parsed.name,
            description: parsed.description,
            price: parsed.price,
            category: parsed.category,
            updated_at: self.clock.now(),
            ..current
        };
        if !self.products.update(&updated).await.map_err(write_error)? {
            return Err(AppError::NotFound("product"));
        }
        let id = updated.id.to_string();
        self.audit_change(principal, "changed", "product", &id, updated.name.as_str())
            .await;
        Ok(updated)
    }

    /// Deletes a product (its owner or an admin).
    pub async fn delete_product(
        &self,
        principal: &Principal,
        id: ProductId,
    ) -> Result<(), AppError> {
        let product = self.owned_product(principal, id).await?;
        if !self.products.delete(id).await? {
            return Err(AppError::NotFound("product"));
        }
        let id = id.to_string();
        self.audit_change(principal, "deleted", "product", &id, product.name.as_str())
            .await;
        Ok(())
    }

    /// One `catalog_changed` event, by the caller.
    async fn audit_change(
        &self,
        principal: &Principal,
        action: &str,
        entity: &str,
        id: &str,
        name: &str,
    ) {
        let data = [
            ("action", action.to_owned()),
            ("entity", entity.to_owned()),
            ("id", id.to_owned()),
            ("name", name.to_owned()),
        ];
        let context = AuditContext::own(principal.user_id, &principal.client);
        self.audit
            .record(AuditEventType::CatalogChanged, context, &data)
            .await;
    }

    async fn admin(&self, principal: &Principal) -> Result<User, AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        Ok(actor)
    }

    /// The product, if the caller may change it: unknown is 404, someone else's is 403.
    async fn owned_product(
        &self,
        principal: &Principal,
        id: ProductId,
    ) -> Result<Product, AppError> {
        let actor = self.accounts.me(principal).await?;
        let product = self.product(id).await?;
        policy::require_owner_or_admin(&actor, product.created_by)?;
        Ok(product)
    }

    /// Parses product fields over `base` (a patch) or from scratch (create, replace), and
    /// checks that the category exists.
    async fn product_fields(
        &self,
        fields: &ProductFields,
        base: Option<&Product>,
    ) -> Result<ParsedProduct, AppError> {
        let mut errors = ValidationErrors::new();
        let name = required(
            &mut errors,
            "name",
            fields.name.as_deref(),
            base.map(|p| &p.name),
            ProductName::parse,
        );
        let description = description(
            &mut errors,
            fields.description.as_deref(),
            base.map(|p| &p.description),
        );
        let price = required(
            &mut errors,
            "price",
            fields.price.as_deref(),
            base.map(|p| &p.price),
            |raw| Price::parse("price", raw),
        );
        let category = required(
            &mut errors,
            "category",
            fields.category.as_deref(),
            base.map(|p| &p.category),
            |raw| parse_id("category", raw).map(CategoryId::from_uuid),
        );
        let (Some(name), Some(description), Some(price), Some(category)) =
            (name, description, price, category)
        else {
            return Err(AppError::Validation(errors));
        };
        // A category named in the request must exist (the store re-checks on write).
        if fields.category.is_some() && self.categories.find(category).await?.is_none() {
            errors.add("category", "no such category");
        }
        errors.into_result()?;
        Ok(ParsedProduct {
            name,
            description,
            price,
            category,
        })
    }
}

/// A product's fields, parsed.
struct ParsedProduct {
    name: ProductName,
    description: Description,
    price: Price,
    category: CategoryId,
}

/// A field a replace must carry: parsed when sent, the base's value when patching, else an
/// error "this field is required".
fn required<T: Clone>(
    errors: &mut ValidationErrors,
    field: &'static str,
    raw: Option<&str>,
    base: Option<&T>,
    parse: impl FnOnce(&str) -> Result<T, DomainError>,
) -> Option<T> {
    match (raw, base) {
        (Some(raw), _) => errors.check(parse(raw)),
        (None, Some(current)) => Some(current.clone()),
        (None, None) => {
            errors.add(field, "this field is required");
            None
        }
    }
}

/// The optional description: parsed when sent, the base's when patching, else empty.
fn description(
    errors: &mut ValidationErrors,
    raw: Option<&str>,
    base: Option<&Description>,
) -> Option<Description> {
    match raw {
        Some(raw) => errors.check(Description::parse(raw)),
        None => Some(base.cloned().unwrap_or_default()),
    }
}

/// Parses category fields over `base` (a patch) or from scratch.
fn category_fields(
    fields: &CategoryFields,
    base: Option<&Category>,
) -> Result<(CategoryName, Description), AppError> {
    let mut errors = ValidationErrors::new();
    let name = required(
        &mut errors,
        "name",
        fields.name.as_deref(),
        base.map(|c| &c.name),
        CategoryName::parse,
    );
    let description = description(
        &mut errors,
        fields.description.as_deref(),
        base.map(|c| &c.description),
    );
    match (name, description) {
        (Some(name), Some(description)) => Ok((name, description)),
        _ => Err(AppError::Validation(errors)),
    }
}

fn parse_id(field: &'static str, raw: &str) -> Result<Uuid, DomainError> {
    Uuid::parse_str(raw.trim()).map_err(|_| DomainError::new(field, "must be a UUID"))
}

fn write_error(error: CatalogWriteError) -> AppError {
    match error {
        CatalogWriteError::NameTaken => AppError::Conflict {
            field: "name",
            message: "a category with this name already exists".into(),
        },
        CatalogWriteError::CategoryInUse => AppError::Conflict {
            field: "category",
            message: "the category still has products; delete or move them first".into(),
        },
        CatalogWriteError::UnknownCategory => {
            DomainError::new("category", "no such category").into()
        }
        CatalogWriteError::Unavailable(cause) => AppError::Unavailable(cause),
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::{Role, UserId};

    use super::*;
    use crate::accounts::ports::{MockPasswordHasher, MockUserRepository};
    use crate::catalog::ports::{MockCategoryRepository, MockProductRepository};
    use crate::shared::pagination::Direction;
    use crate::test_support::{NOW, bearer_principal, fixed_clock, user};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn admin() -> User {
        let mut root = user("root@example.test", "root");
        root.role = Role::Admin;
        root
    }

    fn category() -> Category {
        Category {
            id: CategoryId::generate(),
            name: CategoryName::parse("Books").unwrap(),
            description: Description::default(),
            created_at: NOW,
            updated_at: NOW,
        }
    }

    fn product(owner: UserId, category: CategoryId) -> Product {
        Product {
            id: ProductId::generate(),
            name: ProductName::parse("Dune").unwrap(),
            description: Description::default(),
            price: Price::parse("price", "9.99").unwrap(),
            category,
            created_by: owner,
            created_at: NOW,
            updated_at: NOW,
        }
    }

    /// A service whose caller is `actor`, over a catalog holding `category` and `product`;
    /// every write succeeds.
    fn service(actor: User, category: Category, product: Option<Product>) -> CatalogService {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(actor.clone())));
        let accounts = UserService::new(
            Arc::new(users),
            Arc::new(MockPasswordHasher::new()),
            fixed_clock(),
            gatehouse_domain::PasswordPolicy::default(),
        );
        let mut categories = MockCategoryRepository::new();
        let known = category.id;
        categories
            .expect_find()
            .returning(move |id| Ok((id == known).then(|| category.clone())));
        categories.expect_insert().returning(|_| Ok(()));
        categories.expect_update().returning(|_| Ok(true));
        categories.expect_delete().returning(|_| Ok(true));
        let mut products = MockProductRepository::new();
        products
            .expect_find()
            .returning(move |id| Ok(product.clone().filter(|p| p.id == id)));
        products.expect_insert().returning(|_| Ok(()));
        products.expect_update().returning(|_| Ok(true));
        products.expect_delete().returning(|_| Ok(true));
        products.expect_page().returning(|_, _, _| Ok(Vec::new()));
        CatalogService::new(
            Arc::new(categories),
            Arc::new(products),
            Arc::new(accounts),
            crate::test_support::quiet_auditor(),
            fixed_clock(),
            CursorCodec::new(KEY.to_vec()),
        )
    }

    fn named(name: &str) -> CategoryFields {
        CategoryFields {
            name: Some(name.into()),
            description: None,
        }
    }

    #[tokio::test]
    async fn only_admins_write_categories() {
        for (actor, allowed) in [(user("ada@example.test", "ada"), false), (admin(), true)] {
            let shelf = category();
            let principal = bearer_principal(actor.id);
            let service = service(actor, shelf.clone(), None);
            let outcomes = [
                service
                    .create_category(&principal, named("Films"))
                    .await
                    .err(),
                service
                    .update_category(&principal, shelf.id, named("Films"), WriteMode::Patch)
                    .await
                    .err(),
                service.delete_category(&principal, shelf.id).await.err(),
            ];
            for outcome in outcomes {
                match allowed {
                    true => assert!(outcome.is_none(), "{outcome:?}"),
                    false => assert!(matches!(outcome, Some(AppError::PermissionDenied))),
                }
            }
        }
    }

    #[tokio::test]
    async fn only_the_owner_or_an_admin_changes_a_product() {
        let owner = user("ada@example.test", "ada");
        let shelf = category();
        let item = product(owner.id, shelf.id);
        let patch = ProductFields {
            price: Some("1.50".into()),
            ..ProductFields::default()
        };
        for (actor, allowed) in [
            (owner.clone(), true),
            (admin(), true),
            (user("bob@example.test", "bob"), false),
        ] {
            let principal = bearer_principal(actor.id);
            let service = service(actor, shelf.clone(), Some(item.clone()));
            let updated = service
                .update_product(&principal, item.id, patch.clone(), WriteMode::Patch)
                .await;
            let deleted = service.delete_product(&principal, item.id).await;
            if allowed {
                let updated = updated.unwrap();
                assert_eq!(updated.price.to_string(), "1.50");
                assert_eq!(
                    (updated.name, updated.created_by),
                    (item.name.clone(), owner.id)
                );
                assert!(deleted.is_ok());
            } else {
                assert!(matches!(updated, Err(AppError::PermissionDenied)));
                assert!(matches!(deleted, Err(AppError::PermissionDenied)));
            }
        }
        let stranger = user("bob@example.test", "bob");
        let principal = bearer_principal(stranger.id);
        let service = service(stranger, shelf, Some(item));
        let missing = service
            .delete_product(&principal, ProductId::generate())
            .await;
        assert!(matches!(missing, Err(AppError::NotFound("product"))));
    }

    #[tokio::test]
    async fn a_new_product_belongs_to_its_creator_and_every_bad_field_is_reported() {
        let ada = user("ada@example.test", "ada");
        let shelf = category();
        let principal = bearer_principal(ada.id);
        let service = service(ada.clone(), shelf.clone(), None);
        let created = service
            .create_product(
                &principal,
                ProductFields {
                    name: Some(" Dune ".into()),
                    description: None,
                    price: Some("0.1".into()),
                    category: Some(shelf.id.to_string()),
                },
            )
            .await
            .unwrap();
        assert_eq!(created.created_by, ada.id);
        assert_eq!(
            (created.name.as_str(), created.price.to_string()),
            ("Dune", "0.10".into())
        );

        let refused = service
            .create_product(
                &principal,
                ProductFields {
                    name: None,
                    description: None,
                    price: Some("1e3".into()),
                    category: Some("shelf-1".into()),
                },
            )
            .await;
        let Err(AppError::Validation(errors)) = refused else {
            panic!("{refused:?}")
        };
        let fields: Vec<&str> = errors.fields().keys().copied().collect();
        assert_eq!(fields, ["category", "name", "price"]);

        let unknown = service
            .create_product(
                &principal,
                ProductFields {
                    name: Some("Dune".into()),
                    description: None,
                    price: Some("1".into()),
                    category: Some(CategoryId::generate().to_string()),
                },
            )
            .await;
        let Err(AppError::Validation(errors)) = unknown else {
            panic!("{unknown:?}")
        };
        assert_eq!(errors.fields()["category"], ["no such category"]);
    }

    #[tokio::test]
    async fn list_queries_are_checked_and_cursors_keep_to_their_ordering() {
        let ada = user("ada@example.test", "ada");
        let service = service(ada, category(), None);
        let bad = ProductQuery {
            ordering: Some("popularity".into()),
            min_price: Some("-1".into()),
            category: Some("7".into()),
            ..ProductQuery::default()
        };
        let Err(AppError::Validation(errors)) = service.products(bad).await else {
            panic!("bad query accepted")
        };
        let fields: Vec<&str> = errors.fields().keys().copied().collect();
        assert_eq!(fields, ["category", "min_price", "ordering"]);

        let codec = CursorCodec::new(KEY.to_vec());
        let by_price = codec.scoped("products:price").encode(
            Direction::Older,
            ProductPosition {
                key: crate::catalog::ports::ProductSortKey::Price(999),
                id: Uuid::now_v7(),
            },
        );
        let same_order = ProductQuery {
            ordering: Some("price".into()),
            cursor: Some(by_price.clone()),
            ..ProductQuery::default()
        };
        assert!(service.products(same_order).await.is_ok());
        let other_order = ProductQuery {
            ordering: Some("name".into()),
            cursor: Some(by_price),
            ..ProductQuery::default()
        };
        assert!(matches!(
            service.products(other_order).await,
            Err(AppError::Validation(_))
        ));
    }

    #[test]
    fn product_positions_round_trip_through_cursors() {
        use crate::catalog::ports::ProductSortKey as K;
        use crate::shared::pagination::CursorKey;
        for key in [
            K::Created(NOW),
            K::Price(0),
            K::Price(Price::MAX_CENTS),
            K::Name("Dune — ünïcode".into()),
            K::Name(String::new()),
            // As long as a time key: the tag, not the length, tells them apart.
            K::Name("fifteen bytes!!".into()),
        ] {
            let position = ProductPosition {
                key,
                id: Uuid::now_v7(),
            };
            let mut bytes = Vec::new();
            position.write(&mut bytes);
            assert_eq!(ProductPosition::read(&bytes), Some(position));
        }
        assert_eq!(ProductPosition::read(&[9; 20]), None);
        assert_eq!(ProductPosition::read(&[2, 0xff, 0xfe]), None);
    }
}
