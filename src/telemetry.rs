//! Logging: human-readable on a terminal, JSON lines otherwise; `ROLEGATE_LOG` filters
//! (default `info`). Every line logged while serving a request carries its request id
//! through the `request` span.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call does nothing.
pub fn init() {
    let filter = EnvFilter::try_from_env("ROLEGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let installed = if std::io::stdout().is_terminal() {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
    // Already installed (tests start several servers in one process): keep the first.
    drop(installed);
}
