//! A fake SMTP server on 127.0.0.1 that speaks enough SMTP for lettre and keeps what it
//! receives, and a reader for what it received (RFC 2047 encoded words, quoted-printable,
//! base64): the alert tests' mail server.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the fake server answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Smtp {
    /// Takes every mail.
    Accept,
    /// Answers 535 to AUTH.
    WrongPassword,
    /// Answers 550 to RCPT TO.
    RejectRecipient,
    /// Takes the connection and never says a word.
    Silent,
}

/// One session's mail, as the fake received it.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub login: Option<(String, String)>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

pub struct FakeSmtp {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
}

pub async fn fake_smtp(mode: Smtp) -> FakeSmtp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(session(socket, mode, store.clone()));
        }
    });
    FakeSmtp { port, received }
}

pub async fn session(socket: tokio::net::TcpStream, mode: Smtp, store: Arc<Mutex<Vec<Received>>>) {
    if mode == Smtp::Silent {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        return;
    }
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    let mut mail = Received::default();
    let mut line = String::new();
    macro_rules! say {
        ($text:expr) => {
            if write.write_all($text.as_bytes()).await.is_err() {
                return;
            }
        };
    }
    macro_rules! next_line {
        () => {{
            line.clear();
            match read.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => line.trim_end_matches(['\r', '\n']).to_string(),
            }
        }};
    }
    say!("220 fake.test ESMTP\r\n");
    loop {
        let command = next_line!();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            say!("250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = command[10..].trim().to_string();
            let encoded = if initial.is_empty() {
                say!("334 \r\n");
                next_line!()
            } else {
                initial
            };
            let decoded = BASE64.decode(encoded).unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            mail.login = Some((
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default(),
            ));
            if mode == Smtp::WrongPassword {
                say!("535 5.7.8 Authentication credentials invalid\r\n");
            } else {
                say!("235 2.7.0 Authentication successful\r\n");
            }
        } else if upper.starts_with("AUTH LOGIN") {
            say!("334 VXNlcm5hbWU6\r\n");
            let user = BASE64.decode(next_line!()).unwrap_or_default();
            say!("334 UGFzc3dvcmQ6\r\n");
            let password = BASE64.decode(next_line!()).unwrap_or_default();
            mail.login = Some((
                String::from_utf8_lossy(&user).into_owned(),
                String::from_utf8_lossy(&password).into_owned(),
            ));
            if mode == Smtp::WrongPassword {
                say!("535 5.7.8 Authentication credentials invalid\r\n");
            } else {
                say!("235 2.7.0 Authentication successful\r\n");
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail.mail_from = command[10..].trim().to_string();
            say!("250 2.1.0 Ok\r\n");
        } else if upper.starts_with("RCPT TO:") {
            if mode == Smtp::RejectRecipient {
                say!("550 5.1.1 No such user here\r\n");
            } else {
                mail.rcpt_to.push(command[8..].trim().to_string());
                say!("250 2.1.5 Ok\r\n");
            }
        } else if upper == "DATA" {
            say!("354 End data with <CR><LF>.<CR><LF>\r\n");
            let mut data = String::new();
            loop {
                let l = next_line!();
                if l == "." {
                    break;
                }
                // Dot-stuffing: a line starting with a dot was sent with two.
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push_str("\r\n");
            }
            // The line end before the final dot belongs to the terminator.
            data.truncate(data.len().saturating_sub(2));
            mail.data = data;
            store.lock().unwrap().push(mail.clone());
            say!("250 2.0.0 Ok: queued\r\n");
        } else if upper == "RSET" || upper == "NOOP" {
            say!("250 2.0.0 Ok\r\n");
        } else if upper == "QUIT" {
            say!("221 2.0.0 Bye\r\n");
            return;
        } else {
            say!("502 5.5.2 Command not recognized\r\n");
        }
    }
}

// ---- Reading the mail back: RFC 2047 encoded words, quoted-printable and base64.

/// The mail's headers (unfolded) and its decoded body.
pub fn read_mail(data: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = data
        .split_once("\r\n\r\n")
        .expect("headers, a blank line, a body");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a folded line follows a header");
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').expect("name: value");
            headers.push((name.to_string(), value.trim().to_string()));
        }
    }
    let encoding = header(&headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => BASE64
            .decode(body.split_whitespace().collect::<String>())
            .expect("base64 body"),
        "quoted-printable" => quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    let body = String::from_utf8(bytes).expect("a UTF-8 body");
    (headers, body.replace("\r\n", "\n"))
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).expect("=XX"));
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A header value with its RFC 2047 encoded words decoded: the space between two encoded
/// words is not part of the text.
pub fn decode_words(value: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut previous_encoded = false;
    for (i, token) in value.split(' ').filter(|t| !t.is_empty()).enumerate() {
        let word = token
            .strip_prefix("=?")
            .and_then(|t| t.strip_suffix("?="))
            .and_then(|t| {
                let mut parts = t.splitn(3, '?');
                Some((parts.next()?, parts.next()?, parts.next()?))
            });
        match word {
            Some((charset, encoding, text)) => {
                assert!(charset.eq_ignore_ascii_case("utf-8"), "{charset}");
                if i > 0 && !previous_encoded {
                    out.push(b' ');
                }
                if encoding.eq_ignore_ascii_case("b") {
                    out.extend(BASE64.decode(text).expect("a base64 encoded word"));
                } else {
                    out.extend(quoted_printable(&text.replace('_', " ")));
                }
                previous_encoded = true;
            }
            None => {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend(token.as_bytes());
                previous_encoded = false;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 encoded words")
}
