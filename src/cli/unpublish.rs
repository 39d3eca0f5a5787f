//! `loa unpublish POST [--channel NAME]`: deletes the post on the platforms.

use std::io::{self, Write};

use crate::app;
use crate::channel::Channel;
use crate::config::Config;
use crate::i18n::tr;
use crate::publisher::Outcome;

/// Deletes `post` on its channels; exit 1 when a platform refused or nothing was published.
pub fn run(
    config: Config,
    post: &str,
    channel: Option<Channel>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let result = super::runtime()?.block_on(app::queue::unpublish(config, post, channel));
    let done = match result {
        Ok(d) => d,
        Err(e) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            return Ok(1);
        }
    };
    if done.is_empty() {
        writeln!(
            err,
            "{}",
            tr(
                "nothing to unpublish: this post is not on any platform",
                "không có gì để gỡ: bài này chưa có trên nền tảng nào"
            )
        )?;
        return Ok(1);
    }
    let mut code = 0;
    for d in done {
        match d.outcome {
            Outcome::Published { .. } => {
                writeln!(out, "{}: {}", d.channel, tr("removed", "đã gỡ"))?
            }
            other => {
                code = 1;
                writeln!(
                    err,
                    "{}: {}: {}",
                    d.channel,
                    tr("not removed", "chưa gỡ được"),
                    other.message().unwrap_or_default()
                )?;
            }
        }
    }
    Ok(code)
}
