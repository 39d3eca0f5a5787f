//! One collection round: which published deliveries are due (the cadence), asking each
//! channel's [`Collector`] in chunks, and keeping what it answers, chunk by chunk, so that a
//! round cut short (a crash, a rate limit) keeps everything answered before.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::cadence;
use super::{Asked, Collector, ItemResult};
use crate::channel::Channel;
use crate::engine::{Engine, EngineError, transitions};
use crate::i18n::tr;
use crate::store::{Health, NewSnapshot};

/// Which deliveries a round asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Those whose next age step is due (the service, `loa run --once`, `loa metrics`).
    Due,
    /// Every published delivery still collected (`loa metrics --all`).
    All,
}

/// How a round went, for the one-line summary and the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Deliveries asked about.
    pub asked: usize,
    /// Snapshots kept.
    pub snapshots: usize,
    /// Posts the platform no longer has (collection stopped).
    pub gone: usize,
    /// Metrics found retired in this round: (channel, platform name).
    pub retired: Vec<(Channel, String)>,
    /// Account snapshots kept.
    pub accounts: usize,
    /// Channels whose round stopped early or was skipped, and why.
    pub stopped: Vec<(Channel, String)>,
}

impl Summary {
    /// The one line the officer reads.
    pub fn line(&self) -> String {
        let mut s = tr(
            format!(
                "metrics: {} snapshot(s) of {} published post(s) kept",
                self.snapshots, self.asked
            ),
            format!(
                "số liệu: đã lưu {} lần đo của {} bài đã đăng",
                self.snapshots, self.asked
            ),
        );
        if self.accounts > 0 {
            s.push_str(&tr(
                format!(", {} follower count(s)", self.accounts),
                format!(", {} lần đếm người theo dõi", self.accounts),
            ));
        }
        if self.gone > 0 {
            s.push_str(&tr(
                format!(", {} post(s) no longer on the platform", self.gone),
                format!(", {} bài không còn trên nền tảng", self.gone),
            ));
        }
        for (channel, metric) in &self.retired {
            s.push_str(&tr(
                format!("; {channel} retired the metric {metric}"),
                format!("; {channel} đã bỏ chỉ số {metric}"),
            ));
        }
        for (channel, why) in &self.stopped {
            s.push_str(&tr(
                format!("; {channel} not finished: {why}"),
                format!("; {channel} chưa xong: {why}"),
            ));
        }
        s
    }
}

/// Counts what a round has done, for a progress bar.
pub trait Progress: Send + Sync {
    /// The round will ask about `total` deliveries.
    fn start(&self, total: usize);
    /// `n` more are done.
    fn advance(&self, n: usize);
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _total: usize) {}
    fn advance(&self, _n: usize) {}
}

/// This process's turn to collect (`data_dir/metrics.lock`): two loa processes never ask the
/// platforms about the same posts at once. Taken on a blocking thread; held until dropped.
async fn take_turn(data_dir: std::path::PathBuf) -> Option<crate::turn::Turn> {
    tokio::task::spawn_blocking(move || crate::turn::Turn::take(&data_dir, "metrics.lock"))
        .await
        .ok()
}

/// A due delivery and the step its snapshot will count as.
struct Planned {
    asked: Asked,
    step: Option<u8>,
}

/// One round over `collectors`: the deliveries `scope` names, then each account's daily
/// followers if today's were not taken yet.
pub async fn collect(
    engine: &Engine,
    collectors: &[Arc<dyn Collector>],
    scope: Scope,
    progress: &dyn Progress,
) -> Result<Summary, EngineError> {
    let _turn = take_turn(engine.config().data_dir.clone()).await;
    let now = engine.clock().now();
    let rows = engine
        .with_store(move |s| s.collectable(now, scope == Scope::All))
        .await?;
    let mut by_channel: BTreeMap<Channel, Vec<Planned>> = BTreeMap::new();
    for row in rows {
        let step = cadence::due_step(row.published_at, row.last_step, now);
        if scope == Scope::Due && step.is_none() {
            continue;
        }
        by_channel.entry(row.channel).or_default().push(Planned {
            asked: Asked {
                delivery_id: row.delivery_id,
                remote_id: row.remote_id,
            },
            step,
        });
    }
    let served: BTreeSet<Channel> = collectors.iter().map(|c| c.channel()).collect();
    let total = by_channel
        .iter()
        .filter(|(c, _)| served.contains(c))
        .map(|(_, v)| v.len())
        .sum();
    progress.start(total);
    let mut summary = Summary::default();
    for collector in collectors {
        let channel = collector.channel();
        let planned = by_channel.remove(&channel).unwrap_or_default();
        if let Some(why) = blocked(engine, channel, now).await? {
            progress.advance(planned.len());
            summary.stopped.push((channel, why));
            continue;
        }
        collect_channel(engine, collector.as_ref(), planned, progress, &mut summary).await?;
        account(engine, collector.as_ref(), &mut summary).await?;
    }
    Ok(summary)
}

