//! `loa retry` and `loa cancel`: the officer's say over the queue.

use std::io::{self, Write};

use crate::app;
use crate::channel::Channel;
use crate::config::Config;
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

/// Runs `retry` or `cancel` on `post`; exit 1 when nothing changed or it failed.
pub fn run(
    config: Config,
    action: Action,
    post: &str,
    channel: Option<Channel>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let runtime = super::runtime()?;
    let result = match action {
        Action::Retry { force } => {
            runtime.block_on(app::queue::retry(config, post, channel, force))
        }
        Action::Cancel => runtime.block_on(app::queue::cancel(config, post, channel)),
    };
    match (result, action) {
        (Ok(0), Action::Retry { force }) => {
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
        (Ok(0), Action::Cancel) => {
            writeln!(
                err,
                "{}",
                tr(
                    "nothing to cancel: every delivery of this post is published or cancelled (`loa unpublish` takes a published post down)",
                    "không có gì để hủy: mọi lượt đăng của bài này đã đăng hoặc đã hủy (`loa unpublish` để gỡ bài đã đăng)"
                )
            )?;
            Ok(1)
        }
        (Ok(n), Action::Retry { .. }) => {
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
        (Ok(n), Action::Cancel) => {
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
