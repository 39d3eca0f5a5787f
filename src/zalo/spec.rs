//! The Zalo OA as a channel: its limits on an article, the broadcast to followers, its metrics,
//! its token manager and its client.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::channels::{Built, ChannelSpec, Secrets, Unavailable};
use crate::clock::Clock;
use crate::config::{Config, ZALO_AUTHOR_MAX};
use crate::diagnostic::Diagnostic;
use crate::i18n::tr;
use crate::post::Post;
use crate::post::front_matter::FrontMatter;
use crate::render::zalo::{DESCRIPTION_CUT, DESCRIPTION_MAX, TITLE_MAX, TITLE_WARN, render};
use crate::text::char_len;
use crate::zalo::oauth::{REFRESH_TOKEN_ENV, ZaloAuth};

/// The environment variable that gives the Zalo app's secret.
pub const APP_SECRET_ENV: &str = "LOA_ZALO_APP_SECRET";

/// The Zalo channel's spec.
pub struct Zalo;

impl ChannelSpec for Zalo {
    fn channel(&self) -> Channel {
        Channel::Zalo
    }

    fn preview_json(
        &self,
        post: &Post,
        config: &Config,
        _due: Option<DateTime<Utc>>,
        _now: DateTime<Utc>,
    ) -> serde_json::Map<String, serde_json::Value> {
        // Zalo has no scheduler of its own: what is sent does not depend on when.
        super::preview::json(post, config)
    }

    fn preview_text(
        &self,
        post: &Post,
        config: &Config,
        _due: Option<DateTime<Utc>>,
        _now: DateTime<Utc>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        super::preview::text(post, config, out)
    }

    fn reauth_hint(&self) -> String {
        tr(
            "run `loa auth zalo --url` and follow it, then restart loa",
            "chạy `loa auth zalo --url` và làm theo hướng dẫn, rồi khởi động lại loa",
        )
        .to_string()
    }

    fn check(&self, post: &Post, fm: &FrontMatter, config: &Config, diags: &mut Vec<Diagnostic>) {
        check(post, fm, config, diags);
    }

    fn wants_broadcast(&self, post: &Post, config: &Config) -> bool {
        crate::render::zalo::broadcasts(post, config)
    }

    fn metrics(&self) -> &'static [&'static str] {
        &["views", "shares"]
    }

    fn build(
        &self,
        config: &Config,
        clock: &Clock,
        secrets: &Secrets,
    ) -> Result<Built, Unavailable> {
        let unavailable = |reason| Unavailable::needs_reauth(Channel::Zalo, reason);
        let auth = auth(config, clock, secrets).map_err(unavailable)?;
        if let Some(reason) = blocker(&auth) {
            return Err(unavailable(reason));
        }
        let client = Arc::new(crate::zalo::client::ZaloChannel::new(
            Arc::new(config.clone()),
            auth.clone(),
            clock.clone(),
        ));
        Ok(Built {
            publisher: client.clone(),
            collector: Some(client),
            zalo_auth: Some(auth),
        })
    }
}

/// The Zalo token manager for this config (`LOA_ZALO_APP_SECRET` from `secrets`), with the token
/// store seeded from `LOA_ZALO_REFRESH_TOKEN` when it is empty. The registry builds the one of
/// `loa run`; `loa auth zalo` builds its own.
pub fn auth(config: &Config, clock: &Clock, secrets: &Secrets) -> Result<Arc<ZaloAuth>, String> {
    #[cfg(test)]
    built::note(&config.data_dir);
    let secret = secrets.get(APP_SECRET_ENV).ok_or_else(|| {
        tr(
            "no app secret: set LOA_ZALO_APP_SECRET (developers.zalo.me → your app → the app secret)",
            "chưa có app secret: đặt LOA_ZALO_APP_SECRET (developers.zalo.me → ứng dụng → khóa bí mật)",
        )
        .to_string()
    })?;
    let auth = ZaloAuth::new(
        crate::facebook::client::http_client_for(&config.zalo.oauth_url),
        &config.zalo.oauth_url,
        &config.zalo.app_id,
        secret,
        crate::token_store::TokenStore::new(&config.data_dir),
        clock.clone(),
    );
    if let Some(seed) = secrets.get(REFRESH_TOKEN_ENV) {
        use secrecy::ExposeSecret;
        if let Err(e) = auth.seed_if_empty(seed.expose_secret()) {
            tracing::warn!(error = %e, "could not seed the Zalo token store");
        }
    }
    Ok(Arc::new(auth))
}

/// Why Zalo cannot be used now, if it cannot: no token at all, or one Zalo refused.
pub fn blocker(auth: &ZaloAuth) -> Option<String> {
    let status = auth.status();
    if let Some(reason) = status.needs_reauth.or(status.store_error) {
        return Some(reason);
    }
    if status.refresh_expires_at.is_none() && status.access_expires_at.is_none() {
        return Some(tr(
            "not connected yet: run `loa auth zalo --url --redirect-uri …` (or set LOA_ZALO_REFRESH_TOKEN)",
            "chưa kết nối: chạy `loa auth zalo --url --redirect-uri …` (hoặc đặt LOA_ZALO_REFRESH_TOKEN)",
        )
        .to_string());
    }
    None
}

