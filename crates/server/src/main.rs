//! `portcullis`: the server and its administrative commands.

mod admin;
mod cli;
mod client_ip;
mod completion;
mod config;
mod demo;
mod master_key;
mod metrics;
mod migrate;
mod runtime;
mod serve;

use clap::Parser;
use cli::{Cli, Command, ConfigCommand};
use config::{LogFormat, Overrides, Settings};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The operator may see what clients never do: the detail of internal errors.
            match e.downcast_ref::<portcullis_core::CoreError>() {
                Some(portcullis_core::CoreError::Internal(detail)) => eprintln!("error: {detail}"),
                _ => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config(ConfigCommand::Check { file }) = &cli.command {
        let s = config::check_file(file)?;
        println!(
            "{}: ok (listen {}, database {})",
            file.display(),
            s.listen,
            redact_url(&s.database_url)
        );
        return Ok(());
    }
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    let (settings, warnings) = config::load(
        cli.config.as_deref(),
        &Overrides {
            listen,
            database_url: cli.database.clone(),
        },
    )?;
    let serving = matches!(cli.command, Command::Serve { .. });
    init_logging(&settings, serving);
    for w in warnings {
        tracing::warn!("{w}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(dispatch(cli.command, settings))
}

async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<()> {
    match &command {
        Command::Serve { demo, .. } => return serve::run(settings, *demo).await,
        Command::MigrateStore { from, to } => return migrate::run(&settings, from, to).await,
        _ => {}
    }
    let core = runtime::open_core(&settings, None).await?.core;
    match command {
        Command::Import { file, dry_run } => admin::import(&core, &file, dry_run).await,
        Command::Export { format } => admin::export(&core, format).await,
        Command::User(cmd) => admin::user(&core, cmd).await,
        Command::Session(cmd) => admin::session(&core, cmd).await,
        Command::Key(cmd) => admin::key(&core, cmd).await,
        Command::Profile(cmd) => admin::profile(&core, cmd).await,
        Command::Audit(args) => admin::audit(&core, args).await,
        Command::Outbox(cmd) => admin::outbox(&core, cmd).await,
        Command::Serve { .. } | Command::Config(_) | Command::MigrateStore { .. } => Ok(()),
    }
}

/// Logs go to standard error; commands other than `serve` log warnings only, so their
/// standard output stays clean for scripts.
fn init_logging(settings: &Settings, serving: bool) {
    let default = if serving {
        settings.log_level.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
