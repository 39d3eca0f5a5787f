//! The Facebook Page as a channel: its limits on a post, its metrics, and its client.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use secrecy::SecretString;

use crate::channel::Channel;
use crate::channels::{Built, ChannelSpec, Secrets, Unavailable};
use crate::clock::Clock;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::i18n::tr;
use crate::post::Post;
use crate::post::front_matter::FrontMatter;
use crate::render::facebook::{MESSAGE_MAX, render};

/// The environment variable that gives the Page token.
pub const PAGE_TOKEN_ENV: &str = "LOA_FACEBOOK_PAGE_TOKEN";

/// The Facebook channel's spec.
pub struct Facebook;

impl ChannelSpec for Facebook {
    fn channel(&self) -> Channel {
        Channel::Facebook
    }

    fn preview_json(
        &self,
        post: &Post,
        config: &Config,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> serde_json::Map<String, serde_json::Value> {
        super::preview::json(post, config, due, now)
    }

    fn preview_text(
        &self,
        post: &Post,
        config: &Config,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        super::preview::text(post, config, due, now, out)
    }

    fn reauth_hint(&self) -> String {
        tr(
            "set a new LOA_FACEBOOK_PAGE_TOKEN or run `loa auth facebook --user-token …`, then restart loa",
            "đặt LOA_FACEBOOK_PAGE_TOKEN mới hoặc chạy `loa auth facebook --user-token …`, rồi khởi động lại loa",
        )
        .to_string()
    }

    fn check(&self, post: &Post, fm: &FrontMatter, _config: &Config, diags: &mut Vec<Diagnostic>) {
        let fb = render(post);
        let n = crate::text::char_len(&fb.message);
        if n > MESSAGE_MAX {
            diags.push(
                Diagnostic::error(
                    1,
                    1,
                    tr(
                        format!(
                            "the Facebook text is {n} characters; Facebook takes at most {MESSAGE_MAX}"
                        ),
                        format!("nội dung Facebook dài {n} ký tự; Facebook nhận tối đa {MESSAGE_MAX}"),
                    ),
                )
                .fix(tr(
                    "split the post in two, or publish this one on Zalo only: channels: [zalo]",
                    "tách thành hai bài, hoặc chỉ đăng lên Zalo: channels: [zalo]",
                )),
            );
        }
        if let Some(l) = &fm.facebook_link
            && !fb.photos.is_empty()
        {
            diags.push(Diagnostic::warning(
                l.line,
                l.col,
                tr(
                    "a Facebook post with photos cannot have a link preview; the link is added to the text instead",
                    "bài Facebook có ảnh không hiện được khung xem trước liên kết; liên kết sẽ được thêm vào nội dung",
                ),
            ));
        }
    }

    fn metrics(&self) -> &'static [&'static str] {
        &[
            "views",
            "reach",
            "reactions",
            "comments",
            "shares",
            "clicks",
        ]
    }

    fn build(
        &self,
        config: &Config,
        clock: &Clock,
        secrets: &Secrets,
    ) -> Result<Built, Unavailable> {
        let token = page_token(config, secrets).ok_or_else(|| {
            Unavailable::needs_reauth(
                Channel::Facebook,
                tr(
                    "no Page token: set LOA_FACEBOOK_PAGE_TOKEN, or run `loa auth facebook --user-token …`",
                    "chưa có Page token: đặt LOA_FACEBOOK_PAGE_TOKEN, hoặc chạy `loa auth facebook --user-token …`",
                ),
            )
        })?;
        let fb = &config.facebook;
        let client = Arc::new(crate::facebook::client::FacebookChannel::new(
            &fb.graph_url,
            &fb.api_version,
            &fb.page_id,
            token,
            fb.native_schedule,
            clock.clone(),
        ));
        Ok(Built {
            publisher: client.clone(),
            collector: Some(client),
            zalo_auth: None,
        })
    }
}

/// The Page token: `LOA_FACEBOOK_PAGE_TOKEN` from `secrets`, else the one `loa auth facebook`
/// stored for this Page.
pub fn page_token(config: &Config, secrets: &Secrets) -> Option<SecretString> {
    if let Some(token) = secrets.get(PAGE_TOKEN_ENV) {
        return Some(token);
    }
    let tokens = crate::token_store::TokenStore::new(&config.data_dir)
        .load()
        .ok()?;
    tokens
        .facebook
        .filter(|f| f.page_id == config.facebook.page_id)
        .map(|f| f.page_token)
}
