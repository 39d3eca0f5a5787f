//! An idle `loa run` over 10,000 scheduled posts, against the sandbox on 127.0.0.1: resident
//! memory once idle and after 100 file events, CPU over a quiet minute, and how long a file
//! dropped with `publish_at: now` takes to reach the (simulated) platform.
//!
//! Run: `cargo bench --bench service_scale` (builds the release binary; prints a table; nothing
//! is asserted here: see BENCHMARKS.md). `LOA_BENCH_FAST=1` runs a small version (1,000 posts,
//! 10 s idle, 5 drops) to check the bench itself; `LOA_BENCH_BIN=path` runs another build of
//! loa; `LOA_BENCH_POSTS=N` another number of posts. `LOA_BENCH_AT=program` runs
//! `program PHASE PID` at each reading (`idle`, `events`, `end`), for a heap profile of each
//! phase (e.g. `LOA_BENCH_BIN` a script that `exec`s loa under `valgrind --tool=massif`, and
//! `LOA_BENCH_AT` one that calls `vgdb --pid=PID detailed_snapshot FILE`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use loa::clock::Clock;
use loa::sandbox::{self, Faults, Sandbox};

/// Resident memory now and at its highest (kB), from `/proc/PID/status`.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resident memory by kind (kB): anonymous (the heap) and file-backed (the binary's pages).
fn split(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    format!(
        "anonymous {:.1} MB, file-backed {:.1} MB",
        field("RssAnon:"),
        field("RssFile:")
    )
}

/// Runs `LOA_BENCH_AT` (if set) with the phase's name and the service's pid.
fn at(phase: &str, pid: u32) {
    if let Some(program) = std::env::var_os("LOA_BENCH_AT") {
        let _ = Command::new(program)
            .arg(phase)
            .arg(pid.to_string())
            .status();
    }
}

/// CPU time the process used so far (user + system), from `/proc/PID/stat`.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Voluntary + involuntary context switches of each thread, by thread id: how often it woke.
fn switches(pid: u32) -> std::collections::BTreeMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Default::default();
    };
    tasks
        .flatten()
        .map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            let n = status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
            (t.file_name().to_string_lossy().into_owned(), n)
        })
        .collect()
}

/// Context switches between two readings, over the threads alive at the second (a thread that
/// ended in between, such as an idle blocking-pool thread, counts for nothing).
fn wakeups(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> u64 {
    after
        .iter()
        .map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}

/// Waits until the process has used no CPU for two seconds (or 10 minutes pass).
async fn until_idle(pid: u32) -> Duration {
    let start = Instant::now();
    let mut last = cpu(pid);
    let mut quiet = 0;
    while quiet < 4 && start.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = cpu(pid);
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
    }
    start.elapsed()
}