/// Checks the article against Zalo's limits, pointing at the front-matter line to change.
fn check(post: &Post, fm: &FrontMatter, config: &Config, diags: &mut Vec<Diagnostic>) {
    let article = render(post, config);
    let title_at = fm
        .zalo_title
        .as_ref()
        .or(fm.title.as_ref())
        .map_or((1, 1), |a| (a.line, a.col));
    let n = char_len(&article.title);
    let shorter = tr(
        "shorten the title, or add a shorter one for Zalo: zalo: { title: \"…\" }",
        "rút gọn tiêu đề, hoặc thêm tiêu đề ngắn cho Zalo: zalo: { title: \"…\" }",
    );
    if n > TITLE_MAX {
        diags.push(
            Diagnostic::error(
                title_at.0,
                title_at.1,
                tr(
                    format!("the title is {n} characters; Zalo allows at most {TITLE_MAX}"),
                    format!("tiêu đề dài {n} ký tự; Zalo cho tối đa {TITLE_MAX}"),
                ),
            )
            .fix(shorter),
        );
    } else if n > TITLE_WARN {
        diags.push(Diagnostic::warning(title_at.0, title_at.1, tr(format!("the title is {n} characters; Zalo has refused titles this long (limit {TITLE_MAX})"), format!("tiêu đề dài {n} ký tự; Zalo từng từ chối tiêu đề dài như vậy (giới hạn {TITLE_MAX})"))).fix(shorter));
    }
    if let Some(d) = &fm.zalo_description {
        let n = char_len(d.value.trim());
        if n > DESCRIPTION_MAX {
            diags.push(Diagnostic::error(d.line, d.col, tr(format!("zalo.description is {n} characters; Zalo allows at most {DESCRIPTION_MAX}"), format!("zalo.description dài {n} ký tự; Zalo cho tối đa {DESCRIPTION_MAX}"))).fix(tr(format!("shorten it to under {DESCRIPTION_CUT}"), format!("rút gọn dưới {DESCRIPTION_CUT} ký tự"))));
        } else if n > DESCRIPTION_CUT {
            diags.push(Diagnostic::warning(d.line, d.col, tr(format!("zalo.description is {n} characters; Zalo has refused descriptions near {DESCRIPTION_MAX}"), format!("zalo.description dài {n} ký tự; Zalo từng từ chối mô tả gần {DESCRIPTION_MAX} ký tự"))).fix(tr(format!("shorten it to under {DESCRIPTION_CUT}"), format!("rút gọn dưới {DESCRIPTION_CUT} ký tự"))));
        }
    }
    let n = char_len(&article.author);
    if n > ZALO_AUTHOR_MAX {
        let (line, col) = fm.zalo_author.as_ref().map_or((1, 1), |a| (a.line, a.col));
        diags.push(Diagnostic::error(
            line,
            col,
            tr(
                format!("zalo.author is {n} characters; Zalo allows at most {ZALO_AUTHOR_MAX}"),
                format!("zalo.author dài {n} ký tự; Zalo cho tối đa {ZALO_AUTHOR_MAX}"),
            ),
        ));
    }
    if article.body.is_empty() {
        diags.push(
            Diagnostic::error(
                1,
                1,
                tr(
                    "the post has nothing to show as a Zalo article (its body is empty)",
                    "bài không có nội dung để đăng thành bài viết Zalo (phần thân trống)",
                ),
            )
            .fix(tr(
                "write the text below the front matter, in Markdown",
                "viết nội dung bên dưới phần đầu, bằng Markdown",
            )),
        );
    }
    if article.cover.photo_url.is_empty() {
        let (line, col) = fm
            .zalo_cover
            .as_ref()
            .or(fm.cover.as_ref())
            .map_or((1, 1), |a| (a.line, a.col));
        diags.push(Diagnostic::error(line, col, tr("the Zalo article has no cover picture, and Zalo requires one", "bài Zalo chưa có ảnh bìa, Zalo bắt buộc phải có")).fix(tr(
            "add cover: images/….jpg to the front matter, or set zalo.default_cover_url in the config",
            "thêm cover: images/….jpg vào phần đầu, hoặc đặt zalo.default_cover_url trong cấu hình",
        )));
    }
}

/// How many times a token manager was asked for, per data folder, so tests can hold a process
/// to one.
#[cfg(test)]
pub(crate) mod built {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static MADE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    /// A manager was asked for `data_dir`.
    pub(crate) fn note(data_dir: &Path) {
        MADE.lock().unwrap().push(data_dir.to_path_buf());
    }

    /// How many managers were asked for `data_dir`.
    pub(crate) fn count(data_dir: &Path) -> usize {
        MADE.lock()
            .unwrap()
            .iter()
            .filter(|d| *d == data_dir)
            .count()
    }
}
