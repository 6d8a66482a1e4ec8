//! Registration, login and token bodies.

use gatehouse_application::{
    ClientInfo, LoginIdentifier, LoginInput, LoginOutcome, NewUserInput, TokenPair,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::ApiError;
use crate::constraints;
use crate::routes::mfa::dto::MfaRequiredResponse;
use crate::routes::users::dto::UserResponse;

/// Registration form.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(schema_with = constraints::email)]
    pub email: String,
    #[schema(schema_with = constraints::username)]
    pub username: String,
    #[schema(schema_with = constraints::password)]
    pub password: String,
    pub password_confirm: String,
    #[schema(schema_with = constraints::optional_person_name)]
    pub first_name: Option<String>,
    #[schema(schema_with = constraints::optional_person_name)]
    pub last_name: Option<String>,
}

/// Login: the password and one of `email` or `username`.
#[derive(Deserialize)]
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

impl From<LoginOutcome> for LoginResponse {
    fn from(outcome: LoginOutcome) -> Self {
        Self {
            tokens: outcome.tokens.into(),
            user: UserResponse::from(&outcome.user),
        }
    }
}

/// What a password login answers: the tokens, or the second factor to ask for.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginReply {
    /// Logged in.
    LoggedIn(Box<LoginResponse>),
    /// The password was right; a second factor must follow.
    SecondFactor(MfaRequiredResponse),
}

/// The refresh token, when not sent in `X-Refresh-Token`.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// `POST /auth/refresh` as a body (the alternative is `X-Refresh-Token` and no body): read
/// through [`RefreshRequest`], which a missing token turns into a 400.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RefreshBody {
    #[schema(schema_with = constraints::token)]
    pub refresh_token: String,
}

impl From<RegisterRequest> for NewUserInput {
    fn from(body: RegisterRequest) -> Self {
        Self {
            email: body.email,
            username: body.username,
            password: body.password.into(),
            password_confirm: body.password_confirm.into(),
            first_name: body.first_name,
            last_name: body.last_name,
        }
    }
}

impl LoginRequest {
    /// The login attempt by `client`: the password and one of email or username.
    pub fn into_input(self, client: ClientInfo) -> Result<LoginInput, ApiError> {
        let blank = |field: &str| field.trim().is_empty();
        let identifier = match (self.email, self.username) {
            // An empty email beside a username is a form's untouched input, not the
            // identifier (an empty one alone is still tried, and fails as a wrong one).
            (Some(email), Some(username)) if blank(&email) && !blank(&username) => {
                LoginIdentifier::Username(username)
            }
            (Some(email), _) => LoginIdentifier::Email(email),
            (None, Some(username)) => LoginIdentifier::Username(username),
            (None, None) => {
                return Err(ApiError::validation(
                    "email",
                    "email or username is required",
                ));
            }
        };
        Ok(LoginInput {
            identifier,
            password: self.password.into(),
            client,
        })
    }
}

/// The schema says what [`LoginRequest::into_input`] needs: the password, and an email or a
/// username (a string, not `null`).
impl PartialSchema for LoginRequest {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let text_or_null =
            || ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
        let given = |field: &str| {
            ObjectBuilder::new()
                .property(field, text())
                .required(field)
        };
        let fields = ObjectBuilder::new()
            .description(Some("Login: the password and one of `email` or `username`."))
            .property("email", text_or_null())
            .property("username", text_or_null())
            .property("password", text())
            .required("password");
        let identifier = AnyOfBuilder::new()
            .item(given("email"))
            .item(given("username"));
        RefOr::T(Schema::AllOf(
            AllOfBuilder::new()
                .item(fields)
                .item(Schema::AnyOf(identifier.build()))
                .build(),
        ))
    }
}

impl ToSchema for LoginRequest {}