fn scheduled(i: usize) -> String {
    format!(
        "---\ntitle: \"Thông báo số {i}\"\npublish_at: 2030-01-{:02} 08:00\ntags: [thong-bao]\n---\n\
         Ủy ban nhân dân xã thông báo lịch tiếp công dân số {i}. Bà con mang theo căn cước.\n\n\
         - Địa điểm: hội trường xã\n- Thời gian: sáng thứ Ba\n",
        1 + i % 28
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn start(bin: &str, config: &Path) -> Child {
    Command::new(bin)
        .args(["run", "--config"])
        .arg(config)
        .env("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)
        .env("LOA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the release binary runs")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let fast = std::env::var_os("LOA_BENCH_FAST").is_some();
    let (posts_n, idle_s, drops) = if fast {
        (1_000, 10, 5)
    } else {
        (10_000, 60, 20)
    };
    let posts_n = std::env::var("LOA_BENCH_POSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(posts_n);
    let sb = Sandbox::new(Clock::system(), Faults::default());
    let (addr, server) = sandbox::serve(sb.clone(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    for i in 0..posts_n {
        std::fs::write(posts.join(format!("{i:05}-thong-bao.md")), scheduled(i)).unwrap();
    }
    let config = dir.path().join("loa.toml");
    std::fs::write(
        &config,
        format!(
            "language = \"en\"\nposts_dir = \"{}\"\ndata_dir = \"{}\"\n[facebook]\npage_id = \"{}\"\ngraph_url = \"http://{addr}\"\n",
            posts.display(),
            dir.path().join("data").display(),
            sandbox::PAGE_ID
        ),
    )
    .unwrap();
    // `LOA_BENCH_BIN` measures another build (an older loa, for a before/after figure).
    let bin = std::env::var("LOA_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_loa").into());
    let mut child = start(&bin, &config);
    let pid = child.id();

    let startup = until_idle(pid).await;
    let (rss_idle, hwm_start) = memory(pid);
    eprintln!("rss_idle: {}", split(pid));
    at("idle", pid);

    // 100 file events: 50 new scheduled posts, 50 edits.
    for i in 0..50 {
        let path = posts.join(format!("new-{i:03}.md"));
        std::fs::write(path, scheduled(posts_n + i)).unwrap();
        let edit = posts.join(format!("{:05}-thong-bao.md", i * 7));
        std::fs::write(edit, format!("{}\nĐã sửa.\n", scheduled(i * 7))).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    until_idle(pid).await;
    let (rss_events, hwm_events) = memory(pid);
    eprintln!("rss_events: {}", split(pid));
    at("events", pid);

    let (cpu0, wake0) = (cpu(pid), switches(pid));
    tokio::time::sleep(Duration::from_secs(idle_s)).await;
    let (idle_cpu, idle_wakeups) = (cpu(pid) - cpu0, wakeups(&wake0, &switches(pid)));

    // Files dropped with `publish_at: now`: written, then renamed in (as an editor saves).
    let mut took = Vec::new();
    for i in 0..drops {
        let seen = sb.received.lock().unwrap().len();
        let tmp = dir.path().join("draft.tmp");
        std::fs::write(
            &tmp,
            format!("---\ntitle: \"Tin khẩn {i}\"\npublish_at: now\n---\nNội dung khẩn {i}.\n"),
        )
        .unwrap();
        std::fs::rename(&tmp, posts.join(format!("khan-{i:02}.md"))).unwrap();
        let dropped: DateTime<Utc> = Utc::now();
        let waited = Instant::now();
        let arrived = loop {
            let hit = sb.received.lock().unwrap()[seen..]
                .iter()
                .find(|r| r.method == "POST" && r.path.ends_with("/feed"))
                .map(|r| r.at);
            if let Some(at) = hit {
                break Some(at);
            }
            if waited.elapsed() > Duration::from_secs(30) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        match arrived {
            Some(at) => took.push((at - dropped).to_std().unwrap_or_default()),
            None => eprintln!("drop {i}: nothing reached the sandbox in 30 s"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (rss_end, hwm_end) = memory(pid);
    eprintln!("rss_end: {}", split(pid));
    at("end", pid);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    server.abort();

    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| figure | value |");
    println!("|---|---|");
    println!("| posts | {posts_n} |");
    println!("| start-up until idle | {:.1} s |", startup.as_secs_f64());
    println!(
        "| resident, idle after start (peak) | {:.1} MB ({:.1} MB) |",
        rss_idle as f64 / 1024.0,
        hwm_start as f64 / 1024.0
    );
    println!(
        "| resident after 100 file events (peak) | {:.1} MB ({:.1} MB) |",
        rss_events as f64 / 1024.0,
        hwm_events as f64 / 1024.0
    );
    println!(
        "| CPU over {idle_s} s idle | {:.3} s, {idle_wakeups} context switches |",
        idle_cpu.as_secs_f64()
    );
    if !took.is_empty() {
        println!(
            "| drop → request at the sandbox ({} files) | p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms |",
            took.len(),
            ms(percentile(&took, 0.5)),
            ms(percentile(&took, 0.95)),
            ms(*took.last().unwrap())
        );
    }
    println!(
        "| resident at the end (peak) | {:.1} MB ({:.1} MB) |",
        rss_end as f64 / 1024.0,
        hwm_end as f64 / 1024.0
    );
}
