//! `cargo run -p gatehouse-example-embedded`

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let gatehouse = gatehouse_memory::Embedded::builder().build()?;
    let user = gatehouse_example_embedded::sign_up_and_in(
        &gatehouse,
        "ada@example.com",
        "correct horse battery staple",
    )
    .await?;
    println!("registered, logged in and authenticated user {user}");
    Ok(())
}
