//! `loa metrics [--all]`: collect reach and engagement now, with a progress bar on a terminal
//! and a one-line summary.

use std::io::{self, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::i18n::tr;
use crate::metrics::collect::Progress;

/// A progress bar on standard error, hidden when it is not a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn advance(&self, n: usize) {
        self.0.inc(n as u64);
    }
}

fn bar() -> Bar {
    if !io::stderr().is_terminal() {
        return Bar(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(0);
    let template = tr(
        "{bar:40} {pos}/{len} posts ({eta} left)",
        "{bar:40} {pos}/{len} bài (còn {eta})",
    );
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Bar(bar)
}

/// Runs one round; exit code 1 when the store fails or a channel could not be collected.
pub fn run(config: Config, all: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let runtime = super::runtime()?;
    let progress = bar();
    let result = runtime.block_on(crate::app::metrics::collect_now(config, all, &progress));
    progress.0.finish_and_clear();
    match result {
        Ok(summary) => {
            writeln!(out, "{}", summary.line())?;
            Ok(u8::from(!summary.stopped.is_empty()))
        }
        Err(e) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            Ok(1)
        }
    }
}
