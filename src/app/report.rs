//! The engagement summary for `loa report` and the service's `report.html`: the model read from
//! the store, with the Zalo refresh token's end from the token store.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::app::{AppError, open_engine};
use crate::config::Config;
use crate::report::{Options, Report};

/// When the stored Zalo refresh token ends (issued + 90 days), when one is stored.
pub fn zalo_refresh_expires(data_dir: &Path) -> Option<DateTime<Utc>> {
    let tokens = crate::token_store::TokenStore::new(data_dir).load().ok()?;
    let zalo = tokens.zalo?;
    zalo.refresh_token.as_ref()?;
    zalo.refresh_issued_at
        .map(|t| t + crate::zalo::oauth::REFRESH_TOKEN_LIFETIME)
}

/// The report for `options`, as the store holds it now.
pub async fn report(config: Config, options: Options) -> Result<Report, AppError> {
    let engine = open_engine(config.clone(), Vec::new())?;
    let now = engine.clock().now();
    let refresh = zalo_refresh_expires(&config.data_dir);
    Ok(engine
        .with_store(move |s| crate::report::load(s, &config, &options, now, refresh))
        .await?)
}

/// The file the service rewrites after each collection round.
pub const REPORT_FILE: &str = "report.html";

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed over
/// it, so a reader (a browser, a USB copy) never sees half a page.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // One temporary name per process: two loa processes writing at once each rename a whole
    // page, and the last one wins.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Rewrites `data_dir/report.html` with the default report (the four weeks up to today). A
/// failure is logged, never fatal: the page is a convenience, the store keeps the figures.
pub async fn write_html(engine: &crate::engine::Engine) {
    let config = engine.config().clone();
    let now = engine.clock().now();
    let refresh = zalo_refresh_expires(&config.data_dir);
    let path = config.data_dir.join(REPORT_FILE);
    let model = {
        let config = config.clone();
        engine
            .with_store(move |s| crate::report::load(s, &config, &Options::default(), now, refresh))
            .await
    };
    let written = match model {
        Ok(report) => {
            let page = crate::report::html(&report);
            let path = path.clone();
            tokio::task::spawn_blocking(move || write_atomically(&path, page.as_bytes()))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r)
        }
        Err(e) => Err(std::io::Error::other(e.to_string())),
    };
    match written {
        Ok(()) => tracing::debug!(path = %path.display(), "report written"),
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not write the report"),
    }
}
