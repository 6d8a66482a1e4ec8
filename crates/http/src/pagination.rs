//! Keyset pages: the one page shape every list answers with, and the `?limit=&cursor=` query.

use gatehouse_application::pagination::limits;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

/// One page of a list, in the list's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The rows of this page.
    pub results: Vec<T>,
    /// Opaque cursor to the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Opaque cursor to the previous page; `null` on the first page.
    pub previous_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The application's page with each row turned into its body.
    pub fn from_page<U>(page: gatehouse_application::Page<U>, row: impl FnMut(U) -> T) -> Self {
        Self {
            results: page.items.into_iter().map(row).collect(),
            next_cursor: page.next,
            previous_cursor: page.previous,
        }
    }
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(schema_with = limit_schema)]
    pub limit: Option<u64>,
    /// `next_cursor` or `previous_cursor` of an earlier page.
    pub cursor: Option<String>,
}

/// A page size: the bounds the application enforces.
pub fn limit_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some(format!(
            "Page size, 1 to {}; default {}. More is 400, not clamped.",
            limits::MAX,
            limits::DEFAULT
        )))
        .minimum(Some(1))
        .maximum(Some(limits::MAX))
        .default(Some(limits::DEFAULT.into()))
        .build()
}
