//! Request and response bodies, with their OpenAPI schemas.

use gatehouse_application::{TokenPair, UserView};
use gatehouse_domain::{PublicProfile, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// Registration form.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "jane@example.com")]
    pub email: String,
    #[schema(example = "jane")]
    pub username: String,
    /// 8 characters to 72 bytes; not common, not all digits, not like the email or username.
    pub password: String,
    pub password_confirm: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Login: the password and one of `email` or `username`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: String,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    #[schema(example = 900)]
    pub expires_in: u64,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
        }
    }
}

/// A successful login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenResponse,
    pub user: UserResponse,
}

/// The refresh token, when not sent in `X-Refresh-Token`.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// One dependency in `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStatus {
    /// `ok` or `unavailable`.
    pub status: &'static str,
}

/// `/health`, `/health/live`, `/health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `unhealthy`.
    pub status: &'static str,
    /// By dependency name (`database`, `cache`).
    #[schema(value_type = Object)]
    pub checks: std::collections::BTreeMap<&'static str, CheckStatus>,
}

/// A new cookie session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub user: UserResponse,
    /// Echo in `X-CSRF-Token` on unsafe requests (also in the `gatehouse_csrf` cookie).
    pub csrf_token: String,
    /// When the session ends if left idle; every request moves it (up to the absolute cap).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// `GET /api/v1/sessions/current`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentSessionResponse {
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResponse>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

/// A device the user signed in from.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    pub id: Uuid,
    pub user_agent: String,
    pub ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// Whether this request comes from it.
    pub current: bool,
}

impl From<gatehouse_application::DeviceView> for DeviceResponse {
    fn from(view: gatehouse_application::DeviceView) -> Self {
        let device = view.device;
        Self {
            id: device.id.as_uuid(),
            user_agent: device.user_agent,
            ip: device.ip,
            first_seen_at: device.first_seen_at,
            last_seen_at: device.last_seen_at,
            current: view.current,
        }
    }
}

/// `{"results": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub results: Vec<DeviceResponse>,
}

/// A page of users, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Full objects or public profiles, as the caller may see each user.
    pub results: Vec<UserViewResponse>,
    /// Opaque cursor to the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Opaque cursor to the previous (newer) page; `null` on the first page.
    pub previous_cursor: Option<String>,
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1 to 100, default 10; more is 400.
    pub limit: Option<u64>,
    /// `next_cursor` or `previous_cursor` of an earlier page.
    pub cursor: Option<String>,
}

/// `?email=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LookupQuery {
    /// Matched ignoring case.
    pub email: String,
}

/// `PATCH /users/me`: only these fields; `role`, `permissions`, `is_verified`, `is_active`,
/// `email`, `username` and `credits` are refused with 400. `null` clears `phone_number` and
/// `birth_date`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatchRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<Option<String>>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<Option<String>>,
    pub notification_preferences: Option<NotificationPreferencesPatch>,
}

/// Either preference may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferencesPatch {
    pub security_emails: Option<bool>,
    pub product_emails: Option<bool>,
}

/// Reads a `YYYY-MM-DD` date.
pub fn parse_date(field: &str, raw: &str) -> Result<time::Date, crate::ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.trim(), format)
        .map_err(|_| crate::ApiError::validation(field, "must be a date as YYYY-MM-DD"))
}

/// A field that is present, possibly `null`: `Some(None)`; absent fields default to `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST /users/me/password`.
#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

/// `POST /users`. `role` and `permissions` only from admins.
#[derive(Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub email: String,
    pub username: String,
    pub password: String,
    /// Defaults to `password`.
    pub password_confirm: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(example = "user")]
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
}

/// `PATCH /users/{id}`: role, permissions and is_active only; anything else is 400.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchRequest {
    #[schema(example = "admin")]
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub is_active: Option<bool>,
}

/// One credit movement.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditEntryResponse {
    pub id: Uuid,
    /// Positive: granted; negative: spent.
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub actor_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<gatehouse_application::ports::CreditEntry> for CreditEntryResponse {
    fn from(entry: gatehouse_application::ports::CreditEntry) -> Self {
        Self {
            id: entry.id,
            amount: entry.amount,
            balance_after: entry.balance_after,
            reason: entry.reason,
            actor_id: entry.actor.map(|a| a.as_uuid()),
            created_at: entry.created_at,
        }
    }
}

/// `GET /users/me/credits`: the balance and the latest 50 entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsResponse {
    pub balance: i64,
    pub entries: Vec<CreditEntryResponse>,
}

/// `POST /users/{id}/credits`: positive grants, negative spends.
#[derive(Deserialize, ToSchema)]
pub struct CreditRequest {
    #[schema(example = 100)]
    pub amount: i64,
    #[schema(example = "welcome bonus")]
    pub reason: String,
}

/// The entry applied and the balance after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditAdjustmentResponse {
    pub balance: i64,
    pub entry: CreditEntryResponse,
}

/// `POST /pre-registrations`.
#[derive(Deserialize, ToSchema)]
pub struct PreRegistrationRequest {
    #[schema(example = "jane@example.com")]
    pub email: String,
}

/// `202 Accepted`, the same whether the address was new or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedResponse {
    #[schema(example = "accepted")]
    pub status: &'static str,
}