/// Why `channel` is not asked now (paused, or waiting for a token), if it is not.
async fn blocked(
    engine: &Engine,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Option<String>, EngineError> {
    let rec = engine.with_store(move |s| s.channel(channel)).await?;
    Ok(match rec.health {
        Health::NeedsReauth => Some(
            rec.reason
                .unwrap_or_else(|| tr("needs a new token", "cần mã truy cập mới").to_string()),
        ),
        Health::RateLimited if rec.paused_until.is_some_and(|t| t > now) => Some(
            rec.reason
                .unwrap_or_else(|| tr("paused by the platform", "nền tảng tạm dừng").to_string()),
        ),
        _ => None,
    })
}

async fn collect_channel(
    engine: &Engine,
    collector: &dyn Collector,
    planned: Vec<Planned>,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), EngineError> {
    let channel = collector.channel();
    let steps: BTreeMap<i64, Option<u8>> = planned
        .iter()
        .map(|p| (p.asked.delivery_id, p.step))
        .collect();
    let asked: Vec<Asked> = planned.into_iter().map(|p| p.asked).collect();
    summary.asked += asked.len();
    let chunk = collector.chunk_size().max(1);
    // The platform's names of the retired metrics (not asked for), and the contract's names
    // of the figures they filled (recorded missing): read once, kept up to date by each chunk.
    let known = engine
        .with_store(move |s| s.all_retired_metrics())
        .await?
        .into_iter()
        .filter(|r| r.channel == channel);
    let (mut retired, mut retired_figures): (BTreeSet<String>, BTreeSet<String>) =
        known.map(|r| (r.metric, r.figure)).unzip();
    for (i, items) in asked.chunks(chunk).enumerate() {
        let offset = i * chunk;
        let before = std::sync::atomic::AtomicUsize::new(0);
        let tick = |done: usize| {
            let prev = before.swap(done, std::sync::atomic::Ordering::Relaxed);
            if done > prev {
                progress.advance(done - prev);
            }
        };
        let answer = collector.collect(items, &retired, &tick).await;
        let reported = before.load(std::sync::atomic::Ordering::Relaxed);
        let now = engine.clock().now();
        for m in &answer.retired {
            if retired.insert(m.metric.clone()) {
                summary.retired.push((channel, m.metric.clone()));
            }
            let m = m.clone();
            engine
                .with_store(move |s| s.record_retired(channel, &m, now))
                .await?;
        }
        retired_figures.extend(answer.retired.iter().map(|m| m.figure.clone()));
        let retired_figures = retired_figures.clone();
        let results = answer.items;
        let steps = steps.clone();
        let kept = engine
            .with_store(move |s| {
                let (mut kept, mut gone) = (0, 0);
                for (delivery_id, result) in &results {
                    match result {
                        ItemResult::Figures { figures, raw, link } => {
                            let missing: Vec<String> = retired_figures
                                .iter()
                                .filter(|f| figures.get(f).is_none())
                                .cloned()
                                .collect();
                            let snapshot = NewSnapshot {
                                delivery_id: *delivery_id,
                                taken_at: now,
                                step: steps.get(delivery_id).copied().flatten(),
                                figures,
                                missing: &missing,
                                raw,
                                link: link.as_deref(),
                            };
                            if s.record_snapshot(&snapshot)? {
                                kept += 1;
                            }
                        }
                        ItemResult::Gone { message } => {
                            s.stop_collection(*delivery_id, message)?;
                            gone += 1;
                        }
                    }
                }
                Ok((kept, gone))
            })
            .await?;
        summary.snapshots += kept.0;
        summary.gone += kept.1;
        let done = items.len().saturating_sub(reported);
        progress.advance(done);
        if let Some(stop) = answer.stopped {
            let effect = transitions::after_collection(&stop);
            engine
                .with_store(move |s| s.apply_channel_effect(channel, &effect))
                .await?;
            let left = asked.len().saturating_sub(offset + items.len());
            progress.advance(left);
            summary
                .stopped
                .push((channel, stop.message().unwrap_or_default().to_string()));
            tracing::warn!(%channel, reason = stop.message().unwrap_or_default(), "metrics round stopped early; the rest waits for the next round");
            break;
        }
    }
    Ok(())
}

/// The account's followers, once per local day.
async fn account(
    engine: &Engine,
    collector: &dyn Collector,
    summary: &mut Summary,
) -> Result<(), EngineError> {
    let channel = collector.channel();
    let now = engine.clock().now();
    let day = now.with_timezone(&engine.config().timezone).date_naive();
    if engine
        .with_store(move |s| s.account_taken(channel, day))
        .await?
    {
        return Ok(());
    }
    let retired = engine
        .with_store(move |s| s.retired_metrics(channel))
        .await?;
    match collector.account(&retired).await {
        Ok(account) => {
            let kept = engine
                .with_store(move |s| {
                    s.record_account(channel, day, now, account.followers, &account.raw)
                })
                .await?;
            if kept {
                summary.accounts += 1;
            }
        }
        Err(stop) => {
            let effect = transitions::after_collection(&stop);
            engine
                .with_store(move |s| s.apply_channel_effect(channel, &effect))
                .await?;
            summary
                .stopped
                .push((channel, stop.message().unwrap_or_default().to_string()));
        }
    }
    Ok(())
}
