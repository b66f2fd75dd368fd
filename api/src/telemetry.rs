//! Logging, set up once per process: human-readable text or one JSON object per line, filtered
//! by `RUST_LOG` (default `info`). The server logs to stdout; one-shot commands log to stderr,
//! keeping stdout for the JSON they print.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub fn init(format: LogFormat, to_stdout: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let writer = BoxMakeWriter::new(move || -> Box<dyn std::io::Write> {
        if to_stdout { Box::new(std::io::stdout()) } else { Box::new(std::io::stderr()) }
    });
    let terminal = if to_stdout { std::io::stdout().is_terminal() } else { std::io::stderr().is_terminal() };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(terminal);
    // A second initialisation (tests starting several servers) keeps the first one.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
