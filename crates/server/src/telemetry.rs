//! Logging setup.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is not set: our own `info`, the database driver quiet.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

/// Installs the global subscriber: `RUST_LOG` filter (default [`DEFAULT_FILTER`]), text or
/// JSON lines on standard output. Library `log` records are forwarded too.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer(format, std::io::stdout))
        .try_init();
}

/// One log line per event, in `format`, to `writer`. Inside a request every line carries
/// the request's span, and with it the request id: in text as a `request{request_id=..}`
/// prefix, in JSON as the first entry of `spans`.
pub fn layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        // Colour only for a person at a terminal; never escape codes in a log file.
        LogFormat::Text => lines.with_ansi(std::io::stdout().is_terminal()).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    }
}
