//! The `rolegate` command line.

mod mappings;
mod policy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config, IdpProtocol, PublicUrl};
use crate::server::{Server, shutdown_signal};
use crate::telemetry;

/// rolegate: a federation identity broker.
#[derive(Debug, Parser)]
#[command(name = "rolegate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve with a configuration file.
    Serve {
        /// The TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Run the demo: in-memory stores, sample mappings and a built-in identity provider.
    Demo {
        /// The address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The origin browsers use, when it is not `http://` plus the listen address.
        #[arg(long, value_parser = parse_public_url)]
        public_url: Option<PublicUrl>,
        /// Serve the demo on an address other machines can reach (anyone who reaches it can
        /// sign in as an administrator).
        #[arg(long)]
        allow_remote: bool,
    },
    /// Validate a configuration file and what it points to; exit non-zero on the first problem.
    Check {
        /// The TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Mapping tools: check and test the rules.
    #[command(subcommand)]
    Mappings(mappings::MappingsCommand),
    /// IAM policy tools: simulate and validate.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn parse_public_url(text: &str) -> Result<PublicUrl, String> {
    PublicUrl::parse(text)
}

/// Parses the command line and runs the command; returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Serve { config } => serve(&config),
        Command::Demo {
            listen,
            public_url,
            allow_remote,
        } => demo(listen, public_url, allow_remote),
        Command::Policy(command) => policy::run(command),
        Command::Mappings(command) => mappings::run(command),
    }
}

fn check(path: &Path) -> ExitCode {
    match Config::load(path, &config::process_env) {
        Ok(config) => {
            let mappings = match crate::mapping::Mappings::load(&config.directory, &config.mappings)
            {
                Ok(mappings) => mappings,
                Err(problems) => {
                    for problem in problems {
                        eprintln!("error: {problem}");
                    }
                    return ExitCode::FAILURE;
                }
            };
            println!("{}: ok", path.display());
            println!("  listen      {}", config.listen);
            println!("  public_url  {}", config.public_url.origin());
            println!("  store       {}", config.store.describe());
            println!("  directory   {}", config.directory.display());
            println!("  mappings    {}", config.mappings.display());
            println!(
                "              {} accounts, {} roles, {} rules",
                mappings.directory.accounts().len(),
                mappings.directory.roles().count(),
                mappings.rules.rules().len()
            );
            for idp in &config.idps {
                let kind = match idp.protocol {
                    IdpProtocol::Oidc(_) => "oidc",
                    IdpProtocol::Saml(_) => "saml",
                };
                println!(
                    "  idp         {} ({kind}, \"{}\")",
                    idp.name, idp.display_name
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(path: &Path) -> ExitCode {
    telemetry::init();
    let config = match Config::load(path, &config::process_env) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    run_server(async move { Server::start(config).await })
}

fn demo(listen: SocketAddr, public_url: Option<PublicUrl>, allow_remote: bool) -> ExitCode {
    if !listen.ip().is_loopback() && !allow_remote {
        eprintln!(
            "error: the demo on `{listen}` could be reached from other machines, and anyone who \
             reaches it can sign in as an administrator: listen on 127.0.0.1, or pass \
             --allow-remote"
        );
        return ExitCode::FAILURE;
    }
    telemetry::init();
    run_server(async move { Server::start_demo(listen, public_url).await })
}

fn run_server(start: impl Future<Output = anyhow::Result<Server>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let server = start.await?;
        let addr = server.local_addr()?;
        tracing::info!(%addr, public_url = %server.public_url().origin(), "rolegate listening");
        server.run_until(shutdown_signal()).await?;
        anyhow::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
