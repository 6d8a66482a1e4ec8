//! The sea-orm entities: one module per table, named after one row of it.

pub mod audit_event;
pub mod category;
pub mod credit_entry;
pub mod device;
pub mod email_token;
pub mod imported_account;
pub mod passkey;
pub mod pre_registration;
pub mod product;
pub mod recovery_code;
pub mod signing_key;
pub mod task;
pub mod task_quota;
pub mod totp_factor;
pub mod user;
