//! `loa demo` and `loa sandbox`: no config needed, nothing leaves 127.0.0.1.

use std::io::{self, Write};
use std::time::Duration;

use crate::demo::{self, DemoOptions};
use crate::engine::Clock;
use crate::i18n::tr;
use crate::sandbox::{self, Faults, Sandbox};

/// Runs the demo; exit 0 when every sample post was published exactly once. `log_file`: keep the
/// log in `demo-data/demo.log`, out of the story on the terminal.
pub fn demo(log_file: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut buffer = StdoutLines;
    use std::io::IsTerminal;
    let options = DemoOptions {
        log_file,
        // A new user on a terminal gets time to look at the dashboard; scripts and tests don't
        // wait.
        wait_for_enter: io::stdin().is_terminal() && io::stdout().is_terminal(),
        ..DemoOptions::default()
    };
    let result = runtime.block_on(demo::run(&options, &mut buffer));
    let _ = out.flush();
    match result {
        Ok(r) if r.duplicates == 0 && r.published == r.deliveries && r.deliveries > 0 => Ok(0),
        Ok(r) => {
            writeln!(
                err,
                "{}",
                tr(
                    format!("the demo did not finish cleanly: {r:?}"),
                    format!("demo chưa hoàn tất: {r:?}")
                )
            )?;
            Ok(1)
        }
        Err(e) => {
            writeln!(err, "{}: {e:#}", tr("error", "lỗi"))?;
            Ok(1)
        }
    }
}

/// Progress goes straight to the terminal, line by line, as it happens.
struct StdoutLines;

impl Write for StdoutLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(buf)?;
        stdout.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

/// Options of `loa sandbox`.
pub struct SandboxOptions {
    /// Port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// Share of publishing requests that fail.
    pub fail_rate: f64,
    /// Extra wait before each answer.
    pub latency: Duration,
    /// Share of creates whose answer is lost.
    pub ghost_rate: f64,
    /// Zalo access token life.
    pub token_ttl: Option<Duration>,
    /// Share of answers held back after the platform acted.
    pub slow_rate: f64,
    /// How long a slow answer is held (default: longer than loa waits).
    pub slow_for: Option<Duration>,
    /// Share of calls refused by an injected rate limit.
    pub rate_limit_rate: f64,
    /// Zalo access tokens stop working after this many calls each.
    pub token_calls: Option<u32>,
    /// Seed of the fault dice.
    pub seed: Option<u64>,
}

/// Serves the sandbox until Ctrl+C.
pub fn sandbox(options: SandboxOptions, out: &mut dyn Write) -> io::Result<u8> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let faults = Faults {
            fail_rate: options.fail_rate,
            latency: options.latency,
            ghost_rate: options.ghost_rate,
            token_ttl: options.token_ttl,
            slow_rate: options.slow_rate,
            slow_for: options.slow_for,
            rate_limit_rate: options.rate_limit_rate,
            token_calls: options.token_calls,
            seed: options.seed,
        };
        let sb = Sandbox::new(Clock::system(), faults);
        let (addr, server) = sandbox::serve(sb, options.port).await?;
        writeln!(
            out,
            "{}",
            tr(
                format!(
                    "Sandbox (simulated Facebook Graph API and Zalo OA) on http://{addr}\n\nPoint a config at it:\n  [facebook] page_id = \"{page}\", graph_url = \"http://{addr}\"\n  [zalo] app_id = \"{app}\", openapi_url = \"http://{addr}\", oauth_url = \"http://{addr}\"\nand run loa with:\n  LOA_FACEBOOK_PAGE_TOKEN={pt} LOA_ZALO_APP_SECRET={secret} LOA_ZALO_REFRESH_TOKEN={rt}\n\nStop with Ctrl+C.",
                    page = sandbox::PAGE_ID,
                    app = sandbox::ZALO_APP.0,
                    pt = sandbox::PAGE_TOKEN,
                    secret = sandbox::ZALO_APP.1,
                    rt = sandbox::ZALO_FIRST_REFRESH_TOKEN,
                ),
                format!(
                    "Sandbox (Facebook Graph API và Zalo OA mô phỏng) tại http://{addr}\n\nTrỏ cấu hình tới đây:\n  [facebook] page_id = \"{page}\", graph_url = \"http://{addr}\"\n  [zalo] app_id = \"{app}\", openapi_url = \"http://{addr}\", oauth_url = \"http://{addr}\"\nvà chạy loa với:\n  LOA_FACEBOOK_PAGE_TOKEN={pt} LOA_ZALO_APP_SECRET={secret} LOA_ZALO_REFRESH_TOKEN={rt}\n\nDừng bằng Ctrl+C.",
                    page = sandbox::PAGE_ID,
                    app = sandbox::ZALO_APP.0,
                    pt = sandbox::PAGE_TOKEN,
                    secret = sandbox::ZALO_APP.1,
                    rt = sandbox::ZALO_FIRST_REFRESH_TOKEN,
                ),
            )
        )?;
        out.flush()?;
        let _ = tokio::signal::ctrl_c().await;
        server.abort();
        Ok(0)
    })
}
