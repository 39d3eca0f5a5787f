//! `loa demo`: the whole publishing job, offline, in under a minute.
//!
//! It starts the sandbox (simulated Facebook Page and Zalo OA) on 127.0.0.1, makes a working
//! folder `./demo-data`, and runs the real engine and the real clients over the sample posts in
//! `./posts` on a compressed clock — two seconds stand for a day — with a few faults switched on,
//! so retries, reconciliation and token rotation are seen at work. Nothing leaves this machine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::config::Config;
use crate::engine::{Clock, Engine};
use crate::i18n::tr;
use crate::metrics::Scope;
use crate::metrics::collect::{Silent, collect};
use crate::sandbox::{self, Faults, Sandbox};
use crate::store::State;

/// Seconds of the demo's clock per real second: two real seconds stand for a day.
pub const SPEED: f64 = 43_200.0;
/// Where the demo's clock starts: Monday 30 November 2026, 08:00 in Vietnam, the eve of the
/// sample posts' first slot.
pub const DEMO_START: &str = "2026-11-30T08:00:00+07:00";

/// Days of the demo's clock spent collecting figures after the last post went out.
const FOLLOW_UP_DAYS: i64 = 3;
/// The metric the sandbox retires partway through, as Facebook retired metrics in 2025.
const RETIRED_METRIC: &str = "post_clicks";
/// When, in days after the demo's start.
const RETIRE_AFTER_DAYS: i64 = 8;

/// The demo gives up after this long (real time).
pub const TIME_LIMIT: Duration = Duration::from_secs(90);

/// What the demo needs to know.
pub struct DemoOptions {
    /// The sample posts (read only).
    pub posts_dir: PathBuf,
    /// The working folder, emptied and recreated.
    pub work_dir: PathBuf,
    /// Share of publishing requests that fail, and of answers lost after the work was done.
    pub fail_rate: f64,
    /// Share of creates whose answer is lost.
    pub ghost_rate: f64,
    /// Write the log to `work_dir/demo.log` (the story on the terminal stays clean).
    pub log_file: bool,
    /// Serve the dashboard while the demo runs (on 127.0.0.1:8640, or any free port).
    pub dashboard: bool,
    /// After the summary, keep the dashboard up until Enter is pressed (on a terminal).
    pub wait_for_enter: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            posts_dir: PathBuf::from("posts"),
            work_dir: PathBuf::from("demo-data"),
            fail_rate: 0.2,
            ghost_rate: 0.2,
            log_file: false,
            dashboard: true,
            wait_for_enter: false,
        }
    }
}

/// How the demo ended.
#[derive(Debug, PartialEq, Eq)]
pub struct DemoResult {
    /// Deliveries published (or sent to followers as asked).
    pub published: usize,
    /// Deliveries in all.
    pub deliveries: usize,
    /// Posts on a platform more than once (must be zero).
    pub duplicates: usize,
}

