//! Another service embedding Gatehouse: it registers a user, logs in and checks the access
//! token, on the domain and application crates with the in-memory adapters.

use gatehouse_application::{ClientInfo, LoginIdentifier, LoginInput, NewUserInput, SignIn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let gatehouse = gatehouse_memory::Embedded::builder().build()?;
    let (email, password) = ("ada@example.com", "correct horse battery staple");
    let secret = || password.to_owned().into();
    let input = NewUserInput {
        email: email.into(),
        username: "ada".into(),
        password: secret(),
        password_confirm: secret(),
        first_name: None,
        last_name: None,
    };
    let user = gatehouse
        .auth
        .register(input, &ClientInfo::default())
        .await?;
    let login = LoginInput {
        identifier: LoginIdentifier::Email(email.into()),
        password: secret(),
        client: ClientInfo::default(),
    };
    let SignIn::Complete(outcome) = gatehouse.auth.login(login).await? else {
        anyhow::bail!("a new account has no second factor to ask for");
    };
    let tokens = outcome.tokens;
    let principal = gatehouse.tokens.authenticate(&tokens.access_token).await?;
    anyhow::ensure!(principal.user_id == user.id, "the token names someone else");
    println!("user {} signed up, logged in and authenticated", user.id);
    Ok(())
}
