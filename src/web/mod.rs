//! The dashboard: the officer's pages in a browser, served by `loa run` when `[web]` is set.
//!
//! - **Pages** (`week`, `posts`, `post`, `engagement`, `attention`) read the store through
//!   their own SQLite connection (WAL lets it read while the engine writes), so a page never
//!   waits for the engine's lock nor holds it; each read is bounded (a page of posts, two weeks).
//! - **Actions** (`actions`) are the CLI's `retry`, `cancel` and `unpublish`, through the same
//!   engine functions on the service's own engine.
//! - **Safety** (`access`, [`guard`]): loopback unless told otherwise, a password off loopback,
//!   a CSRF token on every POST, a Host check (a web page elsewhere cannot reach this one by
//!   renaming itself to 127.0.0.1), a strict Content-Security-Policy, askama's escaping for
//!   every text. Nothing here writes under `posts_dir`.
//! - Every page works without JavaScript; there is none.

mod access;
mod actions;
mod attention;
mod engagement;
mod error;
mod post;
mod posts;
mod view;
mod week;

pub use week::monday_of;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;

use crate::config::{Config, WebConfig};
use crate::engine::Engine;
use crate::i18n::tr;
use crate::store::Store;

pub use access::Access;
pub use error::WebError;

/// The environment variable that holds the dashboard's password.
pub const PASSWORD_ENV: &str = "LOA_WEB_PASSWORD";

/// The file in `data_dir` that holds the running dashboard's address, for `loa status`.
pub const ADDRESS_FILE: &str = "dashboard.url";

/// Every response's Content-Security-Policy: nothing from elsewhere, no script at all, styles
/// only from loa's own style sheet, forms only to loa, never inside another site's frame.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every handler shares.
pub struct Dashboard {
    engine: Arc<Engine>,
    reader: Arc<Mutex<Store>>,
    config: Config,
    access: Access,
    /// `Host` values the pages answer to; empty: any (a non-loopback address, behind a password).
    hosts: Vec<String>,
    /// A time the pages show instead of the clock's (the demo, once its story is over).
    frozen: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
}

/// A started dashboard.
pub struct Started {
    /// Where it listens.
    pub address: SocketAddr,
    /// The server; aborting it stops the dashboard.
    pub task: tokio::task::JoinHandle<()>,
    /// The dashboard itself.
    pub dashboard: Arc<Dashboard>,
}

/// The session of the request, set by [`guard`].
#[derive(Clone, Debug)]
pub struct Session {
    /// The session id (the cookie's value).
    pub id: String,
}

/// Why the dashboard could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Off loopback without a password.
    #[error("{}", tr(
        format!("[web] listen = \"{0}\" lets other computers open the dashboard, so it needs a password: set LOA_WEB_PASSWORD in loa's environment, or listen on 127.0.0.1", .0),
        format!("[web] listen = \"{0}\" cho phép máy khác mở bảng điều khiển nên cần mật khẩu: hãy đặt LOA_WEB_PASSWORD trong môi trường của loa, hoặc dùng 127.0.0.1", .0),
    ))]
    NeedsPassword(SocketAddr),
    /// The address cannot be listened on.
    #[error("{}", tr(
        format!("the dashboard cannot listen on {}: {}; is another program (or another loa) using that port? Choose another port in [web] listen", .0, crate::i18n::io_error(.1)),
        format!("bảng điều khiển không mở được cổng {}: {}; có chương trình khác (hoặc loa khác) đang dùng cổng đó? Hãy chọn cổng khác trong [web] listen", .0, crate::i18n::io_error(.1)),
    ))]
    Bind(SocketAddr, std::io::Error),
    /// The store could not be opened for reading.
    #[error("{0}")]
    Store(String),
}

