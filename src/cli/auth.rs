//! `loa auth facebook --user-token TOKEN`: turns a user token into the Page token loa keeps.

use std::io::{self, BufRead, Write};

use secrecy::SecretString;

use crate::config::Config;
use crate::facebook::auth;
use crate::i18n::tr;
use crate::token_store::{FacebookTokens, TokenStore};

/// Exchanges `user_token` (or, for `-`, one line read from standard input, which keeps it out of
/// the shell history) for a long-lived token, finds the Page token for `facebook.page_id` and
/// stores it (mode 0600). Exit 2 when the app id or secret is missing.
pub fn facebook(
    config: &Config,
    user_token: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let (Ok(app_id), Ok(app_secret)) = (
        std::env::var("LOA_FACEBOOK_APP_ID"),
        std::env::var("LOA_FACEBOOK_APP_SECRET"),
    ) else {
        writeln!(
            err,
            "{}",
            tr(
                "set LOA_FACEBOOK_APP_ID and LOA_FACEBOOK_APP_SECRET (developers.facebook.com → your app → App settings → Basic) in the environment first",
                "hãy đặt LOA_FACEBOOK_APP_ID và LOA_FACEBOOK_APP_SECRET (developers.facebook.com → ứng dụng → Cài đặt → Thông tin cơ bản) trong biến môi trường trước",
            )
        )?;
        return Ok(2);
    };
    let user_token = if user_token == "-" {
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line)?;
        line.trim().to_string()
    } else {
        user_token.trim().to_string()
    };
    if user_token.is_empty() || config.facebook.page_id.is_empty() {
        writeln!(
            err,
            "{}",
            tr(
                "need a user token and facebook.page_id in the config",
                "cần user token và facebook.page_id trong cấu hình"
            )
        )?;
        return Ok(2);
    }
    let user_token = SecretString::from(user_token);
    let app_secret = SecretString::from(app_secret);
    let base = format!(
        "{}/{}",
        config.facebook.graph_url.trim_end_matches('/'),
        config.facebook.api_version
    );
    let http = crate::facebook::client::http_client_for(&config.facebook.graph_url);
    let runtime = super::runtime()?;
    let result = runtime.block_on(async {
        let long =
            auth::exchange_user_token(&http, &base, &app_id, &app_secret, &user_token).await?;
        auth::find_page_token(&http, &base, &long.token, &config.facebook.page_id).await
    });
    let page = match result {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            return Ok(1);
        }
    };
    let store = TokenStore::new(&config.data_dir);
    let now = chrono::Utc::now();
    let stored = store.update(|t| {
        t.facebook = Some(FacebookTokens {
            page_id: page.id.clone(),
            page_name: Some(page.name.clone()),
            page_token: page.token.clone(),
            stored_at: now,
        });
        Ok(())
    });
    if let Err(e) = stored {
        writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
        return Ok(1);
    }
    writeln!(
        out,
        "{}",
        tr(
            format!(
                "Stored the Page token for “{}” ({}) in {}. Restart `loa run` to use it.",
                page.name,
                page.id,
                store.path().display()
            ),
            format!(
                "Đã lưu Page token của “{}” ({}) vào {}. Khởi động lại `loa run` để dùng.",
                page.name,
                page.id,
                store.path().display()
            ),
        )
    )?;
    if let Some(warning) = page.task_warning() {
        writeln!(err, "{}: {warning}", tr("warning", "cảnh báo"))?;
    }
    Ok(0)
}

/// One step of connecting the Zalo OA.
pub enum ZaloStep {
    /// Print the consent URL for this redirect URI.
    Url(String),
    /// Exchange the callback's code (and check its state).
    Code(String, Option<String>),
    /// Store a refresh token obtained elsewhere (`-`: read from standard input).
    RefreshToken(String),
}

/// `loa auth zalo …`. Exit 2 without `LOA_ZALO_APP_SECRET`.
pub fn zalo(
    config: &Config,
    step: ZaloStep,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let runtime = super::runtime()?;
    let auth = match runtime
        .block_on(async { crate::service::zalo_auth(config, &crate::engine::Clock::system()) })
    {
        Ok(a) => a,
        Err(reason) => {
            writeln!(err, "{reason}")?;
            return Ok(2);
        }
    };
    let result = match step {
        ZaloStep::Url(uri) if uri.trim().is_empty() => {
            writeln!(err, "{}", tr("--url needs --redirect-uri (the callback URL set in the Zalo console)", "--url cần --redirect-uri (địa chỉ callback đặt trong trang quản lý Zalo)"))?;
            return Ok(2);
        }
        ZaloStep::Url(uri) => auth.consent_url(uri.trim()).map(|url| {
            tr(
                format!("Ask an OA admin to open this link and allow the app:\n\n{url}\n\nZalo then opens the callback URL with ?code=…&state=…; within 10 minutes run:\n  loa auth zalo --code CODE --state STATE"),
                format!("Nhờ quản trị viên OA mở liên kết này và cho phép ứng dụng:\n\n{url}\n\nZalo sẽ mở địa chỉ callback kèm ?code=…&state=…; trong vòng 10 phút hãy chạy:\n  loa auth zalo --code CODE --state STATE"),
            )
        }),
        ZaloStep::Code(code, state) => runtime
            .block_on(auth.exchange_code(code.trim(), state.as_deref()))
            .map(|()| tr("Zalo OA connected; the tokens are stored. Restart `loa run` to use them.".to_string(), "Đã kết nối Zalo OA và lưu token. Khởi động lại `loa run` để dùng.".to_string())),
        ZaloStep::RefreshToken(token) => {
            let token = if token == "-" {
                let mut line = String::new();
                io::stdin().lock().read_line(&mut line)?;
                line.trim().to_string()
            } else {
                token.trim().to_string()
            };
            auth.seed(&token)
                .map(|()| tr("Refresh token stored. Restart `loa run` to use it.".to_string(), "Đã lưu refresh token. Khởi động lại `loa run` để dùng.".to_string()))
        }
    };
    match result {
        Ok(message) => {
            writeln!(out, "{message}")?;
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            Ok(1)
        }
    }
}
