//! Connecting the platform accounts: `loa auth facebook` (a user token becomes the Page token
//! loa keeps) and the steps of `loa auth zalo` (OAuth v4 with PKCE, or a refresh token given by
//! hand). The tokens go to the token store (`data_dir/tokens.json`, mode 0600), where a
//! restarted `loa run` finds them.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use crate::channel::Channel;
use crate::config::Config;
use crate::facebook::auth;
use crate::i18n::tr;
use crate::token_store::{FacebookTokens, TokenStore, TokenStoreError};
use crate::zalo::oauth::ZaloAuth;

/// Why an account could not be connected. The text is what the officer reads.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `LOA_FACEBOOK_APP_ID` or `LOA_FACEBOOK_APP_SECRET` is not set.
    #[error(
        "{}",
        tr(
            "set LOA_FACEBOOK_APP_ID and LOA_FACEBOOK_APP_SECRET (developers.facebook.com → your app → App settings → Basic) in the environment first",
            "hãy đặt LOA_FACEBOOK_APP_ID và LOA_FACEBOOK_APP_SECRET (developers.facebook.com → ứng dụng → Cài đặt → Thông tin cơ bản) trong biến môi trường trước",
        )
    )]
    NoFacebookApp,
    /// The user token is blank, or the config has no `facebook.page_id`.
    #[error(
        "{}",
        tr(
            "need a user token and facebook.page_id in the config",
            "cần user token và facebook.page_id trong cấu hình"
        )
    )]
    NoUserTokenOrPage,
    /// `LOA_ZALO_APP_SECRET` is not set; the text says where to find it.
    #[error("{0}")]
    NoZaloApp(String),
    /// `--url` with a blank redirect URI.
    #[error(
        "{}",
        tr(
            "--url needs --redirect-uri (the callback URL set in the Zalo console)",
            "--url cần --redirect-uri (địa chỉ callback đặt trong trang quản lý Zalo)"
        )
    )]
    NoRedirectUri,
    /// Facebook refused, or could not be reached.
    #[error(transparent)]
    Facebook(#[from] auth::AuthError),
    /// Zalo's OAuth server refused, could not be reached, or the input was unusable.
    #[error(transparent)]
    Zalo(#[from] crate::zalo::oauth::AuthError),
    /// The token store could not be written.
    #[error(transparent)]
    Tokens(#[from] TokenStoreError),
}

impl ConnectError {
    /// Whether the setup or the command line must change (no app credentials, a blank input),
    /// rather than a platform or the disk having failed: the CLI's exit code 2, not 1.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ConnectError::NoFacebookApp
                | ConnectError::NoUserTokenOrPage
                | ConnectError::NoZaloApp(_)
                | ConnectError::NoRedirectUri
        )
    }
}

/// The Facebook app loa acts as, from `LOA_FACEBOOK_APP_ID` and `LOA_FACEBOOK_APP_SECRET`.
pub struct FacebookApp {
    id: String,
    secret: SecretString,
}

impl FacebookApp {
    /// The app from the environment; checked before anything else is asked of the officer.
    pub fn from_env() -> Result<FacebookApp, ConnectError> {
        match (
            std::env::var("LOA_FACEBOOK_APP_ID"),
            std::env::var("LOA_FACEBOOK_APP_SECRET"),
        ) {
            (Ok(id), Ok(secret)) => Ok(FacebookApp {
                id,
                secret: SecretString::from(secret),
            }),
            _ => Err(ConnectError::NoFacebookApp),
        }
    }
}

/// The Page whose token `loa auth facebook` stored.
#[derive(Debug)]
pub struct ConnectedPage {
    /// The Page id (`facebook.page_id`).
    pub id: String,
    /// The Page name, as Facebook gave it.
    pub name: String,
    /// The token store the token was written to.
    pub stored_in: PathBuf,
    /// Said to the officer when the user's tasks on the Page may not allow publishing.
    pub warning: Option<String>,
}

