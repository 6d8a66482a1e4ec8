//! A service of its own that embeds Gatehouse: registers a user, logs in and checks the
//! access token, with the domain and application crates on in-memory adapters.

use gatehouse_application::{ClientInfo, LoginIdentifier, LoginInput, NewUserInput};
use gatehouse_memory::Embedded;

/// Signs `email` up with `password`, logs in and returns the user id the access token
/// stands for.
pub async fn sign_up_and_in(
    gatehouse: &Embedded,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let client = ClientInfo::default();
    let user = gatehouse
        .auth
        .register(
            NewUserInput {
                email: email.into(),
                username: email.split('@').next().unwrap_or(email).into(),
                password: password.to_owned().into(),
                password_confirm: password.to_owned().into(),
                first_name: None,
                last_name: None,
            },
            &client,
        )
        .await?;
    let login = LoginInput {
        identifier: LoginIdentifier::Email(email.into()),
        password: password.to_owned().into(),
        client,
    };
    let pair = gatehouse.auth.login(login).await?.tokens;
    let principal = gatehouse.tokens.authenticate(&pair.access_token).await?;
    anyhow::ensure!(principal.user_id == user.id, "the token names someone else");
    Ok(principal.user_id.to_string())
}
