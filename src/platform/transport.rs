//! Sending a request and reading its answer, the same way for every platform: a call either
//! gets an answer (a status, headers and a body, judged by the platform's error table) or ends
//! in a [`Transport`] failure, told in the officer's language by [`no_answer`].
//!
//! A transport failure is worded without the request's URL: the URL carries tokens.

use reqwest::header::HeaderMap;

use crate::i18n::{Language, language};
use crate::platform::redact;

/// How a call ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// No answer within the client's wait.
    Timeout,
    /// The platform's address could not be looked up (DNS): nothing was sent.
    AddressNotFound,
    /// The connection was refused: nothing was sent.
    Refused,
    /// The secure connection (TLS, certificates) could not be set up: nothing was sent.
    Insecure,
    /// The connection could not be made for another reason: nothing was sent.
    ConnectFailed,
    /// The connection broke after the request may have left.
    ConnectionLost,
    /// The answer started but broke off before its end, or could not be read.
    AnswerCutOff,
}

impl Transport {
    /// What `error` (from sending a request or reading its answer) means. The library's text
    /// is looked at only to tell the kinds apart; it is never shown.
    pub fn of(error: &reqwest::Error) -> Transport {
        let chain = chain_text(error);
        let io_kind = io_kind(error);
        if error.is_timeout() {
            Transport::Timeout
        } else if error.is_connect() {
            if chain.contains("dns") || chain.contains("lookup") || chain.contains("resolve") {
                Transport::AddressNotFound
            } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused)
                || chain.contains("refused")
            {
                Transport::Refused
            } else if chain.contains("certificate") || chain.contains("tls") {
                Transport::Insecure
            } else {
                Transport::ConnectFailed
            }
        } else if error.is_body() || error.is_decode() {
            Transport::AnswerCutOff
        } else {
            Transport::ConnectionLost
        }
    }

    /// A few words for the officer with what to do, in the process's language.
    pub fn words(self) -> &'static str {
        self.words_in(language())
    }

    /// A few words for the officer with what to do, in `language`.
    pub fn words_in(self, language: Language) -> &'static str {
        let (en, vi) = match self {
            Transport::Timeout => (
                "no answer in time (the network or the platform is slow)",
                "hết thời gian chờ mà chưa có trả lời (mạng hoặc nền tảng đang chậm)",
            ),
            Transport::AddressNotFound => (
                "its address could not be found (check the Internet and the address in the config)",
                "không tìm thấy địa chỉ (hãy kiểm tra mạng Internet và địa chỉ trong cấu hình)",
            ),
            Transport::Refused => (
                "the platform refused the call (check the address in the config)",
                "nền tảng từ chối kết nối (hãy kiểm tra địa chỉ trong cấu hình)",
            ),
            Transport::Insecure => (
                "no secure link could be set up (check the computer's date and time)",
                "không thiết lập được kết nối bảo mật (hãy kiểm tra ngày giờ của máy)",
            ),
            Transport::ConnectFailed => (
                "the platform could not be reached (check the Internet)",
                "không kết nối được (hãy kiểm tra mạng Internet)",
            ),
            Transport::ConnectionLost => (
                "the link dropped before the answer came (check the Internet)",
                "mất kết nối trước khi có trả lời (hãy kiểm tra mạng Internet)",
            ),
            Transport::AnswerCutOff => (
                "the answer broke off before its end",
                "câu trả lời bị cắt ngang",
            ),
        };
        match language {
            Language::En => en,
            Language::Vi => vi,
        }
    }
}

/// The error and its causes as one lower-case text, only to tell kinds apart.
fn chain_text(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        text.push_str(&cause.to_string().to_lowercase());
        text.push(' ');
        source = cause.source();
    }
    text
}

