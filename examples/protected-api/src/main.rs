//! `gatehouse-example-protected-api`: see the library for the routes and the settings.

use gatehouse_example_protected_api::{Settings, router};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let settings = Settings::from_env()?;
    let verifier = settings.verifier().await?;
    // Not fatal: the keys are fetched again on the first request.
    if let Err(error) = verifier.load_keys().await {
        tracing::warn!(%error, "Gatehouse's keys are not available yet");
    }
    let listener = tokio::net::TcpListener::bind(&settings.bind).await?;
    tracing::info!(
        bind = %settings.bind,
        revocation = settings.redis_url.is_some(),
        "protected API listening"
    );
    axum::serve(listener, router(verifier))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
