//! `loa retry` and `loa cancel`: the officer's say over the queue.

use std::io::{self, Write};
use std::sync::Arc;

use crate::channel::Channel;
use crate::config::Config;
use crate::engine::commands::{self, CommandError};
use crate::engine::{Clock, Engine};
use crate::i18n::tr;

/// Which command.
pub enum Action {
    /// Back in the queue (`force` also takes unconfirmed deliveries).
    Retry {
        /// Allow unconfirmed deliveries.
        force: bool,
    },
    /// Out of the queue.
    Cancel,
}

/// Runs `retry` or `cancel` on `post`.
pub fn run(
    config: Config,
    action: Action,
    post: &str,
    channel: Option<Channel>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let runtime = super::runtime()?;
    let data_dir = config.data_dir.clone();
    let result = runtime.block_on(async {
        let store = crate::engine::open_store(&config.data_dir)
            .map_err(|e| CommandError::Engine(crate::engine::EngineError::Join(e.to_string())))?;
        let engine = Arc::new(Engine::new(store, config, Vec::new(), Clock::system()));
        match action {
            Action::Retry { force } => commands::retry(&engine, post, channel, force)
                .await
                .map(|n| (n, force)),
            Action::Cancel => commands::cancel(&engine, post, channel)
                .await
                .map(|n| (n, false)),
        }
    });
    match (result, &action) {
        (Ok((0, force)), Action::Retry { .. }) => {
            let hint = if force {
                tr(
                    "nothing to retry: no delivery of this post is failed, missed or unconfirmed",
                    "không có gì để thử lại: bài này không có lượt đăng nào lỗi, lỡ lịch hay chưa xác nhận",
                )
            } else {
                tr(
                    "nothing to retry: no delivery of this post is failed or missed (an unconfirmed one needs --force, after checking the page)",
                    "không có gì để thử lại: bài này không có lượt đăng nào lỗi hay lỡ lịch (lượt chưa xác nhận cần --force, sau khi đã kiểm tra trang)",
                )
            };
            writeln!(err, "{hint}")?;
            Ok(1)
        }
        (Ok((0, _)), Action::Cancel) => {
            writeln!(
                err,
                "{}",
                tr(
                    "nothing to cancel: every delivery of this post is published, in flight or cancelled",
                    "không có gì để hủy: mọi lượt đăng của bài này đã đăng, đang đăng hoặc đã hủy"
                )
            )?;
            Ok(1)
        }
        (Ok((n, _)), Action::Retry { .. }) => {
            crate::service::poke(&data_dir);
            writeln!(
                out,
                "{}",
                tr(
                    format!("{n} delivery(ies) back in the queue"),
                    format!("đã đưa {n} lượt đăng trở lại hàng đợi")
                )
            )?;
            Ok(0)
        }
        (Ok((n, _)), Action::Cancel) => {
            crate::service::poke(&data_dir);
            writeln!(
                out,
                "{}",
                tr(
                    format!("{n} delivery(ies) cancelled"),
                    format!("đã hủy {n} lượt đăng")
                )
            )?;
            Ok(0)
        }
        (Err(e), _) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            Ok(1)
        }
    }
}
