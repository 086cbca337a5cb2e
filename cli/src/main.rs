//! `iotsec`: build, validate and send Azure IoT security messages, and run a local IoT Hub.
//!
//! ```text
//! iotsec demo                                  a local hub, a device, the guide's message, end to end
//! iotsec validate [--json] FILE...|-           every schema violation, with pointer and rule
//! iotsec send [-c CS] [--ca FILE] ... FILE|-   send a (security) message, or N copies with --count
//! iotsec hub [--data-dir DIR] [--port N] ...   run the local hub
//! iotsec hub add-device [--data-dir DIR] ID    register a device, print its connection string
//! iotsec hub stats [--data-dir DIR]            what the hub stored
//! ```
//!
//! Exit codes: 0 success; 1 the work failed (an invalid message, a refused connection, a send
//! that failed); 2 a usage error (bad arguments, a file that cannot be read, a bad connection
//! string). Errors are one line on standard error; keys and SAS signatures never appear.

mod demo;
mod hub_cmd;
mod input;
mod send;
mod validate;

use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

/// A failure: what to print, and the exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// Exit code 2: the command line or its input is unusable.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError { code: 2, message: message.to_string() }
    }

    /// Exit code 1: the work failed.
    pub fn failed(message: impl std::fmt::Display) -> Self {
        CliError { code: 1, message: message.to_string() }
    }

    /// Exit code 1 with nothing more to print (the command printed its own report).
    pub fn silent(code: u8) -> Self {
        CliError { code, message: String::new() }
    }

    /// An iotsec error: bad input is a usage error, everything else a failure.
    pub fn from_core(e: &iotsec::Error) -> Self {
        use iotsec::ErrorKind::*;
        match e.kind() {
            InvalidArgument | InvalidConnectionString | InvalidCredential => CliError::usage(e.message()),
            _ => CliError::failed(e.message()),
        }
    }
}

impl From<iotsec_hub::HubError> for CliError {
    fn from(e: iotsec_hub::HubError) -> Self {
        match e {
            iotsec_hub::HubError::InvalidArgument(m) => CliError::usage(m),
            other => CliError::failed(other),
        }
    }
}

pub(crate) type CliResult = Result<(), CliError>;

#[derive(Parser)]
#[command(
    name = "iotsec",
    version,
    about = "Build, validate and send Azure IoT security messages (Defender for IoT), and run a local IoT Hub",
    propagate_version = true
)]
struct Cli {
    /// More log output on standard error (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local hub, send the guide's security message through it, and show what it saw.
    Demo,
    /// Check security messages against the published schema.
    Validate(validate::ValidateArgs),
    /// Send a file as a security message (or as plain telemetry) to IoT Hub or a local hub.
    Send(send::SendArgs),
    /// Run a local IoT Hub on 127.0.0.1, or manage one (add-device, stats).
    Hub(hub_cmd::HubArgs),
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("iotsec: internal error: {what}{place} (please report this)");
    }));

    let cli = Cli::parse();
    let hub_run = matches!(&cli.command, Command::Hub(h) if h.runs_hub());
    init_logging(cli.verbose, hub_run);
    let result = match cli.command {
        Command::Demo => demo::run(),
        Command::Validate(args) => validate::run(args),
        Command::Send(args) => send::run(args),
        Command::Hub(args) => hub_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("iotsec: {}", e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

/// Logs go to standard error. The running hub logs what it does (connections, refusals and
/// why) at info level; the other commands only warn.
fn init_logging(verbose: u8, hub_run: bool) {
    use tracing_subscriber::EnvFilter;
    // The commands report a failed connection themselves; the client's own warnings about it
    // would say the same twice. Its schema warnings (`--validation warn`) stay.
    let default = match (verbose, hub_run) {
        (0, true) => "warn,iotsec_hub=info",
        (0, false) => "warn,iotsec::client::session=error",
        (1, _) => "info,iotsec=debug,iotsec_hub=debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
