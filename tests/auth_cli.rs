//! `loa auth facebook` and `loa auth zalo` as the officer runs them: the built binary, its exit
//! codes and its words, the Graph API faked by wiremock on 127.0.0.1, Zalo's OAuth server on a
//! closed local port (no step here needs it).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE_ID: &str = "123456789012345";
const USER_TOKEN: &str = "EAAuserSHORTtoken111";
const LONG_TOKEN: &str = "EAAuserLONGtoken222";
const PAGE_TOKEN: &str = "EAApageTOKEN333";

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl World {
    fn new(graph_url: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let config = root.join("loa.toml");
        std::fs::write(
            &config,
            format!(
                "language = \"en\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
                 [facebook]\npage_id = \"{PAGE_ID}\"\ngraph_url = \"{graph_url}\"\n\
                 [zalo]\napp_id = \"1234567890\"\noauth_url = \"http://127.0.0.1:9\"\nopenapi_url = \"http://127.0.0.1:9\"\n"
            ),
        )
        .unwrap();
        World {
            _dir: dir,
            root,
            config,
        }
    }

    /// `loa --config FILE auth ARGS…` with only the given `LOA_*` variables, `stdin` on its input.
    fn auth(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loa"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LOA_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd
            .envs(env.iter().copied())
            .arg("--config")
            .arg(&self.config)
            .arg("auth")
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn tokens(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.tokens_path()).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn tokens_path(&self) -> PathBuf {
        self.root.join("data/tokens.json")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const FB_APP: [(&str, &str); 2] = [
    ("LOA_FACEBOOK_APP_ID", "1234567890"),
    ("LOA_FACEBOOK_APP_SECRET", "appSECRETabcdef0123456789"),
];

/// The Graph API's two answers: the long-lived token, then the Page list.
async fn graph(tasks: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("fb_exchange_token", USER_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5183944
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("access_token", LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": PAGE_ID, "name": "UBND xã Tân Lập", "access_token": PAGE_TOKEN, "tasks": tasks}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_facebook_stores_the_page_token_and_says_where() {
    let server = graph(json!(["CREATE_CONTENT", "MANAGE"])).await;
    let w = World::new(&server.uri());
    // `-` reads the token from standard input, keeping it out of the shell history.
    let out = w.auth(
        &["facebook", "--user-token", "-"],
        &FB_APP,
        &format!("{USER_TOKEN}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = w.tokens_path().display().to_string();
    assert_eq!(
        text(&out.stdout),
        format!(
            "Stored the Page token for “UBND xã Tân Lập” ({PAGE_ID}) in {shown}. Restart `loa run` to use it.\n"
        )
    );
    assert_eq!(text(&out.stderr), "");
    let tokens = w.tokens();
    assert_eq!(tokens["facebook"]["page_id"], PAGE_ID);
    assert_eq!(tokens["facebook"]["page_token"], PAGE_TOKEN);
    for secret in [USER_TOKEN, LONG_TOKEN, PAGE_TOKEN] {
        assert!(!text(&out.stdout).contains(secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_facebook_warns_when_the_user_cannot_publish() {
    let server = graph(json!(["ANALYZE"])).await;
    let w = World::new(&server.uri());
    let out = w.auth(&["facebook", "--user-token", USER_TOKEN], &FB_APP, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    // After the log line, the officer's warning.
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning: on the Page \"UBND xã Tân Lập\"")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_facebook_failures_and_their_exit_codes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired.",
            "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "A3"
        }})))
        .mount(&server)
        .await;
    let w = World::new(&server.uri());

    let out = w.auth(&["facebook", "--user-token", USER_TOKEN], &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("set LOA_FACEBOOK_APP_ID and LOA_FACEBOOK_APP_SECRET"),
        "{}",
        text(&out.stderr)
    );

    let out = w.auth(&["facebook", "--user-token", "-"], &FB_APP, "  \n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "need a user token and facebook.page_id in the config\n"
    );

    let out = w.auth(&["facebook", "--user-token", USER_TOKEN], &FB_APP, "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains(USER_TOKEN), "{err}");
    assert!(!w.tokens_path().exists());
}

const ZALO_SECRET: [(&str, &str); 1] = [("LOA_ZALO_APP_SECRET", "zaloSECRET0123456789")];

#[test]
fn auth_zalo_steps_and_their_exit_codes() {
    let w = World::new("http://127.0.0.1:9");
    let url = ["zalo", "--url", "--redirect-uri", "https://xa.example/cb"];

    let out = w.auth(&url, &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("no app secret: set LOA_ZALO_APP_SECRET"),
        "{}",
        text(&out.stderr)
    );

    let out = w.auth(&["zalo", "--url", "--redirect-uri", " "], &ZALO_SECRET, "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "--url needs --redirect-uri (the callback URL set in the Zalo console)\n"
    );

    let out = w.auth(&url, &ZALO_SECRET, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with(
            "Ask an OA admin to open this link and allow the app:\n\nhttp://127.0.0.1:9/"
        ),
        "{said}"
    );
    assert!(said.contains("app_id=1234567890&redirect_uri=https%3A%2F%2Fxa.example%2Fcb"));
    assert!(said.ends_with("within 10 minutes run:\n  loa auth zalo --code CODE --state STATE\n"));

    // A state other than the link's is refused before anything is sent.
    let out = w.auth(
        &["zalo", "--code", "abc", "--state", "not-the-link-s"],
        &ZALO_SECRET,
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: "),
        "{}",
        text(&out.stderr)
    );

    let out = w.auth(
        &["zalo", "--refresh-token", "-"],
        &ZALO_SECRET,
        "refreshTOKEN42\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Refresh token stored. Restart `loa run` to use it.\n"
    );
    assert_eq!(w.tokens()["zalo"]["refresh_token"], "refreshTOKEN42");
}
