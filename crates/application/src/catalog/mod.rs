//! The product catalog: categories and products, read by anyone and written by users with
//! the catalog permissions, with the repositories they are stored in. Depends on `shared` and
//! `accounts` (who the caller is and what they may do).

pub mod ports;
pub mod service;

pub use service::{CatalogService, CategoryFields, ProductFields, ProductQuery, WriteMode};
