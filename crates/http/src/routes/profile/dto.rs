//! The caller's profile: patch and password-change bodies.

use gatehouse_application::{PasswordChange, ProfilePatch};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::constraints;

/// `PATCH /users/me`: only these fields; `role`, `permissions`, `is_verified`, `is_active`,
/// `email`, `username` and `credits` are refused with 400. `null` clears `phone_number` and
/// `birth_date`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatchRequest {
    #[schema(schema_with = constraints::optional_person_name)]
    pub first_name: Option<String>,
    #[schema(schema_with = constraints::optional_person_name)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<Option<String>>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::numbers::object")]
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
    #[schema(schema_with = constraints::password)]
    pub new_password: String,
    pub new_password_confirm: String,
}

impl TryFrom<ProfilePatchRequest> for ProfilePatch {
    type Error = ApiError;

    fn try_from(body: ProfilePatchRequest) -> Result<Self, ApiError> {
        let notifications = body.notification_preferences.unwrap_or_default();
        Ok(Self {
            first_name: body.first_name,
            last_name: body.last_name,
            phone_number: body.phone_number,
            birth_date: match body.birth_date {
                Some(Some(raw)) => Some(Some(parse_date("birth_date", &raw)?)),
                Some(None) => Some(None),
                None => None,
            },
            security_emails: notifications.security_emails,
            product_emails: notifications.product_emails,
        })
    }
}

impl From<ChangePasswordRequest> for PasswordChange {
    fn from(body: ChangePasswordRequest) -> Self {
        Self {
            current_password: body.current_password.into(),
            new_password: body.new_password.into(),
            new_password_confirm: body.new_password_confirm.into(),
        }
    }
}

/// `PUT /users/me/avatar`: the image in field `file` (other fields are read and ignored).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AvatarUpload {
    /// A PNG, JPEG or WebP image.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}
