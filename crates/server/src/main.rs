use std::io::{IsTerminal, Write};

use anyhow::Context;
use clap::{Parser, Subcommand};
use gatehouse::startup::{Application, Components};
use gatehouse::{Config, telemetry};
use gatehouse_application::NewUserInput;
use secrecy::SecretString;

/// Gatehouse: user management and authentication.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Run a background job worker (as many processes, on as many machines, as needed).
    Worker,
    /// Insert N regular users fast (benchmarks, demos); they share one printed password.
    SeedUsers {
        /// How many.
        count: u64,
        /// Rows per insert statement.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Exit 0 if this machine's server (or, with --worker, job worker) answers
    /// `/health/live`: a container health check for images without curl.
    Healthcheck {
        /// Check the worker's address (`GATEHOUSE_WORKER_ADDR`) instead of the server's.
        #[arg(long)]
        worker: bool,
    },
    /// Show or rotate the keys that sign access tokens.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Copy a Django project's users (with their password hashes) from its database.
    ImportDjango {
        /// The Django database: `postgres://...` or `sqlite://path`.
        #[arg(long = "from")]
        from: String,
        /// The user table (a custom user model's, such as `accounts_user`).
        #[arg(long, default_value = "auth_user")]
        table: String,
        /// Read and decide everything, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create an admin account.
    CreateSuperuser {
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        username: Option<String>,
        /// Prompted for (without echo) when missing and a terminal is attached.
        #[arg(long, env = "GATEHOUSE_SUPERUSER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Every published key with its state (next, current, retired).
    List,
    /// Publish the next key now; it starts signing once every cache has had time to learn
    /// it, and the current key stays published until its last token has expired.
    Rotate {
        /// A leak: the new key signs at once (verifiers that cached the old key set may
        /// refuse its tokens until they fetch the new one).
        #[arg(long)]
        now: bool,
    },
    /// A leak: remove a retired key now; every token it signed is refused.
    Remove {
        /// The key's id, as `keys list` shows it.
        kid: String,
    },
    /// Seal every key again under GATEHOUSE_MASTER_KEY (a master-key rotation, with the old
    /// key in GATEHOUSE_MASTER_KEY_PREVIOUS).
    Reseal,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.log_format);
    if let Err(error) = run(cli, config).await {
        tracing::error!(error = format!("{error:#}"), "gatehouse stopped");
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => {
            let app = Application::build(&config, !no_migrate).await?;
            tracing::info!(addr = %app.addr(), "gatehouse listening");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            Components::build(&config, true).await?;
            tracing::info!("migrations applied");
        }
        Command::Worker => {
            let components = Components::build(&config, false).await?;
            gatehouse::startup::run_worker(&config, components, shutdown_signal()).await?;
        }
        Command::Healthcheck { worker } => {
            let addr = if worker {
                config.server.worker_addr
            } else {
                config.server.addr
            };
            gatehouse::healthcheck::probe(addr, std::time::Duration::from_secs(3))?;
        }
        Command::SeedUsers { count, batch } => {
            let components = Components::build(&config, true).await?;
            let seeded = gatehouse::seed::seed_users(&components, count, batch).await?;
            println!(
                "seeded {} users seed-{}-<n>@example.test (n = 0..{}), password: {}",
                seeded.count, seeded.run, seeded.count, seeded.password
            );
        }
        Command::ImportDjango {
            from,
            table,
            dry_run,
        } => {
            let components = Components::build(&config, true).await?;
            let summary =
                gatehouse::import_django::import_django(&components, &from, &table, dry_run)
                    .await?;
            println!("{}", gatehouse::import_django::report(&summary, dry_run));
        }
        Command::Keys { action } => {
            let components = Components::build(&config, true).await?;
            let keys = &components.signing_keys;
            let signing = || {
                anyhow::ensure!(components.key_pairs, gatehouse::keys::NO_KEYS);
                Ok(())
            };
            let report = match action {
                KeysCommand::List => gatehouse::keys::list(keys).await?,
                KeysCommand::Reseal => {
                    gatehouse::keys::reseal(keys, &components.state.factors).await?
                }
                KeysCommand::Rotate { now: false } => {
                    signing()?;
                    gatehouse::keys::rotate(keys).await?
                }
                KeysCommand::Rotate { now: true } => {
                    signing()?;
                    gatehouse::keys::rotate_immediately(keys).await?
                }
                KeysCommand::Remove { kid } => {
                    signing()?;
                    gatehouse::keys::remove(keys, &kid).await?
                }
            };
            print!("{report}");
        }
        Command::CreateSuperuser {
            email,
            username,
            password,
        } => {
            let components = Components::build(&config, true).await?;
            let email = value_or_prompt(email, "Email")?;
            let username = value_or_prompt(username, "Username")?;
            let password: SecretString = match password {
                Some(p) => p.into(),
                None => prompt_password()?,
            };
            let input = NewUserInput {
                email,
                username,
                password: password.clone(),
                password_confirm: password,
                first_name: None,
                last_name: None,
            };
            let user = components
                .state
                .users
                .create_superuser(input)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            println!(
                "created admin {} <{}> ({})",
                user.username, user.email, user.id
            );
        }
    }
    Ok(())
}

fn describe(error: &gatehouse_application::AppError) -> String {
    match error {
        gatehouse_application::AppError::Validation(errors) => errors
            .fields()
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join("; ")))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// SIGINT or SIGTERM (what an orchestrator sends to stop a worker).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

fn value_or_prompt(value: Option<String>, label: &str) -> anyhow::Result<String> {
    if let Some(value) = value {
        return Ok(value);
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "--{} is required",
        label.to_lowercase()
    );
    print!("{label}: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn prompt_password() -> anyhow::Result<SecretString> {
    anyhow::ensure!(std::io::stdin().is_terminal(), "--password is required");
    let password = rpassword::prompt_password("Password: ").context("cannot read the password")?;
    Ok(password.into())
}
