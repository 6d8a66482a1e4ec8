//! Users as clients see them (shared by every route that returns a user), and the bodies of
//! the user directory and its administration.

use gatehouse_application::{CreateUserInput, NewUserInput, UserPatch, UserView};
use gatehouse_domain::{PublicProfile, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::constraints;

/// A user as clients see it. Never carries the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    /// `admin` or `user`.
    #[schema(example = "user")]
    pub role: &'static str,
    /// Permission names, e.g. `can_create_user`.
    pub permissions: Vec<&'static str>,
    pub is_active: bool,
    pub is_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// E.164, e.g. `+442079460958`.
    pub phone_number: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<String>,
    pub notification_preferences: NotificationPreferencesBody,
    pub avatar_url: Option<String>,
    /// Credit balance (changed only through the credit ledger).
    pub credits: i64,
}

/// Which optional emails the user wants.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationPreferencesBody {
    pub security_emails: bool,
    pub product_emails: bool,
}

impl From<&User> for UserResponse {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role.as_str(),
            permissions: user.permissions.iter().map(|p| p.as_str()).collect(),
            is_active: user.is_active,
            is_verified: user.is_verified,
            created_at: user.created_at,
            phone_number: user.phone_number.as_ref().map(|p| p.as_str().to_owned()),
            birth_date: user
                .birth_date
                .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())),
            notification_preferences: NotificationPreferencesBody {
                security_emails: user.notifications.security_emails,
                product_emails: user.notifications.product_emails,
            },
            avatar_url: user.avatar_url.clone(),
            credits: user.credits,
        }
    }
}

/// What any signed-in user may see of another: exactly these five keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicUserResponse {
    pub id: Uuid,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub avatar_url: Option<String>,
}

impl From<&PublicProfile> for PublicUserResponse {
    fn from(profile: &PublicProfile) -> Self {
        Self {
            id: profile.id.as_uuid(),
            username: profile.username.as_str().to_owned(),
            first_name: profile.first_name.clone(),
            last_name: profile.last_name.clone(),
            avatar_url: profile.avatar_url.clone(),
        }
    }
}

/// A user as the caller may see them: the full object for themself, admins and holders of
/// `can_view_users`; the public profile for everyone else.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum UserViewResponse {
    Full(UserResponse),
    Public(PublicUserResponse),
}

impl From<&UserView> for UserViewResponse {
    fn from(view: &UserView) -> Self {
        match view {
            UserView::Full(user) => Self::Full(user.into()),
            UserView::Public(profile) => Self::Public(profile.into()),
        }
    }
}

/// `{"user": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserResponse,
}

/// `?email=`.
#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    /// Matched ignoring case.
    pub email: String,
}

// By hand: a derived parameter with `schema_with` loses its `required` and its description.
impl utoipa::IntoParams for LookupQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        vec![
            ParameterBuilder::new()
                .name("email")
                .parameter_in(ParameterIn::Query)
                .required(utoipa::openapi::Required::True)
                .description(Some("Matched ignoring case."))
                .schema(Some(constraints::email()))
                .build(),
        ]
    }
}

/// `POST /users`. `role` and `permissions` only from admins.
#[derive(Deserialize, ToSchema)]
pub struct CreateUserRequest {
    #[schema(schema_with = constraints::email)]
    pub email: String,
    #[schema(schema_with = constraints::username)]
    pub username: String,
    #[schema(schema_with = constraints::password)]
    pub password: String,
    /// Defaults to `password`.
    pub password_confirm: Option<String>,
    #[schema(schema_with = constraints::optional_person_name)]
    pub first_name: Option<String>,
    #[schema(schema_with = constraints::optional_person_name)]
    pub last_name: Option<String>,
    #[schema(schema_with = constraints::optional_role)]
    pub role: Option<String>,
    #[schema(schema_with = constraints::optional_permissions)]
    pub permissions: Option<Vec<String>>,
}

/// `PATCH /users/{id}`: role, permissions and is_active only; anything else is 400.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchRequest {
    #[schema(schema_with = constraints::optional_role)]
    pub role: Option<String>,
    #[schema(schema_with = constraints::optional_permissions)]
    pub permissions: Option<Vec<String>>,
    pub is_active: Option<bool>,
}

impl From<CreateUserRequest> for CreateUserInput {
    fn from(body: CreateUserRequest) -> Self {
        let confirm = body
            .password_confirm
            .unwrap_or_else(|| body.password.clone());
        Self {
            account: NewUserInput {
                email: body.email,
                username: body.username,
                password: body.password.into(),
                password_confirm: confirm.into(),
                first_name: body.first_name,
                last_name: body.last_name,
            },
            role: body.role,
            permissions: body.permissions,
        }
    }
}

impl From<UserPatchRequest> for UserPatch {
    fn from(body: UserPatchRequest) -> Self {
        Self {
            role: body.role,
            permissions: body.permissions,
            is_active: body.is_active,
            ..UserPatch::default()
        }
    }
}