/// `?limit=&cursor=&user_id=&type=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditListQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// Only events about this user.
    pub user_id: Option<String>,
    /// Only events of this type, e.g. `login_failed`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// One audit event. `data` never holds a password, token or hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "login_succeeded")]
    pub kind: &'static str,
    pub user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[schema(value_type = Object)]
    pub data: std::collections::BTreeMap<String, String>,
}

impl From<gatehouse_application::ports::AuditEvent> for AuditEventResponse {
    fn from(event: gatehouse_application::ports::AuditEvent) -> Self {
        Self {
            id: event.id,
            kind: event.kind.as_str(),
            user_id: event.user.map(|u| u.as_uuid()),
            actor_id: event.actor.map(|u| u.as_uuid()),
            ip: event.ip,
            user_agent: event.user_agent,
            created_at: event.created_at,
            data: event.data,
        }
    }
}

/// A page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub results: Vec<AuditEventResponse>,
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
}

/// `POST /auth/verify-email`.
#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the emailed link.
    pub token: String,
}

/// `POST /auth/verify-email/resend` and `POST /auth/forgot-password`.
#[derive(Deserialize, ToSchema)]
pub struct EmailRequest {
    #[schema(example = "jane@example.com")]
    pub email: String,
}

/// `POST /auth/reset-password`.
#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the emailed link.
    pub token: String,
    pub password: String,
    pub password_confirm: String,
}

/// `POST /auth/reset-password` succeeded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetPasswordResponse {
    #[schema(example = "password_reset")]
    pub status: &'static str,
}

/// `POST /tasks`: one of the task types, tagged by `type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskRequest {
    /// Adds `x` and `y`; the result is the sum.
    Add { x: f64, y: f64 },
    /// Sleeps `seconds` (1..3600) in one-second steps, stopping early when revoked; the
    /// result is `{"slept_seconds": n}`.
    LongRunning { seconds: u64 },
    /// Summarises `data` (any JSON, at most 1 MiB): `{"counts": {type: n}, "depth": n,
    /// "keys": [sorted top-level keys] | null}`.
    ProcessData {
        #[schema(value_type = Object)]
        data: serde_json::Value,
    },
}

/// `202 Accepted` for a new task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCreated {
    pub id: Uuid,
    #[schema(example = "PENDING")]
    pub status: &'static str,
}

/// A task and how it went.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "add")]
    pub kind: String,
    /// PENDING, STARTED, SUCCESS, FAILURE, RETRY or REVOKED.
    #[schema(example = "SUCCESS")]
    pub status: &'static str,
    #[schema(value_type = Object)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    pub attempts: u32,
}

impl From<gatehouse_domain::Task> for TaskResponse {
    fn from(task: gatehouse_domain::Task) -> Self {
        Self {
            id: task.id.as_uuid(),
            kind: task.kind.to_string(),
            status: task.status.as_str(),
            result: task.result,
            error: task.error,
            created_at: task.created_at,
            started_at: task.started_at,
            finished_at: task.finished_at,
            attempts: task.attempts,
        }
    }
}

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

/// One page of categories, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryPage {
    pub results: Vec<CategoryResponse>,
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
}

/// `POST`, `PUT` (all fields; a missing description is empty) and `PATCH` (the fields to
/// change) of a category. Other fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    /// 1 to 100 characters, unique ignoring case.
    pub name: Option<String>,
    /// At most 5,000 characters.
    pub description: Option<String>,
}

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

/// One page of products in the requested ordering.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub results: Vec<ProductResponse>,
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
}

/// `POST`, `PUT` (all of name, price, category; a missing description is empty) and `PATCH`
/// (the fields to change) of a product. The owner and timestamps are not writable.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// 1 to 200 characters.
    pub name: Option<String>,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// A plain decimal with at most two places, 0 to 999999999999.99: `"19.99"`. A JSON
    /// number is read by its written digits; signs and exponents are refused.
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<serde_json::Value>,
    /// A category id.
    pub category: Option<String>,
}

impl ProductRequest {
    /// The fields, with the price as the text the client wrote.
    pub fn into_fields(self) -> Result<gatehouse_application::ProductFields, crate::ApiError> {
        use serde_json::Value;
        let price = match self.price {
            None => None,
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => {
                return Err(crate::ApiError::validation(
                    "price",
                    "must be a decimal string such as \"19.99\"",
                ));
            }
        };
        Ok(gatehouse_application::ProductFields {
            name: self.name,
            description: self.description,
            price,
            category: self.category,
        })
    }
}

/// `GET /products` filters, ordering and page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProductListQuery {
    /// Only this category (an id).
    pub category: Option<String>,
    /// Text found in the name or description, ignoring case.
    pub search: Option<String>,
    /// Lowest price, e.g. `10.00`.
    pub min_price: Option<String>,
    /// Highest price.
    pub max_price: Option<String>,
    /// `price`, `-price`, `created_at`, `-created_at` (default), `name` or `-name`.
    pub ordering: Option<String>,
    /// 1 to 100, default 10; more is 400.
    pub limit: Option<u64>,
    /// `next_cursor` or `previous_cursor` of an earlier page in the same ordering.
    pub cursor: Option<String>,
}
