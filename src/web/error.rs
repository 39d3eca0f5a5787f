//! Pages for what went wrong: an unknown address or post, a malformed form, a stale action, a
//! store failure. Always a page in the officer's language with a way back; never a stack trace.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::view::Frame;
use super::{Dashboard, Session};
use crate::i18n::tr;

/// Why a request could not be answered with its page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No post with this id.
    #[error("{}", tr(format!("loa has no post `{}`", .0), format!("loa không có bài `{}`", .0)))]
    NoPost(String),
    /// The form is not one the dashboard sends.
    #[error("{0}")]
    BadForm(String),
    /// The page's form is from another session or an older start of loa.
    #[error(
        "{}",
        tr(
            "this form has expired (loa was restarted, or the page is from another window)",
            "biểu mẫu này đã hết hạn (loa đã khởi động lại, hoặc trang mở từ cửa sổ khác)",
        )
    )]
    Csrf,
    /// The store failed.
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NoPost(_) => StatusCode::NOT_FOUND,
            WebError::BadForm(_) => StatusCode::BAD_REQUEST,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            WebError::NoPost(_) => tr(
                "It may have been removed long ago, or the address was mistyped. Find it in the list of posts.",
                "Có thể bài đã bị xóa từ lâu, hoặc địa chỉ bị gõ sai. Hãy tìm bài trong danh sách bài viết.",
            ),
            WebError::BadForm(_) | WebError::Csrf => tr(
                "Nothing was changed. Go back, reload the page and try again.",
                "Chưa có gì thay đổi. Hãy quay lại, tải lại trang rồi thử lại.",
            ),
            WebError::Internal(_) => tr(
                "Nothing was changed. Try again in a moment; if it happens again, run `loa status` in a terminal.",
                "Chưa có gì thay đổi. Hãy thử lại sau giây lát; nếu vẫn lỗi, chạy `loa status` trong cửa sổ lệnh.",
            ),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(e) = &self {
            tracing::warn!(error = %e, "a dashboard page failed");
        }
        let title = match self {
            WebError::NoPost(_) => tr("No such post", "Không có bài này"),
            WebError::Internal(_) => tr("The page could not be made", "Không tạo được trang"),
            _ => tr(
                "This request cannot be done",
                "Không thực hiện được yêu cầu này",
            ),
        };
        render(
            Frame::bare(title),
            self.status(),
            self.to_string(),
            self.advice().to_string(),
        )
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    f: Frame,
    message: String,
    advice: String,
    back: &'static str,
    home: &'static str,
}

fn render(f: Frame, status: StatusCode, message: String, advice: String) -> Response {
    let page = ErrorPage {
        f,
        message,
        advice,
        back: tr("Back to This week", "Về trang Tuần này"),
        home: "/",
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "loa").into_response(),
    }
}

/// An error page with the dashboard's frame.
pub fn page(
    d: &Dashboard,
    session: Option<&Session>,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    render(
        Frame::new(d, session, title, "", None),
        status,
        title.to_string(),
        message.to_string(),
    )
}

/// Any address the dashboard does not have.
pub async fn not_found() -> Response {
    render(
        Frame::bare(tr("Page not found", "Không tìm thấy trang")),
        StatusCode::NOT_FOUND,
        tr(
            "The dashboard has no page at this address.",
            "Bảng điều khiển không có trang ở địa chỉ này.",
        )
        .to_string(),
        tr(
            "Use the tabs above to find what you were looking for.",
            "Hãy dùng các mục phía trên để tìm nội dung cần xem.",
        )
        .to_string(),
    )
}

/// An address asked the wrong way (a result page reloaded by its address, `GET /actions`).
pub async fn wrong_method() -> Response {
    render(
        Frame::bare(tr("Nothing to show here", "Không có gì để xem ở đây")),
        StatusCode::METHOD_NOT_ALLOWED,
        tr(
            "This address only takes the dashboard's buttons; nothing was changed.",
            "Địa chỉ này chỉ nhận thao tác từ các nút của bảng điều khiển; chưa có gì thay đổi.",
        )
        .to_string(),
        tr(
            "Open the post or the Attention page again to see where things stand.",
            "Hãy mở lại trang của bài hoặc trang Cần xử lý để xem tình hình.",
        )
        .to_string(),
    )
}
