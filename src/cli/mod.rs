//! The command line: argument parsing, exit codes, and one file per command. The short commands'
//! work (the store, the queue, the status model, connecting accounts) is in [`crate::app`]; their
//! files here parse, call it and print.
//!
//! Exit codes (CONTRACT.md): 0 success, 1 the job failed (errors found), 2 bad usage or config.

mod alerts;
mod auth;
mod check;
mod demo;
mod metrics;
mod preview;
mod queue;
mod report;
mod run;
mod status;
mod unpublish;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::channel::Channel;
use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};
use crate::i18n::{Language, set_language, tr};

/// loa: publish the commune's news to Zalo OA and Facebook from a folder of Markdown posts.
#[derive(Debug, Parser)]
#[command(name = "loa", version, about, long_about = None)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, env = "LOA_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Log format: `text` for people, `json` for log collectors. `LOA_LOG=debug` shows more.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// loa's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and every post (or the given files and folders), printing every problem.
    Check {
        /// Post files or folders; default: the config's posts_dir.
        paths: Vec<PathBuf>,
    },
    /// Show what each enabled channel would receive for one post. Sends nothing.
    Preview {
        /// The post file.
        file: PathBuf,
        /// `text` for reading, `json` for the exact request payloads.
        #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
        format: PreviewFormat,
        /// Show what would be sent if the post went out at this time (`15/12/2026 07:00`),
        /// instead of its own time or slot.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// The service: watch the posts folder, schedule, publish, retry. Stops on Ctrl+C / SIGTERM.
    Run {
        /// One pass (sync, one attempt at every due delivery), then exit: for cron or timers.
        #[arg(long)]
        once: bool,
    },
    /// Every post and its deliveries, channel health, next free slots.
    Status {
        /// JSON for scripts (shape in CONTRACT.md).
        #[arg(long)]
        json: bool,
    },
    /// The engagement summary: reach and engagement per channel, period, post and tag; the
    /// plan's targets; what needs you.
    Report {
        /// First day (`2026-11-01` or `01/11/2026`); default: the Monday three weeks before
        /// this week's.
        #[arg(long)]
        since: Option<String>,
        /// Last day, included; default: today.
        #[arg(long)]
        until: Option<String>,
        /// Group periods by ISO week (Monday first, the default) or calendar month; with `csv`,
        /// gives the table of periods instead of the posts.
        #[arg(long, value_enum)]
        by: Option<ReportBy>,
        /// `table` for the terminal, `csv` for Excel, `json` for scripts, `html` for a page with
        /// charts.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Collect reach and engagement now for the published posts whose collection is due.
    Metrics {
        /// Every published post still on its platform, due or not.
        #[arg(long)]
        all: bool,
    },
    /// Put failed, missed (and with --force, unconfirmed) deliveries back in the queue.
    Retry {
        /// A post file (posts/x.md) or its id from `loa status`.
        post: String,
        /// Only this channel.
        #[arg(long, value_parser = parse_channel)]
        channel: Option<Channel>,
        /// Also retry unconfirmed deliveries: only after checking the post is not on the platform.
        #[arg(long)]
        force: bool,
    },
    /// Cancel deliveries that are not published yet.
    Cancel {
        /// A post file (posts/x.md) or its id from `loa status`.
        post: String,
        /// Only this channel.
        #[arg(long, value_parser = parse_channel)]
        channel: Option<Channel>,
    },
    /// Delete the published post on the platforms (it is not published again).
    Unpublish {
        /// A post file (posts/x.md) or its id from `loa status`.
        post: String,
        /// Only this channel.
        #[arg(long, value_parser = parse_channel)]
        channel: Option<Channel>,
    },
    /// Run the whole job offline against the built-in simulated platforms (no config needed).
    Demo,
    /// Serve the simulated Zalo OA and Facebook Graph API on 127.0.0.1 for trying loa.
    Sandbox {
        /// Port (0: any free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Share of publishing requests that fail (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        fail_rate: f64,
        /// Extra wait before each answer, e.g. 200ms.
        #[arg(long, value_parser = parse_std_duration, default_value = "0s")]
        latency: std::time::Duration,
        /// Share of creates that succeed but whose answer is lost (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        ghost_rate: f64,
        /// Life of a Zalo access token, e.g. 30s (default 25h).
        #[arg(long, value_parser = parse_std_duration)]
        token_ttl: Option<std::time::Duration>,
        /// Share of answers held back after the platform acted (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        slow_rate: f64,
        /// How long a slow answer is held, e.g. 5s (default 125s, longer than loa waits).
        #[arg(long, value_parser = parse_std_duration)]
        slow_for: Option<std::time::Duration>,
        /// Share of calls refused by the platforms' rate limits (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        rate_limit_rate: f64,
        /// Zalo access tokens stop working after this many calls each.
        #[arg(long)]
        token_calls: Option<u32>,
        /// Seed of the fault dice, to replay a run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Alerts by email and webhook ([alerts] in the config).
    Alerts {
        /// What to do.
        #[command(subcommand)]
        which: AlertsCommand,
    },
    /// Connect a platform account.
    Auth {
        /// Which platform.
        #[command(subcommand)]
        which: AuthCommand,
    },
}

/// `loa alerts …`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert to every configured sink and say, for each, what happened (needs
    /// LOA_SMTP_PASSWORD for an email sink with a username; LOA_WEBHOOK_SECRET signs webhooks).
    Test,
}

/// `loa auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Exchange a Facebook user token for a long-lived one and store the Page token for
    /// facebook.page_id (needs LOA_FACEBOOK_APP_ID and LOA_FACEBOOK_APP_SECRET).
    Facebook {
        /// A user token from the Graph API Explorer; `-` reads it from standard input.
        #[arg(long)]
        user_token: String,
    },
    /// Connect the Zalo OA (OAuth v4; needs LOA_ZALO_APP_SECRET): print the consent link, take
    /// the code from the callback, or seed a refresh token by hand.
    #[command(group(clap::ArgGroup::new("step").required(true).args(["url", "code", "refresh_token"])))]
    Zalo {
        /// Print the consent URL for an OA admin to open (with PKCE).
        #[arg(long, requires = "redirect_uri")]
        url: bool,
        /// The "Official Account Callback Url" set in the Zalo developer console.
        #[arg(long)]
        redirect_uri: Option<String>,
        /// The `code` from the callback URL (valid 10 minutes).
        #[arg(long)]
        code: Option<String>,
        /// The `state` from the callback URL, checked against the consent link's.
        #[arg(long, requires = "code")]
        state: Option<String>,
        /// A refresh token obtained elsewhere (`-` reads it from standard input).
        #[arg(long)]
        refresh_token: Option<String>,
    },
}

