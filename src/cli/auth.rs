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