/// The kind of the first I/O error among the causes.
fn io_kind(error: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// "no answer from {platform}: {what}", in the process's language. `what` describes the
/// failure (a [`Transport::words`], or a transport error's text); secrets in it are hidden.
pub fn no_answer(platform: &str, what: &str) -> String {
    no_answer_in(language(), platform, what)
}

/// [`no_answer`] in `language`.
pub fn no_answer_in(language: Language, platform: &str, what: &str) -> String {
    let what = redact::scrub(what.trim());
    match language {
        Language::En => format!("no answer from {platform}: {what}"),
        Language::Vi => format!("{platform} không trả lời: {what}"),
    }
}

/// What a platform's answer says when its body holds nothing to read (no error, no result):
/// "{platform} answered HTTP {status} …", with the status deciding the rest.
pub fn bare_answer(platform: &str, status: u16) -> String {
    bare_answer_in(language(), platform, status)
}

/// [`bare_answer`] in `language`.
pub fn bare_answer_in(language: Language, platform: &str, status: u16) -> String {
    match (language, status) {
        (Language::En, 429) => format!("{platform} answered 429 Too Many Requests"),
        (Language::Vi, 429) => format!("{platform} trả lời 429 Too Many Requests"),
        // A success whose body the caller could not use (no id, no token, `success:false`).
        (Language::En, 200..=299) => {
            format!("{platform} answered HTTP {status} without the expected result")
        }
        (Language::Vi, 200..=299) => {
            format!("{platform} trả lời HTTP {status} nhưng thiếu kết quả mong đợi")
        }
        (Language::En, _) => format!("{platform} answered HTTP {status} with no error details"),
        (Language::Vi, _) => format!("{platform} trả lời HTTP {status} không kèm chi tiết lỗi"),
    }
}

/// A platform's answer, read to its end.
#[derive(Debug)]
pub struct Answered {
    /// The HTTP status.
    pub status: u16,
    /// The headers (usage and rate-limit figures travel there).
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Answered {
    /// The header `name` as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A call that got no whole answer.
#[derive(Debug)]
pub struct NoAnswer {
    /// How it ended.
    pub kind: Transport,
    /// The transport error, without its URL (`reqwest::Error::without_url`): the URL carries
    /// tokens, and this error may be shown or kept as a source.
    pub error: reqwest::Error,
}

/// Sends `request` and reads the whole answer.
pub async fn exchange(request: reqwest::RequestBuilder) -> Result<Answered, NoAnswer> {
    let response = request.send().await.map_err(|error| NoAnswer {
        kind: Transport::of(&error),
        error: error.without_url(),
    })?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    // Whatever broke while reading, the answer is incomplete: it cannot be trusted.
    let body = response.text().await.map_err(|error| NoAnswer {
        kind: Transport::AnswerCutOff,
        error: error.without_url(),
    })?;
    Ok(Answered {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Transport; 7] = [
        Transport::Timeout,
        Transport::AddressNotFound,
        Transport::Refused,
        Transport::Insecure,
        Transport::ConnectFailed,
        Transport::ConnectionLost,
        Transport::AnswerCutOff,
    ];

    #[test]
    fn english_words_stay_as_they_were() {
        let words: Vec<_> = ALL.iter().map(|t| t.words_in(Language::En)).collect();
        assert_eq!(
            words,
            [
                "no answer in time (the network or the platform is slow)",
                "its address could not be found (check the Internet and the address in the config)",
                "the platform refused the call (check the address in the config)",
                "no secure link could be set up (check the computer's date and time)",
                "the platform could not be reached (check the Internet)",
                "the link dropped before the answer came (check the Internet)",
                "the answer broke off before its end",
            ]
        );
        assert_eq!(
            no_answer_in(
                Language::En,
                "Facebook",
                Transport::Timeout.words_in(Language::En)
            ),
            "no answer from Facebook: no answer in time (the network or the platform is slow)"
        );
    }

    #[test]
    fn vietnamese_is_vietnamese_through_and_through() {
        for transport in ALL {
            let en = transport.words_in(Language::En);
            let vi = transport.words_in(Language::Vi);
            assert_ne!(en, vi, "{transport:?}");
            let message = no_answer_in(Language::Vi, "Zalo", vi);
            assert!(message.starts_with("Zalo không trả lời: "), "{message}");
            assert!(!message.contains(en), "{message}");
        }
        assert_eq!(
            no_answer_in(
                Language::Vi,
                "Facebook",
                Transport::ConnectionLost.words_in(Language::Vi)
            ),
            "Facebook không trả lời: mất kết nối trước khi có trả lời (hãy kiểm tra mạng Internet)"
        );
    }

    #[test]
    fn bare_answers_in_both_languages() {
        let cases = [
            (Language::En, 429, "Zalo answered 429 Too Many Requests"),
            (Language::Vi, 429, "Zalo trả lời 429 Too Many Requests"),
            (
                Language::En,
                502,
                "Zalo answered HTTP 502 with no error details",
            ),
            (
                Language::Vi,
                502,
                "Zalo trả lời HTTP 502 không kèm chi tiết lỗi",
            ),
            (
                Language::En,
                200,
                "Zalo answered HTTP 200 without the expected result",
            ),
            (
                Language::Vi,
                200,
                "Zalo trả lời HTTP 200 nhưng thiếu kết quả mong đợi",
            ),
        ];
        for (language, status, expected) in cases {
            assert_eq!(bare_answer_in(language, "Zalo", status), expected);
        }
    }

    #[test]
    fn a_quoted_url_loses_its_token() {
        let what = " error sending request for url (https://x/feed?access_token=EAAG1&f=id) ";
        let message = no_answer_in(Language::En, "Facebook", what);
        assert_eq!(
            message,
            "no answer from Facebook: error sending request for url \
             (https://x/feed?access_token=[hidden]&f=id)"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_told_as_refused() {
        // A port that was just free: the connection is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let http = crate::platform::http::client_for(&format!("http://127.0.0.1:{port}"));
        let url = format!("http://127.0.0.1:{port}/x?access_token=EAAGsecret");
        let failed = exchange(http.get(url)).await.unwrap_err();
        assert_eq!(failed.kind, Transport::Refused);
        // The URL, and the token in it, is gone from the error.
        let mut text = format!("{} / {:?}", failed.error, failed.error);
        let mut source = std::error::Error::source(&failed.error);
        while let Some(cause) = source {
            text.push_str(&format!(" / {cause} / {cause:?}"));
            source = cause.source();
        }
        assert!(!text.contains("EAAGsecret"), "{text}");
    }
}