fn parse_std_duration(s: &str) -> Result<std::time::Duration, String> {
    if s.trim() == "0" || s.trim() == "0s" {
        return Ok(std::time::Duration::ZERO);
    }
    crate::config::parse_duration(s)
}

fn parse_channel(s: &str) -> Result<Channel, String> {
    Channel::parse(s).ok_or_else(|| format!("unknown channel `{s}` (facebook, zalo)"))
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `loa report --by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    /// ISO weeks, Monday first.
    Week,
    /// Calendar months.
    Month,
}

/// `loa report --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned text for the terminal.
    Table,
    /// UTF-8 with BOM and CRLF, for Excel.
    Csv,
    /// The contract's JSON shape.
    Json,
    /// One self-contained page with charts.
    Html,
}

/// Output of `loa preview`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PreviewFormat {
    /// For people.
    Text,
    /// The request payloads, as JSON.
    Json,
}

/// Runs loa with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; its logs would only clutter it.
    // The demo tells its own story on the terminal and keeps its log in `demo-data/demo.log`;
    // with `LOA_LOG` set, its log goes to the terminal like every other command's.
    let demo_logs_to_file =
        matches!(cli.command, Command::Demo) && std::env::var_os("LOA_LOG").is_none();
    if !demo_logs_to_file {
        init_tracing(cli.log_format, "info,tokio_cron_scheduler=warn");
    }
    // Unlocked handles: each write takes the lock briefly. Holding stderr's lock for the whole
    // run would block every log line written from another thread (the runtime's workers).
    let code = run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}