impl Dashboard {
    /// The dashboard over `engine`'s store (read through a connection of its own), answering
    /// to the Host names of `listen`.
    pub fn new(
        engine: Arc<Engine>,
        listen: SocketAddr,
        password: Option<&SecretString>,
    ) -> Result<Dashboard, StartError> {
        let config = engine.config().clone();
        let reader = crate::engine::open_store(&config.data_dir)
            .map_err(|e| StartError::Store(crate::i18n::io_error(&e)))?;
        Ok(Dashboard {
            engine,
            reader: Arc::new(Mutex::new(reader)),
            config,
            access: Access::new(password),
            hosts: hosts_for(listen),
            frozen: Mutex::new(None),
        })
    }

    /// What needs the officer now (the report's attention list).
    async fn attention(&self) -> Result<Vec<crate::report::model::Attention>, WebError> {
        let config = self.config.clone();
        let now = self.now();
        let refresh = crate::app::report::zalo_refresh_expires(&config.data_dir);
        self.read(move |s| crate::report::build::load_attention(s, &config, now, refresh))
            .await
    }

    /// How many things on the Attention page ask something of the officer.
    async fn attention_count(&self) -> Result<usize, WebError> {
        Ok(attention::count(&self.attention().await?))
    }

    /// The time the pages show: the engine's clock, unless [`Dashboard::freeze`] was called.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let frozen = *self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        frozen.unwrap_or_else(|| self.engine.clock().now())
    }

    /// Shows `at` as the time from now on (the demo's story is over while its compressed clock
    /// runs on).
    pub fn freeze(&self, at: chrono::DateTime<chrono::Utc>) {
        *self.frozen.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// Runs `f` on the dashboard's own store connection, off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> crate::store::Result<T> + Send + 'static,
    ) -> Result<T, WebError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let guard = reader.lock().unwrap_or_else(|e| e.into_inner());
            let out = f(&guard);
            // A page now and then must not keep SQLite's cache (up to 2 MB) in an idle service.
            guard.release_cache();
            out
        })
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))
    }
}

/// The `Host` values a dashboard on `listen` answers to: for loopback, the address and the
/// names of this machine; otherwise any (the password guards it).
fn hosts_for(listen: SocketAddr) -> Vec<String> {
    if !listen.ip().is_loopback() {
        return Vec::new();
    }
    let port = listen.port();
    vec![
        listen.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// The dashboard's routes over `dashboard`.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(week::page))
        .route("/posts", get(posts::page))
        .route("/posts/{id}", get(post::page))
        .route("/engagement", get(engagement::page))
        .route("/engagement/report.csv", get(engagement::csv))
        .route("/engagement/report.html", get(engagement::html))
        .route("/attention", get(attention::page))
        .route("/confirm", get(actions::confirm))
        .route("/actions", post(actions::act))
        .route("/login", get(actions::login_page).post(actions::log_in))
        .route("/logout", post(actions::log_out))
        .route("/assets/loa.css", get(style))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(axum::middleware::from_fn_with_state(
            dashboard.clone(),
            guard,
        ))
        .with_state(dashboard)
}

/// The one style sheet: the report's, then the dashboard's own.
async fn style() -> Response {
    static CSS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let css = CSS.get_or_init(|| {
        format!(
            "{}\n{}",
            crate::report::html::CSS,
            include_str!("../../templates/web/dashboard.css")
        )
    });
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // Revalidated each time: after an upgrade the page never meets an old style sheet.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        css.as_str(),
    )
        .into_response()
}

