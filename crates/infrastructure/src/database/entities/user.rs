//! The `users` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub permissions: String,
    pub is_active: bool,
    pub is_verified: bool,
    pub phone_number: Option<String>,
    pub birth_date: Option<TimeDate>,
    pub security_emails: bool,
    pub product_emails: bool,
    pub avatar_url: Option<String>,
    pub credits: i64,
    pub security_stamp: i64,
    pub revoked_below: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
