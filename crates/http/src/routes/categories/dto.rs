//! Category bodies.

use gatehouse_application::CategoryFields;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::constraints;

/// A category as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<&gatehouse_domain::Category> for CategoryResponse {
    fn from(category: &gatehouse_domain::Category) -> Self {
        Self {
            id: category.id.as_uuid(),
            name: category.name.as_str().to_owned(),
            description: category.description.as_str().to_owned(),
            created_at: category.created_at,
            updated_at: category.updated_at,
        }
    }
}

/// `POST`, `PUT` (all fields; a missing description is empty) and `PATCH` (the fields to
/// change) of a category. Other fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    /// Unique ignoring case.
    #[schema(schema_with = constraints::optional_category_name)]
    pub name: Option<String>,
    #[schema(schema_with = constraints::optional_description)]
    pub description: Option<String>,
}

impl From<CategoryRequest> for CategoryFields {
    fn from(body: CategoryRequest) -> Self {
        Self {
            name: body.name,
            description: body.description,
        }
    }
}