/// Exchanges `user_token` for a long-lived one, finds the Page token for `facebook.page_id`
/// with it and stores that in the token store. Only the Page token is kept.
pub async fn facebook(
    config: &Config,
    app: &FacebookApp,
    user_token: &str,
) -> Result<ConnectedPage, ConnectError> {
    let user_token = user_token.trim();
    if user_token.is_empty() || config.facebook.page_id.is_empty() {
        return Err(ConnectError::NoUserTokenOrPage);
    }
    let user_token = SecretString::from(user_token.to_string());
    let base = format!(
        "{}/{}",
        config.facebook.graph_url.trim_end_matches('/'),
        config.facebook.api_version
    );
    let http = crate::facebook::client::http_client_for(&config.facebook.graph_url);
    let long = auth::exchange_user_token(&http, &base, &app.id, &app.secret, &user_token).await?;
    let page = auth::find_page_token(&http, &base, &long.token, &config.facebook.page_id).await?;
    let store = TokenStore::new(&config.data_dir);
    // `loa auth` is a one-off command in the real world: the system clock.
    let now = crate::clock::Clock::system().now();
    // Blocks while another loa holds the token store's lock (a Zalo refresh): brief, and this
    // command has nothing else to do meanwhile.
    store.update(|t| {
        t.facebook = Some(FacebookTokens {
            page_id: page.id.clone(),
            page_name: Some(page.name.clone()),
            page_token: page.token.clone(),
            stored_at: now,
        });
        Ok(())
    })?;
    connected_anew(config, Channel::Facebook);
    Ok(ConnectedPage {
        warning: page.task_warning(),
        id: page.id,
        name: page.name,
        stored_in: store.path().to_path_buf(),
    })
}

/// The OAuth client for the config's Zalo app (`LOA_ZALO_APP_SECRET`), checked before anything
/// else is asked of the officer.
pub fn zalo_app(config: &Config) -> Result<Arc<ZaloAuth>, ConnectError> {
    crate::zalo::spec::auth(
        config,
        &crate::engine::Clock::system(),
        &crate::channels::Secrets::from_env(),
    )
    .map_err(ConnectError::NoZaloApp)
}

/// One step of connecting the Zalo OA.
#[derive(Debug)]
pub enum ZaloStep {
    /// Make the consent URL for this redirect URI (the OA callback URL).
    Url(String),
    /// Exchange the callback's code, checking its state against the consent URL's when given.
    Code(String, Option<String>),
    /// Store a refresh token obtained elsewhere.
    RefreshToken(String),
}

/// What a step did.
#[derive(Debug, PartialEq, Eq)]
pub enum ZaloDone {
    /// The consent URL for an OA admin to open (its PKCE verifier and state are stored).
    ConsentUrl(String),
    /// The code was exchanged and the token pair stored.
    Connected,
    /// The refresh token was stored.
    RefreshTokenStored,
}

/// Records that `channel` was connected anew: its "needs a new token" alert may come again the
/// next time it is needed. Only when loa's database already exists (a first connection has no
/// alert to clear); a failure here is logged, never the command's.
pub fn connected_anew(config: &Config, channel: Channel) {
    if !config.data_dir.join("loa.db").exists() {
        return;
    }
    let cleared = crate::engine::open_store(&config.data_dir).and_then(|mut s| {
        s.clear_condition(&format!("needs_reauth:{}", channel.name()))
            .map_err(std::io::Error::other)
    });
    if let Err(e) = cleared {
        tracing::warn!(error = %e, "could not clear the re-authorization alert");
    }
}

/// Takes one step of connecting the Zalo OA with `auth` (from [`zalo_app`]); `config`'s store
/// learns that the OA was connected anew once tokens are stored.
pub async fn zalo(
    config: &Config,
    auth: &ZaloAuth,
    step: ZaloStep,
) -> Result<ZaloDone, ConnectError> {
    let done = zalo_step(auth, step).await?;
    if matches!(done, ZaloDone::Connected | ZaloDone::RefreshTokenStored) {
        connected_anew(config, Channel::Zalo);
    }
    Ok(done)
}

async fn zalo_step(auth: &ZaloAuth, step: ZaloStep) -> Result<ZaloDone, ConnectError> {
    Ok(match step {
        ZaloStep::Url(uri) if uri.trim().is_empty() => return Err(ConnectError::NoRedirectUri),
        ZaloStep::Url(uri) => ZaloDone::ConsentUrl(auth.consent_url(uri.trim())?),
        ZaloStep::Code(code, state) => {
            auth.exchange_code(code.trim(), state.as_deref()).await?;
            ZaloDone::Connected
        }
        ZaloStep::RefreshToken(token) => {
            auth.seed(token.trim())?;
            ZaloDone::RefreshTokenStored
        }
    })
}