/// Runs the demo, printing its progress to `out`.
pub async fn run(
    options: &DemoOptions,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<DemoResult> {
    use anyhow::Context;
    if !options.posts_dir.is_dir() {
        anyhow::bail!(
            "{}",
            tr(
                format!(
                    "no sample posts at {}: run the demo from loa's folder",
                    options.posts_dir.display()
                ),
                format!(
                    "không thấy bài mẫu ở {}: hãy chạy demo trong thư mục của loa",
                    options.posts_dir.display()
                ),
            )
        );
    }
    if options.work_dir.exists() {
        std::fs::remove_dir_all(&options.work_dir)
            .with_context(|| format!("cannot reset {}", options.work_dir.display()))?;
    }
    let data_dir = options.work_dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let log = options.work_dir.join("demo.log");
    if options.log_file {
        log_to(&log)?;
    }

    // The story starts the Monday before the sample posts' first slot, whatever today is: the
    // demo is a simulation, and the samples carry fixed dates.
    let start = DateTime::parse_from_rfc3339(DEMO_START)
        .map(|t| t.with_timezone(&Utc))
        // Only the clock's starting point (DEMO_START is a constant that parses): not a reading.
        .unwrap_or_else(|_| Utc::now());
    let clock = Clock::compressed(start, SPEED);
    let faults = Faults {
        fail_rate: options.fail_rate,
        ghost_rate: options.ghost_rate,
        latency: Duration::from_millis(20),
        ..Faults::default()
    };
    let sandbox = Sandbox::new(clock.clone(), faults);
    let (addr, server) = sandbox::serve(sandbox.clone(), 0)
        .await
        .context("cannot start the sandbox")?;
    let url = format!("http://{addr}");

    let config = demo_config(&url, &options.posts_dir, &data_dir)?;
    crate::i18n::set_language(config.language);
    let channels = demo_channels(&config, &clock)?;
    let engine = Arc::new(Engine::new(
        crate::engine::open_store(&data_dir)?,
        config.clone(),
        channels.publishers,
        clock.clone(),
    ));
    let collectors = channels.collectors;
    let dashboard = if options.dashboard {
        Some(demo_dashboard(&engine).await?)
    } else {
        None
    };

    if let Some(started) = &dashboard {
        writeln!(out, "{}", crate::web::address_line(started.address))?;
    }
    writeln!(
        out,
        "{}",
        tr(
            format!(
                "loa demo — simulated Facebook Page and Zalo OA at {url}; two seconds stand for a day; some requests fail or lose their answer on purpose."
            ),
            format!(
                "loa demo — Trang Facebook và Zalo OA mô phỏng tại {url}; hai giây tương ứng một ngày; một số yêu cầu cố ý bị lỗi hoặc mất phản hồi."
            ),
        )
    )?;
    engine.recover().await?;
    let report = engine.sync().await?;
    writeln!(
        out,
        "{}",
        tr(
            format!(
                "{} sample posts read from {}.\n",
                report.added.len(),
                options.posts_dir.display()
            ),
            format!(
                "Đã đọc {} bài mẫu từ {}.\n",
                report.added.len(),
                options.posts_dir.display()
            )
        )
    )?;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(engine.clone().run(async {
        let _ = stopped.await;
    }));
    // Reach and engagement are collected beside the publishing, as `loa run` does, on the
    // demo's clock; partway through, the sandbox retires a metric as Facebook did in 2025.
    let (metrics_stop, mut metrics_stopped) = tokio::sync::watch::channel(false);
    let (retired_tx, mut retired_rx) = tokio::sync::mpsc::unbounded_channel::<(Channel, String)>();
    let metrics = {
        let (engine, sandbox, collectors) = (engine.clone(), sandbox.clone(), collectors.clone());
        let retire_at = start + chrono::Duration::days(RETIRE_AFTER_DAYS);
        tokio::spawn(async move {
            let mut retire_pending = true;
            loop {
                if retire_pending && engine.clock().now() >= retire_at {
                    sandbox.retire_metric(RETIRED_METRIC);
                    retire_pending = false;
                }
                if let Ok(summary) = collect(&engine, &collectors, Scope::Due, &Silent).await {
                    for r in summary.retired {
                        let _ = retired_tx.send(r);
                    }
                }
                // Real time: a round every quarter second is about three hours of the demo.
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = metrics_stopped.changed() => break,
                }
            }
        })
    };
    // The time limit and the screen's refresh are for the person watching: real time.
    let began = Instant::now();
    let mut seen: BTreeMap<(String, Channel), String> = BTreeMap::new();
    let mut finished_at: Option<DateTime<Utc>> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rows = snapshot(&engine).await?;
        for row in &rows {
            let key = (row.file.clone(), row.channel);
            if seen.get(&key) != Some(&row.label) {
                writeln!(
                    out,
                    "{}  {:<9} {:<16} {}{}",
                    local(clock.now(), &config),
                    row.channel.name(),
                    row.label,
                    row.title,
                    row.detail
                )?;
                seen.insert(key, row.label.clone());
            }
        }
        while let Ok((channel, metric)) = retired_rx.try_recv() {
            writeln!(
                out,
                "{}  {:<9} {}",
                local(clock.now(), &config),
                channel.name(),
                retired_line(channel, &metric)
            )?;
        }
        let done = !rows.is_empty() && rows.iter().all(|r| r.finished);
        if done && finished_at.is_none() {
            finished_at = Some(clock.now());
            writeln!(
                out,
                "{}  {}",
                local(clock.now(), &config),
                tr(
                    format!(
                        "everything is out; loa keeps collecting views and reactions for {FOLLOW_UP_DAYS} more days"
                    ),
                    format!(
                        "đã đăng xong; loa tiếp tục thu thập lượt xem, tương tác thêm {FOLLOW_UP_DAYS} ngày"
                    ),
                )
            )?;
        }
        let followed_up =
            finished_at.is_some_and(|t| clock.now() >= t + chrono::Duration::days(FOLLOW_UP_DAYS));
        if followed_up || began.elapsed() > TIME_LIMIT {
            break;
        }
    }
    let _ = stop.send(());
    running.await??;
    let story_end = clock.now();
    let _ = metrics_stop.send(true);
    metrics.await?;
    // A last round, so the summary shows the figures as they are now.
    let last = collect(&engine, &collectors, Scope::Due, &Silent).await?;
    let late = std::iter::from_fn(|| retired_rx.try_recv().ok()).chain(last.retired);
    for (channel, metric) in late {
        writeln!(
            out,
            "{}  {:<9} {}",
            local(clock.now(), &config),
            channel.name(),
            retired_line(channel, &metric)
        )?;
    }

    let status = engine
        .with_store({
            let config = config.clone();
            let now = clock.now();
            move |s| crate::status::build(s, &config, now, &[])
        })
        .await?;
    writeln!(out, "\n{}", crate::status::text(&status, config.timezone))?;
    let result = summarize(&engine, &sandbox, out).await?;
    engagement_summary(&engine, &config, &options.work_dir, out).await?;
    if options.log_file {
        writeln!(
            out,
            "{}",
            tr(
                format!("The detailed log: {}", log.display()),
                format!("Nhật ký chi tiết: {}", log.display())
            )
        )?;
    }
    if let Some(started) = dashboard {
        // The story is over; its clock runs on. The pages show the week the story ended in.
        started.dashboard.freeze(story_end);
        let address = started.address;
        if options.wait_for_enter {
            writeln!(
                out,
                "\n{}",
                tr(
                    format!(
                        "The dashboard stays open at {}: look at the week, the posts and the figures. Press Enter to stop.",
                        crate::web::url_of(address)
                    ),
                    format!(
                        "Bảng điều khiển vẫn mở tại {}: hãy xem lịch tuần, các bài và số liệu. Nhấn Enter để dừng.",
                        crate::web::url_of(address)
                    ),
                )
            )?;
            out.flush()?;
            let _ = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)
            })
            .await;
        }
        started.task.abort();
        crate::web::forget_address(&data_dir);
    }
    server.abort();
    Ok(result)
}

