//! `loa auth facebook` and `loa auth zalo`: connecting the platform accounts. The flows live in
//! `app::connect`; this file reads a secret from standard input when asked (`-`, which keeps it
//! out of the shell history) and tells the officer what happened.

use std::io::{self, BufRead, Write};

use crate::app::connect::{self, ConnectError, ZaloDone, ZaloStep};
use crate::config::Config;
use crate::i18n::tr;

/// Exchanges `user_token` (`-`: one line from standard input) for the Page token of
/// `facebook.page_id` and stores it (mode 0600). Exit 2 when the app id or secret is missing.
pub fn facebook(
    config: &Config,
    user_token: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let app = match connect::FacebookApp::from_env() {
        Ok(app) => app,
        Err(e) => return failed(&e, err),
    };
    let user_token = if user_token == "-" {
        read_line()?
    } else {
        user_token.to_string()
    };
    let page = match super::runtime()?.block_on(connect::facebook(config, &app, &user_token)) {
        Ok(page) => page,
        Err(e) => return failed(&e, err),
    };
    writeln!(
        out,
        "{}",
        tr(
            format!(
                "Stored the Page token for “{}” ({}) in {}. Restart `loa run` to use it.",
                page.name,
                page.id,
                page.stored_in.display()
            ),
            format!(
                "Đã lưu Page token của “{}” ({}) vào {}. Khởi động lại `loa run` để dùng.",
                page.name,
                page.id,
                page.stored_in.display()
            ),
        )
    )?;
    if let Some(warning) = page.warning {
        writeln!(err, "{}: {warning}", tr("warning", "cảnh báo"))?;
    }
    Ok(0)
}

/// `loa auth zalo …`; for `--refresh-token -` the token is read from standard input. Exit 2
/// without `LOA_ZALO_APP_SECRET`.
pub fn zalo(
    config: &Config,
    step: ZaloStep,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let runtime = super::runtime()?;
    let auth = match connect::zalo_app(config) {
        Ok(a) => a,
        Err(e) => return failed(&e, err),
    };
    let step = match step {
        ZaloStep::RefreshToken(token) if token == "-" => ZaloStep::RefreshToken(read_line()?),
        other => other,
    };
    let message = match runtime.block_on(connect::zalo(config, &auth, step)) {
        Ok(ZaloDone::ConsentUrl(url)) => tr(
            format!(
                "Ask an OA admin to open this link and allow the app:\n\n{url}\n\nZalo then opens the callback URL with ?code=…&state=…; within 10 minutes run:\n  loa auth zalo --code CODE --state STATE"
            ),
            format!(
                "Nhờ quản trị viên OA mở liên kết này và cho phép ứng dụng:\n\n{url}\n\nZalo sẽ mở địa chỉ callback kèm ?code=…&state=…; trong vòng 10 phút hãy chạy:\n  loa auth zalo --code CODE --state STATE"
            ),
        ),
        Ok(ZaloDone::Connected) => tr(
            "Zalo OA connected; the tokens are stored. Restart `loa run` to use them.".to_string(),
            "Đã kết nối Zalo OA và lưu token. Khởi động lại `loa run` để dùng.".to_string(),
        ),
        Ok(ZaloDone::RefreshTokenStored) => tr(
            "Refresh token stored. Restart `loa run` to use it.".to_string(),
            "Đã lưu refresh token. Khởi động lại `loa run` để dùng.".to_string(),
        ),
        Err(e) => return failed(&e, err),
    };
    writeln!(out, "{message}")?;
    Ok(0)
}

/// Says why connecting failed: as it is and exit 2 when the setup or the command line must
/// change, after "error:" and exit 1 when a platform or the disk failed.
fn failed(e: &ConnectError, err: &mut dyn Write) -> io::Result<u8> {
    if e.is_usage() {
        writeln!(err, "{e}")?;
        Ok(2)
    } else {
        writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
        Ok(1)
    }
}

/// One line from standard input, without its line ending.
fn read_line() -> io::Result<String> {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}