/// Runs one command, writing its output to `out` and messages to `err`; returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // The demo and the sandbox need no config: they bring their own.
    match cli.command {
        Command::Demo => {
            let log_file = std::env::var_os("LOA_LOG").is_none();
            return demo::demo(log_file, out, err).unwrap_or(1);
        }
        Command::Sandbox {
            port,
            fail_rate,
            latency,
            ghost_rate,
            token_ttl,
            slow_rate,
            slow_for,
            rate_limit_rate,
            token_calls,
            seed,
        } => {
            let options = demo::SandboxOptions {
                port,
                fail_rate,
                latency,
                ghost_rate,
                token_ttl,
                slow_rate,
                slow_for,
                rate_limit_rate,
                token_calls,
                seed,
            };
            return demo::sandbox(options, out).unwrap_or(1);
        }
        _ => {}
    }
    let config = match load_config(&cli.config, err) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Every command that reads the token store refuses a store others can read (`loa run`
    // checks in `run::run`); check and preview never read it.
    let reads_tokens = !matches!(
        cli.command,
        Command::Check { .. }
            | Command::Preview { .. }
            | Command::Run { .. }
            | Command::Alerts { .. }
    );
    if reads_tokens && let Err(code) = run::tokens_private(&config, err) {
        return code;
    }
    let result = match cli.command {
        Command::Check { paths } => check::run(&config, &cli.config, &paths, out, err),
        Command::Preview { file, format, at } => {
            preview::run(&config, &file, format, at.as_deref(), out, err)
        }
        Command::Run { once } => run::run(config, once, err),
        Command::Status { json } => status::run(config, json, out, err),
        Command::Report {
            since,
            until,
            by,
            format,
            out: file,
        } => {
            let asked = report::Asked {
                since,
                until,
                by,
                format,
                file,
            };
            report::run(config, asked, out, err)
        }
        Command::Metrics { all } => metrics::run(config, all, out, err),
        Command::Retry {
            post,
            channel,
            force,
        } => queue::run(
            config,
            queue::Action::Retry { force },
            &post,
            channel,
            out,
            err,
        ),
        Command::Cancel { post, channel } => {
            queue::run(config, queue::Action::Cancel, &post, channel, out, err)
        }
        Command::Demo | Command::Sandbox { .. } => {
            unreachable!("handled before the config is read")
        }
        Command::Unpublish { post, channel } => unpublish::run(config, &post, channel, out, err),
        Command::Alerts {
            which: AlertsCommand::Test,
        } => alerts::test(&config, out, err),
        Command::Auth {
            which: AuthCommand::Facebook { user_token },
        } => auth::facebook(&config, &user_token, out, err),
        Command::Auth {
            which:
                AuthCommand::Zalo {
                    url,
                    redirect_uri,
                    code,
                    state,
                    refresh_token,
                },
        } => {
            use crate::app::connect::ZaloStep;
            let step = match (url, redirect_uri, code, refresh_token) {
                (true, Some(uri), _, _) => ZaloStep::Url(uri),
                (_, _, Some(code), _) => ZaloStep::Code(code, state),
                (_, _, _, Some(token)) => ZaloStep::RefreshToken(token),
                _ => ZaloStep::Url(String::new()),
            };
            auth::zalo(&config, step, out, err)
        }
    };
    // A closed pipe (`loa check | head`) is not loa's failure.
    result.unwrap_or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            0
        } else {
            1
        }
    })
}

/// Loads and validates the config, printing its problems; `Err` holds the exit code.
fn load_config(path: &Path, err: &mut dyn Write) -> Result<Config, u8> {
    // Speak the config's language even about the config's own problems.
    set_language(std::fs::read_to_string(path).map_or(Language::Vi, |t| Config::peek_language(&t)));
    match Config::from_file(path) {
        Ok(config) => {
            set_language(config.language);
            Ok(config)
        }
        Err(ConfigError::Read { path, source }) => {
            let _ = writeln!(
                err,
                "{}: {}: {}",
                crate::paths::display(&path).display(),
                tr("cannot read the config", "không đọc được tệp cấu hình"),
                crate::i18n::io_error(&source),
            );
            if path == Path::new(DEFAULT_CONFIG_PATH) {
                let _ = writeln!(
                    err,
                    "{}",
                    tr(
                        "loa looks for config/loa.toml in the current folder; give another with --config FILE or LOA_CONFIG",
                        "loa tìm config/loa.toml trong thư mục hiện tại; chỉ định tệp khác bằng --config TỆP hoặc LOA_CONFIG",
                    )
                );
            }
            Err(2)
        }
        Err(ConfigError::Invalid(problems)) => {
            for p in problems {
                let p = crate::diagnostic::Problem {
                    path: crate::paths::display(&p.path),
                    ..p
                };
                let _ = writeln!(err, "{p}");
            }
            Err(2)
        }
    }
}

/// A runtime for the async commands: one thread is plenty for a commune's queue, and the store's
/// blocking work has tokio's blocking pool. Before any of its threads starts, malloc's thresholds
/// are fixed (`engine::steady_heap`), so what a blocking thread freed goes back to the system.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    crate::engine::steady_heap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn init_tracing(format: LogFormat, default: &str) {
    use tracing_subscriber::EnvFilter;
    // check/preview print their own results; the service logs what it does.
    let filter = EnvFilter::try_from_env("LOA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
