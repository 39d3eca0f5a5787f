//! The webhook sink: the alert as the contract's JSON body, POSTed to an `[[alerts.webhook]]`'s
//! `url`, signed with `X-Loa-Signature: sha256=<hex HMAC-SHA256 of the body>` when
//! `LOA_WEBHOOK_SECRET` is set. Any 2xx answer is a success; redirects are not followed (the
//! body would be sent somewhere the officer did not write).

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::Alert;
use super::sink::{Failure, SendError};
use crate::config::WebhookSinkConfig;
use crate::i18n::tr;
use crate::platform::transport::Transport;

/// The header that carries the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Loa-Signature";

/// How long a whole POST may take (shortened by `LOA_HTTP_TIMEOUT` in the proof suites).
const TIMEOUT: Duration = Duration::from_secs(20);

/// The header that carries the alert's id (the same on a resend).
pub const ALERT_ID_HEADER: &str = "X-Loa-Alert-Id";

/// One `[[alerts.webhook]]`.
#[derive(Debug)]
pub struct WebhookSink {
    url: String,
    secret: Option<SecretString>,
    client: reqwest::Client,
}

impl WebhookSink {
    /// The sink of `config`, signing with `secret` (`LOA_WEBHOOK_SECRET`) when there is one.
    pub fn new(config: &WebhookSinkConfig, secret: Option<SecretString>) -> WebhookSink {
        let builder = crate::platform::http::builder()
            .timeout(crate::platform::http::shortened(TIMEOUT))
            .redirect(reqwest::redirect::Policy::none());
        // A receiver on this machine (tests, a local relay) is reached directly, never through
        // an `HTTP(S)_PROXY` from the environment.
        let builder = if crate::config::is_loopback_url(&config.url) {
            builder.no_proxy()
        } else {
            builder
        };
        WebhookSink {
            url: config.url.clone(),
            secret,
            client: builder.build().unwrap_or_else(|_| reqwest::Client::new()),
        }
    }

    /// `webhook:<url>`, the URL without its user, password and query (which may carry keys),
    /// and a short digest of the whole URL when a query was dropped, so that two URLs that
    /// differ only there stay apart.
    pub fn id(&self) -> String {
        let shown = shown_url(&self.url);
        let dropped = reqwest::Url::parse(&self.url).is_ok_and(|u| {
            u.query().is_some() || u.password().is_some() || !u.username().is_empty()
        });
        if dropped {
            use sha2::Digest;
            let digest = Sha256::digest(self.url.as_bytes());
            format!("webhook:{shown}#{}", hex(&digest[..4]))
        } else {
            format!("webhook:{shown}")
        }
    }

    /// "webhook <url>", without anything in the URL that may be a key.
    pub fn label(&self) -> String {
        let url = shown_url(&self.url);
        tr(format!("webhook {url}"), format!("webhook {url}"))
    }

    /// POSTs `alert` as JSON, signed when there is a secret.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let body = serde_json::to_vec(alert).map_err(|_| Failure::BadMessage)?;
        let mut request = self.client.post(&self.url).header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        );
        if let Some(id) = &alert.id {
            request = request.header(ALERT_ID_HEADER, id);
        }
        if let Some(secret) = &self.secret {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.expose_secret().as_bytes(), &body),
            );
        }
        let answer = request.body(body).send().await.map_err(|e| {
            // The error's text (which names the URL) is never shown: only its kind.
            SendError::from(match Transport::of(&e) {
                Transport::ConnectFailed if not_tls(&e) => Failure::HttpsTls,
                Transport::Timeout => {
                    Failure::Timeout(crate::platform::http::shortened(TIMEOUT).as_secs().max(1))
                }
                Transport::AddressNotFound => Failure::AddressNotFound,
                Transport::Refused => Failure::Refused,
                Transport::Insecure => Failure::HttpsTls,
                Transport::ConnectFailed => Failure::CannotConnect,
                Transport::ConnectionLost | Transport::AnswerCutOff => Failure::ConnectionLost,
            })
        })?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure::Http(status.as_u16()).into())
        }
    }
}

/// Whether `error` is a server that does not speak TLS at an https address (rustls reads its
/// plain answer as a "corrupt message"), which the shared transport reader counts as a failed
/// connection.
fn not_tls(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        let text = cause.to_string().to_lowercase();
        if text.contains("corrupt message") || text.contains("handshake") {
            return true;
        }
        source = cause.source();
    }
    false
}

/// `sha256=<hex HMAC-SHA256 of body with key>`, the value of [`SIGNATURE_HEADER`].
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `url` without user, password, query and fragment: what may be shown of it.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        // The config has checked the URL; should it still not parse, show only its scheme
        // and host part.
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231s_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_in_the_url_are_never_shown() {
        let sink = WebhookSink::new(
            &WebhookSinkConfig {
                url: "https://bot:pw@example.gov.vn/hooks/loa?key=abc123".into(),
            },
            Some(SecretString::from("whsec")),
        );
        assert_eq!(sink.label(), "webhook https://example.gov.vn/hooks/loa");
        assert!(
            sink.id()
                .starts_with("webhook:https://example.gov.vn/hooks/loa#")
        );
        assert!(!sink.id().contains("abc123") && !sink.id().contains("pw"));
        let plain = WebhookSink::new(
            &WebhookSinkConfig {
                url: "https://example.gov.vn/hooks/loa".into(),
            },
            None,
        );
        assert_eq!(plain.id(), "webhook:https://example.gov.vn/hooks/loa");
    }
}
