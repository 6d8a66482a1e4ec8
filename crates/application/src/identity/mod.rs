//! Identity: the ways in and back in. Sign-up, login, refresh, cookie sessions and logout
//! ([`auth`]); email verification and password reset ([`recovery`]). These flows compose
//! every capability below them and own no port of their own. Nothing depends on `identity`.

pub mod auth;
pub mod recovery;

pub use auth::{
    AuthParts, AuthService, CurrentSession, LoginIdentifier, LoginInput, LoginOutcome, SignIn,
};
pub use recovery::{AccountRecovery, PasswordResetInput, RecoveryParts};
