//! The `scimitar` command: serve, check, token, demo, testbed.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// mimalloc: per-thread free lists without arena locks, which glibc's malloc takes on every
/// buffer freed by another thread than the one that allocated it (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "scimitar",
    version,
    about = "A SCIM 2.0 gateway for Entra ID provisioning"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the tenants of a config file.
    Serve {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file and compile every adapter script, without serving.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Show the provisioning log: what happened to each SCIM operation, newest first.
    Log {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
        /// An age (90s, 30m, 1h, 7d) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_parser = ["success", "failure"])]
        outcome: Option<String>,
        /// A user name, group display name or SCIM id.
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = scimitar::provisioning::LogFormat::Table)]
        format: scimitar::provisioning::LogFormat,
    },
    /// Make a new bearer token for a tenant: the token for Entra, the hash for the config.
    Token,
    /// Tools for writing an adapter.
    Adapter {
        #[command(subcommand)]
        command: AdapterCommand,
    },
    /// Run the gateway with bundled testbeds and a generated config, for trying it out.
    #[cfg(feature = "demo")]
    Demo {
        /// Port of the SCIM listener (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Port of the admin listener (/metrics, /healthz; 0 picks a free one).
        #[arg(long, default_value_t = 9090)]
        admin_port: u16,
        /// Where the generated config, scripts, secrets and SQLite store go
        /// (default: a new folder in the system's temp dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run one target application's testbed on its own.
    #[cfg(feature = "demo")]
    Testbed {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(scimitar::demo::testbed_names()))]
        target: String,
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(Subcommand)]
enum AdapterCommand {
    /// Write a commented skeleton adapter NAME.rhai, a tenant config NAME.toml and
    /// NAME-checklist.md, the decisions to make; refuses to overwrite a file.
    New {
        /// The adapter's and tenant's name (lower-case letters, digits and '-').
        name: String,
        /// Where the files go (made if needed).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Replay Entra's provisioning behaviour against a tenant: one line per check, a summary,
    /// exit status 1 when a check fails.
    Test {
        /// The config holding the tenant; the tenant alone is served on loopback for the run,
        /// with a token made for it.
        #[arg(long, short, required_unless_present = "url")]
        config: Option<PathBuf>,
        /// The tenant of --config to test.
        #[arg(long, required_unless_present = "url")]
        tenant: Option<String>,
        /// Instead, the SCIM base URL of a tenant a gateway already serves; its bearer token
        /// is read from the environment variable SCIMITAR_TEST_TOKEN.
        #[arg(long, conflicts_with_all = ["config", "tenant"])]
        url: Option<String>,
        /// Run the checks that create, change and delete test users and a test group
        /// (`scimitar-test-<random>…`) in the target; without it only the read-only ones run.
        #[arg(long)]
        write: bool,
        /// An app role the test users carry (`roles[primary eq "True"].value`), for a target
        /// whose adapter requires one, as Entra sends it when the application has app roles.
        #[arg(long)]
        role: Option<String>,
        /// What the adapter does with `active: false`: keep the user disabled (what Entra
        /// expects), or delete it (a target that cannot keep disabled users).
        #[arg(long, value_enum, default_value_t)]
        deactivation: scimitar::kit::Deactivation,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    scimitar::logging::init(matches!(cli.log_format, LogFormat::Json));
    let result = run(cli.command);
    scimitar::logging::flush();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The message and its causes, for whoever reads the terminal; never a backtrace
            // (anyhow's `Debug` prints one whenever RUST_BACKTRACE is set).
            eprintln!("Error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { config } => {
            let loaded = scimitar::config::Config::load(&config)?;
            scimitar::server::serve(&config, &loaded)
        }
        Command::Check { config } => {
            let loaded = scimitar::config::Config::load(&config)?;
            let report = scimitar::server::check(&loaded)?;
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            eprintln!("{}: OK, {} tenant(s)", config.display(), report.tenants);
            Ok(())
        }
        Command::Log {
            config,
            tenant,
            since,
            outcome,
            user,
            limit,
            format,
        } => {
            let config = scimitar::config::Config::load(&config)?;
            let since = since
                .as_deref()
                .map(scimitar::provisioning::parse_since)
                .transpose()?;
            let filter = scimitar::store::LogFilter {
                tenant,
                since,
                outcome,
                user,
                limit,
            };
            scimitar::provisioning::print(&config.store.url, &filter, format)
        }
        Command::Token => {
            let (token, hash) = scimitar::auth::generate_token();
            println!("token: {token}\nhash:  {hash}");
            eprintln!("Give the token to Entra as its Secret Token (or Client Secret); put the hash in the tenant's auth.token_hashes (or auth.client_credentials.client_secret_hashes).");
            Ok(())
        }
        Command::Adapter {
            command: AdapterCommand::New { name, dir },
        } => {
            let name = scimitar::kit::skeleton::AdapterName::parse(&name)?;
            let written = scimitar::kit::skeleton::new(&name, &dir)?;
            for path in written.files() {
                println!("wrote {}", path.display());
            }
            println!(
                "next: answer {checklist}, fill in the adapter, then against a staging target:\n  \
                 {env}=… scimitar check --config {config}\n  \
                 {env}=… scimitar adapter test --config {config} --tenant {name} --write",
                checklist = written.checklist.display(),
                config = written.config.display(),
                env = written.token_env,
                name = name.as_str(),
            );
            Ok(())
        }
        Command::Adapter {
            command:
                AdapterCommand::Test {
                    config,
                    tenant,
                    url,
                    write,
                    role,
                    deactivation,
                },
        } => {
            let target = match (url, config, tenant) {
                (Some(url), _, _) => scimitar::kit::TestTarget::Url {
                    url,
                    token: std::env::var("SCIMITAR_TEST_TOKEN").map_err(|_| {
                        anyhow::anyhow!(
                            "--url needs the tenant's bearer token in SCIMITAR_TEST_TOKEN"
                        )
                    })?,
                },
                (None, Some(path), Some(tenant)) => {
                    scimitar::kit::TestTarget::Config { path, tenant }
                }
                _ => anyhow::bail!("give --config and --tenant, or --url"),
            };
            let summary = scimitar::kit::test(
                target,
                &scimitar::kit::Options {
                    write,
                    role,
                    deactivation,
                },
            )?;
            if !summary.is_success() {
                anyhow::bail!("{} check(s) failed", summary.failed);
            }
            Ok(())
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            port,
            admin_port,
            data_dir,
        } => {
            let options = scimitar::demo::DemoOptions {
                port,
                admin_port,
                data_dir,
            };
            scimitar::demo::run(options).map_err(|e| e.context("demo failed"))
        }
        #[cfg(feature = "demo")]
        Command::Testbed { target, port } => scimitar::demo::run_testbed(&target, port),
    }
}