/// Every request passes here: the Host check, the session cookie, the login, the security
/// headers.
async fn guard(State(d): State<Arc<Dashboard>>, mut request: Request, next: Next) -> Response {
    let host_ok = d.hosts.is_empty()
        || request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| d.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
    let mut response = if !host_ok {
        error::page(
            &d,
            None,
            axum::http::StatusCode::MISDIRECTED_REQUEST,
            tr(
                "This address is not the dashboard's",
                "Địa chỉ này không phải của bảng điều khiển",
            ),
            tr(
                "Open the address loa printed when it started (for example http://127.0.0.1:8640/).",
                "Hãy mở địa chỉ loa in ra khi khởi động (ví dụ http://127.0.0.1:8640/).",
            ),
        )
    } else {
        let existing = access::session_of(request.headers());
        let fresh = existing.is_none();
        let id = existing.unwrap_or_else(access::random_id);
        request.extensions_mut().insert(Session { id: id.clone() });
        let path = request.uri().path().to_string();
        let open = path == "/login" || path.starts_with("/assets/");
        let mut response = if open || d.access.allowed(&id) {
            next.run(request).await
        } else {
            Redirect::to("/login").into_response()
        };
        if fresh
            && !response.headers().contains_key(header::SET_COOKIE)
            && let Ok(v) = HeaderValue::from_str(&access::set_cookie(&id))
        {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Starts the dashboard for `loa run` (and the demo): checks the password rule, binds, writes
/// the address for `loa status`, and serves until the task is aborted. Returns the address it
/// listens on, for the caller to print.
pub async fn start(
    engine: Arc<Engine>,
    web: &WebConfig,
    password: Option<SecretString>,
) -> Result<Started, StartError> {
    if !web.is_loopback() && password.is_none() {
        return Err(StartError::NeedsPassword(web.listen));
    }
    let listener = tokio::net::TcpListener::bind(web.listen)
        .await
        .map_err(|e| StartError::Bind(web.listen, e))?;
    let address = listener
        .local_addr()
        .map_err(|e| StartError::Bind(web.listen, e))?;
    let data_dir = engine.config().data_dir.clone();
    let dashboard = Arc::new(Dashboard::new(engine, address, password.as_ref())?);
    let url = url_of(address);
    if !web.is_loopback() {
        tracing::warn!(
            "{}",
            tr(
                "the dashboard is reachable from other computers over plain HTTP: the password and the pages cross the network unencrypted; use it only on a network you trust, or put it behind an HTTPS proxy",
                "bảng điều khiển mở cho máy khác qua HTTP thường: mật khẩu và nội dung đi qua mạng không được mã hóa; chỉ dùng trong mạng tin cậy, hoặc đặt sau một proxy HTTPS",
            )
        );
    }
    tracing::info!(%url, "dashboard listening");
    write_address(&data_dir, &url);
    let app = router(dashboard.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the dashboard stopped");
        }
    });
    Ok(Started {
        address,
        task,
        dashboard,
    })
}

/// The line that tells the officer where the dashboard is.
pub fn address_line(address: SocketAddr) -> String {
    format!(
        "{}: {}",
        tr(
            "Dashboard (open it in a browser)",
            "Bảng điều khiển (mở bằng trình duyệt)"
        ),
        url_of(address)
    )
}

/// The address people type for `address`: a wildcard listen is reached as this machine.
pub fn url_of(address: SocketAddr) -> String {
    match address {
        SocketAddr::V4(a) if a.ip().is_unspecified() => {
            format!("http://127.0.0.1:{}/", a.port())
        }
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("http://[::1]:{}/", a.port()),
        a => format!("http://{a}/"),
    }
}

fn write_address(data_dir: &Path, url: &str) {
    let path = data_dir.join(ADDRESS_FILE);
    if let Err(e) = crate::app::report::write_atomically(&path, format!("{url}\n").as_bytes()) {
        tracing::warn!(path = %path.display(), error = %e, "could not record the dashboard's address");
    }
}

/// Forgets the recorded address (the service stopped).
pub fn forget_address(data_dir: &Path) {
    let _ = std::fs::remove_file(data_dir.join(ADDRESS_FILE));
}

/// The running service's dashboard address, when it has one (for `loa status`).
pub fn running_address(data_dir: &Path) -> Option<String> {
    crate::service::running(data_dir)?;
    let text = std::fs::read_to_string(data_dir.join(ADDRESS_FILE)).ok()?;
    let url = text.trim();
    url.starts_with("http://").then(|| url.to_string())
}

/// The password from the environment, when set and not empty.
pub fn password_from_env() -> Option<SecretString> {
    std::env::var(PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from)
}
