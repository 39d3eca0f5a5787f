//! `loa alerts test`: a test alert to every sink of `[alerts]`, one line per sink saying what
//! happened. Exit 0 when every sink took it, 1 when one did not, 2 when there is no sink.

use std::io::{self, Write};

use crate::alerts::{Alert, AlertSecrets, sinks};
use crate::config::Config;
use crate::i18n::tr;

/// Sends the test alert to each sink in turn and prints one line per sink.
pub fn test(config: &Config, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let Some(alerts) = &config.alerts else {
        writeln!(
            err,
            "{}",
            tr(
                "there is no [alerts] section in the config, so loa has nowhere to send alerts — fix: add [alerts] with an [[alerts.email]] or an [[alerts.webhook]] (see the example in config/loa.toml)",
                "tệp cấu hình chưa có mục [alerts] nên loa không có nơi gửi cảnh báo — cách sửa: thêm [alerts] với [[alerts.email]] hoặc [[alerts.webhook]] (xem ví dụ trong config/loa.toml)",
            )
        )?;
        return Ok(2);
    };
    let sinks = sinks(alerts, &AlertSecrets::from_env());
    if sinks.is_empty() {
        writeln!(
            err,
            "{}",
            tr(
                "[alerts] has no [[alerts.email]] and no [[alerts.webhook]], so loa has nowhere to send alerts — fix: add one under [alerts] (see the example in config/loa.toml)",
                "[alerts] chưa có [[alerts.email]] hay [[alerts.webhook]] nào nên loa không có nơi gửi cảnh báo — cách sửa: thêm một mục dưới [alerts] (xem ví dụ trong config/loa.toml)",
            )
        )?;
        return Ok(2);
    }
    let alert = Alert::test(chrono::Utc::now().with_timezone(&config.timezone));
    let runtime = super::runtime()?;
    let mut failed = false;
    for sink in &sinks {
        let label = sink.label();
        match runtime.block_on(sink.send(&alert)) {
            Ok(()) => writeln!(out, "✓ {label}: {}", tr("sent", "đã gửi"))?,
            Err(e) => {
                failed = true;
                writeln!(out, "✗ {label}: {}", e.message)?;
            }
        }
    }
    Ok(u8::from(failed))
}
