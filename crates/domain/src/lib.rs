//! Gatehouse domain: the entities and value objects of user management and authentication.
//!
//! Everything here is pure: no IO, no async, no framework types. Values are parsed once at the
//! edge ("parse, don't validate"), so a value of one of these types that exists is valid.

#![warn(missing_docs)]

mod audit;
mod auth_method;
mod avatar;
mod catalog;
mod device;
mod error;
mod id;
mod password;
mod profile;
mod signing_key;
mod task;
mod user;

pub use audit::AuditEventType;
pub use auth_method::AuthMethod;
pub use avatar::{Avatar, AvatarError, AvatarFormat};
pub use catalog::{
    Category, CategoryId, CategoryName, Description, Price, Product, ProductId, ProductName,
    ProductOrder,
};
pub use device::{Device, DeviceId};
pub use error::DomainError;
pub use password::{Password, PasswordHash, PasswordPolicy};
pub use profile::{NotificationPreferences, PhoneNumber, check_birth_date};
pub use signing_key::{KeyState, KeyTimeline, RotationPolicy, RotationStep};
pub use task::{NewTask, Task, TaskId, TaskKind, TaskStatus, summarise};
pub use user::{Email, Permission, PublicProfile, Role, SecurityStamp, User, UserId, Username};