/// The demo's dashboard: on 127.0.0.1:8640 as the example config has it, or on any free port
/// when that one is taken (another loa, another demo).
async fn demo_dashboard(engine: &Arc<Engine>) -> anyhow::Result<crate::web::Started> {
    let mut last = None;
    for port in [8640, 0] {
        let web = crate::config::WebConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        };
        match crate::web::start(engine.clone(), &web, None).await {
            Ok(started) => return Ok(started),
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::anyhow!(
        "{}",
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

fn demo_config(url: &str, posts_dir: &Path, data_dir: &Path) -> anyhow::Result<Config> {
    let text = format!(
        "timezone = \"Asia/Ho_Chi_Minh\"\nlanguage = \"vi\"\n[schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\nmax_lateness = \"2d\"\n\
         [retry]\nbase_delay = \"30s\"\nmax_delay = \"1h\"\nmax_attempts = 8\n\
         [facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\nnative_schedule = true\n\
         [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\nauthor = \"UBND xã Thanh Kỳ\"\n\
         default_cover_url = \"https://example.gov.vn/logo.jpg\"\nbroadcast = false\n\
         [media]\npublic_base_url = \"https://example.gov.vn/loa-media/\"\n\
         [targets]\nfacebook = \"2/week\"\nzalo = \"2/week\"\n",
        page = sandbox::PAGE_ID,
        app = sandbox::ZALO_APP.0,
    );
    let mut config = Config::parse(&text).map_err(|e| anyhow::anyhow!("demo config: {e:?}"))?;
    config.posts_dir = crate::paths::absolute(posts_dir);
    config.data_dir = crate::paths::absolute(data_dir);
    Ok(config)
}

/// The story line for a metric a platform retired.
fn retired_line(channel: Channel, metric: &str) -> String {
    let name = crate::report::format::channel(channel);
    tr(
        format!(
            "{name} retired the metric {metric}; loa asks for it no more and carries on with the others"
        ),
        format!(
            "{name} đã bỏ chỉ số {metric}; loa không hỏi chỉ số đó nữa và tiếp tục với các số liệu khác"
        ),
    )
}

/// The engagement summary as the officer reads it: the table, and the HTML page written to
/// `work_dir/report.html`, whose path is printed.
async fn engagement_summary(
    engine: &Engine,
    config: &Config,
    work_dir: &Path,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let now = engine.clock().now();
    // The demo's weeks: from its first Monday to its last day.
    let since = DateTime::parse_from_rfc3339(DEMO_START)
        .ok()
        .map(|t| t.with_timezone(&config.timezone).date_naive());
    let options = crate::report::Options {
        since,
        ..crate::report::Options::default()
    };
    let report = {
        let config = config.clone();
        engine
            .with_store(move |s| crate::report::load(s, &config, &options, now, None))
            .await?
    };
    writeln!(out, "\n{}", crate::report::table(&report))?;
    let page = work_dir.join(crate::app::report::REPORT_FILE);
    crate::app::report::write_atomically(&page, crate::report::html(&report).as_bytes())?;
    writeln!(
        out,
        "{}",
        tr(
            format!(
                "The engagement summary as a page (charts, prints on A4): {}",
                page.display()
            ),
            format!(
                "Báo cáo tương tác dạng trang web (có biểu đồ, in được khổ A4): {}",
                page.display()
            ),
        )
    )?;
    Ok(())
}

/// The real clients, built by the registry as `loa run` builds them, with the sandbox's secrets
/// instead of the environment's (the Zalo refresh token seeds the new data folder's store).
fn demo_channels(config: &Config, clock: &Clock) -> anyhow::Result<crate::channels::Channels> {
    let secrets = crate::channels::Secrets::given([
        (
            crate::facebook::spec::PAGE_TOKEN_ENV,
            sandbox::PAGE_TOKEN.to_string(),
        ),
        (
            crate::zalo::spec::APP_SECRET_ENV,
            sandbox::ZALO_APP.1.to_string(),
        ),
        (
            crate::zalo::oauth::REFRESH_TOKEN_ENV,
            sandbox::ZALO_FIRST_REFRESH_TOKEN.to_string(),
        ),
    ]);
    let channels = crate::channels::build(config, clock, &secrets);
    if let Some(u) = channels.unavailable.first() {
        anyhow::bail!("{}: {}", u.channel, u.reason);
    }
    Ok(channels)
}

/// One delivery as the demo shows it.
struct Row {
    file: String,
    title: String,
    channel: Channel,
    label: String,
    detail: String,
    finished: bool,
}

async fn snapshot(engine: &Engine) -> anyhow::Result<Vec<Row>> {
    Ok(engine
        .with_store(|s| {
            let posts = s.all_posts()?;
            Ok(s.deliveries()?
                .into_iter()
                .filter_map(|d| {
                    let post = posts.iter().find(|p| p.id == d.post_id)?;
                    let held = d.platform_scheduled && d.state == State::Scheduled;
                    let label = if held {
                        tr("held by Facebook", "Facebook giữ hẹn giờ").to_string()
                    } else {
                        crate::status::state_label(d.state).to_string()
                    };
                    let detail = match (&d.remote_id, &d.last_error) {
                        (Some(id), _) if d.state == State::Published || held => format!("  [{id}]"),
                        (_, Some(e)) if d.state != State::Scheduled => format!("  ({e})"),
                        _ => String::new(),
                    };
                    let finished = matches!(
                        d.state,
                        State::Published
                            | State::Failed
                            | State::Missed
                            | State::Cancelled
                            | State::Unconfirmed
                    );
                    Some(Row {
                        file: post.path.clone(),
                        title: post.title.clone(),
                        channel: d.channel,
                        label,
                        detail,
                        finished,
                    })
                })
                .collect())
        })
        .await?)
}

/// A story line's time: weekday, date and time, so the week the story is in is never in doubt.
fn local(t: DateTime<Utc>, config: &Config) -> String {
    crate::status::human_time(&t.to_rfc3339(), config.timezone)
}

/// Sends this process's log to `path` (the engine's and the clients' lines, in English with UTC
/// times, are for whoever debugs; the officer reads the story).
fn log_to(path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    // Already set (a second demo in one process, a test): that log stays where it is.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,tokio_cron_scheduler=warn",
        ))
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Ok(())
}

async fn summarize(
    engine: &Engine,
    sandbox: &Sandbox,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<DemoResult> {
    let deliveries = engine.with_store(|s| s.deliveries()).await?;
    let published = deliveries
        .iter()
        .filter(|d| d.state == State::Published)
        .count();
    let fb_posts = sandbox
        .facebook
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .posts();
    let articles = sandbox
        .zalo
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .articles();
    let mut per_text: BTreeMap<String, usize> = BTreeMap::new();
    for p in fb_posts.iter().filter(|p| !p.deleted) {
        *per_text
            .entry(format!(
                "facebook:{}",
                p.message.lines().next().unwrap_or_default()
            ))
            .or_default() += 1;
    }
    for a in articles.iter().filter(|a| !a.removed) {
        *per_text.entry(format!("zalo:{}", a.title)).or_default() += 1;
    }
    let duplicates = per_text.values().filter(|n| **n > 1).count();
    let received = sandbox
        .received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let failures = received
        .iter()
        .filter(|r| r.answer.contains("500") || r.answer.contains("lost"))
        .count();
    writeln!(
        out,
        "{}",
        tr("What the platforms received", "Các nền tảng đã nhận")
    )?;
    for p in fb_posts.iter().filter(|p| !p.deleted) {
        writeln!(
            out,
            "  facebook  {}  {}",
            p.id,
            p.message.lines().next().unwrap_or_default()
        )?;
    }
    for a in articles.iter().filter(|a| !a.removed) {
        writeln!(out, "  zalo      {}  {}", a.id, a.title)?;
    }
    writeln!(
        out,
        "{}",
        tr(
            format!(
                "{} requests to the sandbox; {failures} answered with a failure or lost on purpose; {} of {} deliveries published; {duplicates} published twice.",
                received.len(),
                published,
                deliveries.len()
            ),
            format!(
                "{} yêu cầu tới sandbox; {failures} cố ý bị lỗi hoặc mất phản hồi; {} / {} lượt đăng thành công; {duplicates} bài bị đăng trùng.",
                received.len(),
                published,
                deliveries.len()
            ),
        )
    )?;
    Ok(DemoResult {
        published,
        deliveries: deliveries.len(),
        duplicates,
    })
}
