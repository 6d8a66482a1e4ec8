//! Product bodies and the product list query.

use gatehouse_application::{ProductFields, ProductQuery};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiError;
use crate::constraints;
use crate::pagination::limit_schema;

/// A product as clients see it. `price` is an exact decimal string with two places.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    #[schema(example = "999.99")]
    pub price: String,
    /// The category's id.
    pub category: Uuid,
    /// The owner's user id.
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<&gatehouse_domain::Product> for ProductResponse {
    fn from(product: &gatehouse_domain::Product) -> Self {
        Self {
            id: product.id.as_uuid(),
            name: product.name.as_str().to_owned(),
            description: product.description.as_str().to_owned(),
            price: product.price.to_string(),
            category: product.category.as_uuid(),
            created_by: product.created_by.as_uuid(),
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// `POST`, `PUT` (all of name, price, category; a missing description is empty) and `PATCH`
/// (the fields to change) of a product. The owner and timestamps are not writable.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    #[schema(schema_with = constraints::optional_product_name)]
    pub name: Option<String>,
    #[schema(schema_with = constraints::optional_description)]
    pub description: Option<String>,
    /// A plain decimal with at most two places, 0 to 999999999999.99: `"19.99"`. A JSON
    /// number is read by its written digits; signs and exponents are refused.
    #[schema(schema_with = constraints::optional_price)]
    pub price: Option<serde_json::Value>,
    /// A category id.
    #[schema(schema_with = constraints::optional_uuid)]
    pub category: Option<String>,
}

/// `GET /products` filters, ordering and page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    #[param(schema_with = category_filter)]
    pub category: Option<String>,
    /// Text found in the name or description, ignoring case.
    pub search: Option<String>,
    #[param(schema_with = min_price_filter)]
    pub min_price: Option<String>,
    #[param(schema_with = max_price_filter)]
    pub max_price: Option<String>,
    #[param(schema_with = ordering)]
    pub ordering: Option<String>,
    #[param(schema_with = limit_schema)]
    pub limit: Option<u64>,
    /// `next_cursor` or `previous_cursor` of an earlier page in the same ordering.
    pub cursor: Option<String>,
}

/// The fields, with the price as the text the client wrote.
impl TryFrom<ProductRequest> for ProductFields {
    type Error = ApiError;

    fn try_from(body: ProductRequest) -> Result<Self, ApiError> {
        use serde_json::Value;
        let price = match body.price {
            None => None,
            Some(Value::String(text)) => Some(text),
            // A negative zero is zero (JSON Schema cannot tell them apart); any other number
            // is read as the text it prints, so the price rules judge it as they judge text.
            Some(Value::Number(number)) if number.as_f64() == Some(0.0) => Some("0".to_owned()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => {
                return Err(ApiError::validation(
                    "price",
                    "must be a decimal string such as \"19.99\"",
                ));
            }
        };
        Ok(Self {
            name: body.name,
            description: body.description,
            price,
            category: body.category,
        })
    }
}

impl From<ProductListQuery> for ProductQuery {
    fn from(query: ProductListQuery) -> Self {
        Self {
            category: query.category,
            search: query.search,
            min_price: query.min_price,
            max_price: query.max_price,
            ordering: query.ordering,
            limit: query.limit,
            cursor: query.cursor,
        }
    }
}

fn category_filter() -> utoipa::openapi::Object {
    constraints::described(constraints::uuid(), "Only this category (an id).")
}

fn min_price_filter() -> utoipa::openapi::Object {
    constraints::described(constraints::price(), "Lowest price, e.g. `10.00`.")
}

fn max_price_filter() -> utoipa::openapi::Object {
    constraints::described(constraints::price(), "Highest price.")
}

fn ordering() -> utoipa::openapi::Object {
    constraints::described(constraints::product_order(), "`-created_at` when absent.")
}
