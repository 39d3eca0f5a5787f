//! `config/loa.toml`: parsed from text, then validated into [`Config`], then used.
//!
//! Parsing and validation never stop at the first problem they can recover from: the officer
//! gets every mistake in one run, each with its line and the fix.

mod alerts;
mod duration;
mod secrets;
mod shape;
mod slot;
mod target;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{Diagnostic, Problem};
use crate::i18n::{Language, tr};
use crate::text::{LineIndex, char_len};

pub use alerts::{AlertsConfig, EmailSinkConfig, SmtpSecurity, WebhookSinkConfig};
pub use duration::parse_duration;
pub use slot::{Slot, parse_time_of_day};
pub use target::{Per, Target};

/// Where loa looks for its config when neither `--config` nor `LOA_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "config/loa.toml";

/// Zalo rejects an author name longer than this (characters, after NFC).
pub const ZALO_AUTHOR_MAX: usize = 50;

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Zone of every local time: front-matter times, slots, what loa shows.
    pub timezone: Tz,
    /// The officer's posts. Relative paths are resolved against the config file's folder.
    pub posts_dir: PathBuf,
    /// loa's own store: SQLite, token store, report.
    pub data_dir: PathBuf,
    /// Language of everything the officer reads.
    pub language: Language,
    /// When posts go out.
    pub schedule: ScheduleConfig,
    /// How failed attempts are retried.
    pub retry: RetryConfig,
    /// The Facebook Page channel.
    pub facebook: FacebookConfig,
    /// The Zalo Official Account channel.
    pub zalo: ZaloConfig,
    /// Where local images are served publicly.
    pub media: MediaConfig,
    /// The communication plan's targets, per channel.
    pub targets: Targets,
    /// The dashboard `loa run` serves, when `[web]` is in the file.
    pub web: Option<WebConfig>,
    /// Where alerts go (email, webhook), when `[alerts]` is in the file.
    pub alerts: Option<AlertsConfig>,
    /// Problems that do not stop loa (e.g. a plain-http media URL).
    pub warnings: Vec<Diagnostic>,
}

/// `[schedule]`.
#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    /// Weekly slots for posts without `publish_at`, sorted by weekday and time.
    pub slots: Vec<Slot>,
    /// Overdue by more than this, a delivery is `missed` instead of published.
    pub max_lateness: Duration,
    /// What an edit of an already published post does.
    pub on_edit: OnEdit,
}

/// What an edit of a published post does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnEdit {
    /// Update the post on the platform.
    Update,
    /// Leave the platform alone.
    Ignore,
}

/// `[retry]`.
#[derive(Clone, Debug)]
pub struct RetryConfig {
    /// First backoff delay.
    pub base_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Attempts before a delivery fails.
    pub max_attempts: u32,
}

/// `[facebook]`.
#[derive(Clone, Debug)]
pub struct FacebookConfig {
    /// Whether loa publishes to Facebook.
    pub enabled: bool,
    /// The Page's numeric id.
    pub page_id: String,
    /// Graph API base URL (a fake or `loa sandbox` in tests).
    pub graph_url: String,
    /// Graph API version, e.g. `v25.0`.
    pub api_version: String,
    /// Hand posts due 10 min..30 days ahead to Facebook's own scheduler.
    pub native_schedule: bool,
}

/// `[zalo]`.
#[derive(Clone, Debug)]
pub struct ZaloConfig {
    /// Whether loa publishes to Zalo.
    pub enabled: bool,
    /// The Zalo app id.
    pub app_id: String,
    /// Open API base URL.
    pub openapi_url: String,
    /// OAuth base URL.
    pub oauth_url: String,
    /// Article author shown by Zalo (≤ 50 characters).
    pub author: String,
    /// Cover used when a post has no image of its own.
    pub default_cover_url: Option<String>,
    /// Also push each article to followers.
    pub broadcast: bool,
    /// How long a new article may take to appear in Zalo's article list: reconciliation waits
    /// this long after a create before it concludes the article does not exist.
    pub listing_delay: Duration,
}

/// `[media]`.
#[derive(Clone, Debug, Default)]
pub struct MediaConfig {
    /// Public URL at which `posts_dir` is served, ending with `/`.
    pub public_base_url: Option<String>,
}

/// `[web]`: the dashboard served by `loa run`.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The address it listens on (`127.0.0.1:8640` by default). Anything but a loopback
    /// address needs `LOA_WEB_PASSWORD` in the environment.
    pub listen: std::net::SocketAddr,
}

impl WebConfig {
    /// Whether only this machine can reach the dashboard.
    pub fn is_loopback(&self) -> bool {
        self.listen.ip().is_loopback()
    }
}

/// `[targets]`.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    /// Facebook's target.
    pub facebook: Option<Target>,
    /// Zalo's target.
    pub zalo: Option<Target>,
}

/// A data folder inside the posts folder (or the same folder) would put loa's database, tokens
/// and lock among the officer's posts, and loa never writes there: refused, at the `data_dir`
/// line (or `posts_dir`'s, when `data_dir` is the default).
fn data_inside_posts(config: &Config, text: &str) -> Option<Diagnostic> {
    let posts = crate::paths::absolute(&config.posts_dir);
    let data = crate::paths::absolute(&config.data_dir);
    if !data.starts_with(&posts) {
        return None;
    }
    let line_of = |key: &str| {
        text.lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|i| i + 1)
    };
    let line = line_of("data_dir")
        .or_else(|| line_of("posts_dir"))
        .unwrap_or(1);
    Some(
        Diagnostic::error(
            line,
            1,
            tr(
                format!(
                    "data_dir ({}) is inside posts_dir ({}): loa's database, tokens and lock would sit among the posts",
                    data.display(),
                    posts.display()
                ),
                format!(
                    "data_dir ({}) nằm trong posts_dir ({}): cơ sở dữ liệu, mã truy cập và tệp khóa của loa sẽ lẫn vào thư mục bài viết",
                    data.display(),
                    posts.display()
                ),
            ),
        )
        .fix(tr(
            "set data_dir to a folder outside posts_dir, such as \"../data\"",
            "đặt data_dir là một thư mục nằm ngoài posts_dir, ví dụ \"../data\"",
        )),
    )
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {}", .path.display(), crate::i18n::io_error(.source))]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has errors; each is a full `path:line:col` problem.
    #[error("{}", tr(
        format!("{} problem(s) in the config", .0.len()),
        format!("tệp cấu hình có {} lỗi", .0.len()),
    ))]
    Invalid(Vec<Problem>),
}

// ---- The file as written. Every field is optional so that one missing key does not hide the
// ---- others' problems; `Spanned` keeps the place of values that validation may reject.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    timezone: Option<Spanned<String>>,
    posts_dir: Option<String>,
    data_dir: Option<String>,
    language: Option<Spanned<String>>,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    retry: RawRetry,
    facebook: Option<Spanned<RawFacebook>>,
    zalo: Option<Spanned<RawZalo>>,
    #[serde(default)]
    media: RawMedia,
    #[serde(default)]
    targets: RawTargets,
    web: Option<RawWeb>,
    alerts: Option<Spanned<alerts::RawAlerts>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    slots: Option<Vec<Spanned<String>>>,
    max_lateness: Option<Spanned<String>>,
    on_edit: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    base_delay: Option<Spanned<String>>,
    max_delay: Option<Spanned<String>>,
    max_attempts: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFacebook {
    enabled: Option<bool>,
    page_id: Option<Spanned<String>>,
    graph_url: Option<Spanned<String>>,
    api_version: Option<Spanned<String>>,
    native_schedule: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZalo {
    enabled: Option<bool>,
    app_id: Option<Spanned<String>>,
    openapi_url: Option<Spanned<String>>,
    oauth_url: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    default_cover_url: Option<Spanned<String>>,
    broadcast: Option<bool>,
    listing_delay: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    public_base_url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    facebook: Option<Spanned<String>>,
    zalo: Option<Spanned<String>>,
}

impl Config {
    /// Reads, parses and validates the config at `path`, resolving `posts_dir` and `data_dir`
    /// against the file's folder.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|diags| {
            ConfigError::Invalid(diags.into_iter().map(|d| d.in_file(path)).collect())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.posts_dir = crate::paths::clean(&base.join(&config.posts_dir));
        config.data_dir = crate::paths::clean(&base.join(&config.data_dir));
        if let Some(problem) = data_inside_posts(&config, &text) {
            return Err(ConfigError::Invalid(vec![problem.in_file(path)]));
        }
        Ok(config)
    }

    /// Parses and validates config text. Paths stay as written (relative to the file's folder).
    /// On failure, returns every error found (and the warnings beside them).
    pub fn parse(text: &str) -> Result<Config, Vec<Diagnostic>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let index = LineIndex::new(text);
        let at = |span: std::ops::Range<usize>| index.locate(span.start);

        // Step 1: syntax, and secrets, which must be refused before anything else looks at them.
        let table =
            toml::de::DeTable::parse(text).map_err(|e| vec![toml_error(&e, text, &index)])?;
        let secrets = secrets::find_secret_keys(table.get_ref());
        if !secrets.is_empty() {
            return Err(secrets
                .into_iter()
                .map(|s| {
                    let (line, col) = at(s.span);
                    Diagnostic::error(
                        line,
                        col,
                        tr(
                            format!("`{}` looks like a secret, and secrets must not be written in the config file", s.key),
                            format!("`{}` là thông tin bí mật, không được ghi trong tệp cấu hình", s.key),
                        ),
                    )
                    .fix(tr(
                        format!("delete this line and set the environment variable {} instead", s.env),
                        format!("xóa dòng này và đặt biến môi trường {}", s.env),
                    ))
                })
                .collect());
        }

        // Step 2: the shape (unknown sections and keys, wrong types), checked by loa itself so
        // that each problem names its dotted key in the officer's language; then the typed read,
        // which the shape check has made sure succeeds.
        let shape = shape::check(table.get_ref(), &index);
        if !shape.is_empty() {
            return Err(shape);
        }
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| vec![toml_error(&e, text, &index)])?;

        // Step 3: values.
        Validator {
            at: &at,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
        .validate(raw)
    }

    /// The language a config text asks for, read even from a config that is otherwise invalid, so
    /// that its problems can be told in that language. The default is Vietnamese.
    pub fn peek_language(text: &str) -> Language {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let asked = toml::de::DeTable::parse(text).ok().and_then(|t| {
            match t.get_ref().get("language").map(Spanned::get_ref) {
                Some(toml::de::DeValue::String(s)) if s.as_ref() == "en" => Some(Language::En),
                _ => None,
            }
        });
        asked.unwrap_or(Language::Vi)
    }

    /// The channels switched on in this config, in a fixed order.
    pub fn enabled_channels(&self) -> Vec<crate::channel::Channel> {
        use crate::channel::Channel;
        Channel::ALL
            .into_iter()
            .filter(|c| match c {
                Channel::Facebook => self.facebook.enabled,
                Channel::Zalo => self.zalo.enabled,
            })
            .collect()
    }
}

/// A TOML error in loa's words: the library's message is looked at only to tell the kinds
/// apart; the officer reads loa's sentence at the library's place.
fn toml_error(e: &toml::de::Error, text: &str, index: &LineIndex<'_>) -> Diagnostic {
    let (line, col) = e.span().map_or((1, 1), |s| index.locate(s.start));
    let raw = e.message().to_lowercase();
    let line_text = text.lines().nth(line - 1).unwrap_or("").trim();
    // The key or section the line starts with, to name it.
    let key = line_text
        .trim_start_matches('[')
        .split(['=', ']'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let (message, fix) = if raw.contains("duplicate") {
        (
            tr(
                format!("`{key}` is written twice"),
                format!("`{key}` được ghi hai lần"),
            ),
            tr(
                "keep only one of the two".to_string(),
                "chỉ giữ một trong hai".to_string(),
            ),
        )
    } else if raw.contains("string") || raw.contains("quote") {
        (
            tr(
                format!("the quoted text of `{key}` is not closed or holds a stray `\\`"),
                format!("đoạn chữ trong ngoặc kép của `{key}` chưa đóng hoặc có dấu `\\` thừa"),
            ),
            tr(
                "end the text with `\"` on the same line; write a folder path with `/`".to_string(),
                "kết thúc đoạn chữ bằng `\"` trên cùng dòng; ghi đường dẫn thư mục bằng `/`"
                    .to_string(),
            ),
        )
    } else {
        (
            tr(
                "this line is not valid TOML".to_string(),
                "dòng này viết sai cú pháp TOML".to_string(),
            ),
            tr(
                "write key = \"value\" (text in quotes, numbers and true/false without), and sections as [name] on their own line".to_string(),
                "ghi khóa = \"giá trị\" (chữ trong ngoặc kép, số và true/false thì không), và mục dạng [tên] trên một dòng riêng".to_string(),
            ),
        )
    };
    Diagnostic::error(line, col, message).fix(fix)
}

struct Validator<'a> {
    at: &'a dyn Fn(std::ops::Range<usize>) -> (usize, usize),
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, span: std::ops::Range<usize>, message: String, fix: Option<String>) {
        let (line, col) = (self.at)(span);
        let mut d = Diagnostic::error(line, col, message);
        d.fix = fix;
        self.errors.push(d);
    }

    fn warn(&mut self, span: std::ops::Range<usize>, message: String) {
        let (line, col) = (self.at)(span);
        self.warnings.push(Diagnostic::warning(line, col, message));
    }

    fn duration(
        &mut self,
        key: &str,
        value: Option<Spanned<String>>,
        default: Duration,
    ) -> Duration {
        let Some(v) = value else { return default };
        match parse_duration(v.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                self.error(
                    v.span(),
                    format!("`{key}`: {e}"),
                    Some(
                        tr(
                            "write a number and a unit, e.g. 30s, 15m, 1h, 2d",
                            "ghi số kèm đơn vị, ví dụ 30s, 15m, 1h, 2d",
                        )
                        .into(),
                    ),
                );
                default
            }
        }
    }

    fn url(&mut self, key: &str, value: Option<Spanned<String>>, default: &str) -> String {
        let Some(v) = value else {
            return default.to_string();
        };
        let url = v.get_ref().trim().trim_end_matches('/').to_string();
        let short = key.rsplit('.').next().unwrap_or(key);
        if !is_http_url(&url) {
            self.error(
                v.span(),
                tr(
                    format!("`{key}`: `{url}` is not a web address (http:// or https://)"),
                    format!("`{key}`: `{url}` không phải địa chỉ web (http:// hoặc https://)"),
                ),
                Some(tr(
                    format!("write the full address, e.g. {short} = \"{default}\""),
                    format!("ghi đủ địa chỉ, ví dụ {short} = \"{default}\""),
                )),
            );
        }
        url
    }

    fn validate(mut self, raw: RawConfig) -> Result<Config, Vec<Diagnostic>> {
        let timezone = match &raw.timezone {
            None => chrono_tz::Asia::Ho_Chi_Minh,
            Some(tz) => tz.get_ref().trim().parse::<Tz>().unwrap_or_else(|_| {
                self.error(
                    tz.span(),
                    tr(
                        format!("`timezone`: `{}` is not a time zone name", tz.get_ref()),
                        format!("`timezone`: `{}` không phải tên múi giờ", tz.get_ref()),
                    ),
                    Some(tr(
                        r#"write an IANA zone name, e.g. timezone = "Asia/Ho_Chi_Minh""#.into(),
                        r#"ghi tên múi giờ IANA, ví dụ timezone = "Asia/Ho_Chi_Minh""#.into(),
                    )),
                );
                chrono_tz::Asia::Ho_Chi_Minh
            }),
        };
        let language = match &raw.language {
            None => Language::Vi,
            Some(l) => match l.get_ref().trim() {
                "vi" => Language::Vi,
                "en" => Language::En,
                other => {
                    self.error(
                        l.span(),
                        tr(
                            format!("`language`: `{other}` is not a language loa speaks"),
                            format!("`language`: loa không dùng ngôn ngữ `{other}`"),
                        ),
                        Some(tr(
                            r#"write language = "vi" or language = "en""#.into(),
                            r#"ghi language = "vi" hoặc language = "en""#.into(),
                        )),
                    );
                    Language::Vi
                }
            },
        };

        let schedule = self.schedule(raw.schedule);
        let retry = self.retry(raw.retry);
        let facebook = self.facebook(raw.facebook);
        let zalo = self.zalo(raw.zalo);
        let media = self.media(raw.media);
        let web = raw.web.map(|w| self.web(w));
        let alerts = raw.alerts.map(|a| self.alerts(a));
        let targets = Targets {
            facebook: self.target("targets.facebook", raw.targets.facebook),
            zalo: self.target("targets.zalo", raw.targets.zalo),
        };

        if !self.errors.is_empty() {
            let mut all = self.errors;
            all.extend(self.warnings);
            all.sort_by_key(|d| (d.line, d.col));
            return Err(all);
        }
        Ok(Config {
            timezone,
            posts_dir: PathBuf::from(raw.posts_dir.unwrap_or_else(|| "../posts".into())),
            data_dir: PathBuf::from(raw.data_dir.unwrap_or_else(|| "../data".into())),
            language,
            schedule,
            retry,
            facebook,
            zalo,
            media,
            targets,
            web,
            alerts,
            warnings: self.warnings,
        })
    }

    fn schedule(&mut self, raw: RawSchedule) -> ScheduleConfig {
        let mut slots = Vec::new();
        let raw_slots = raw.slots.unwrap_or_else(|| {
            ["Tue 07:00", "Thu 07:00"]
                .map(|s| Spanned::new(0..0, s.to_string()))
                .into()
        });
        for s in raw_slots {
            match Slot::parse(s.get_ref()) {
                Ok(slot) if slots.contains(&slot) => self.warn(
                    s.span(),
                    tr(
                        format!("`schedule.slots`: `{}` is listed twice", s.get_ref()),
                        format!("`schedule.slots`: `{}` được ghi hai lần", s.get_ref()),
                    ),
                ),
                Ok(slot) => slots.push(slot),
                Err(e) => self.error(
                    s.span(),
                    format!("`schedule.slots`: {e}"),
                    Some(
                        tr(
                            "write a day and a time, e.g. \"Tue 07:00\" or \"Thứ 3 07:00\"",
                            "ghi thứ và giờ, ví dụ \"Thứ 3 07:00\"",
                        )
                        .into(),
                    ),
                ),
            }
        }
        slots.sort_by_key(|s| (s.weekday.num_days_from_monday(), s.time));
        let on_edit = match &raw.on_edit {
            None => OnEdit::Update,
            Some(v) => match v.get_ref().trim() {
                "update" => OnEdit::Update,
                "ignore" => OnEdit::Ignore,
                other => {
                    self.error(
                        v.span(),
                        tr(
                            format!("`schedule.on_edit`: `{other}` is not one of the choices"),
                            format!("`schedule.on_edit`: `{other}` không phải một lựa chọn"),
                        ),
                        Some(tr(
                            r#"write on_edit = "update" or on_edit = "ignore""#.into(),
                            r#"ghi on_edit = "update" hoặc on_edit = "ignore""#.into(),
                        )),
                    );
                    OnEdit::Update
                }
            },
        };
        ScheduleConfig {
            slots,
            max_lateness: self.duration(
                "schedule.max_lateness",
                raw.max_lateness,
                Duration::from_secs(2 * 86_400),
            ),
            on_edit,
        }
    }

    fn retry(&mut self, raw: RawRetry) -> RetryConfig {
        let base_span = raw.base_delay.as_ref().map(Spanned::span);
        let base_delay = self.duration("retry.base_delay", raw.base_delay, Duration::from_secs(30));
        let max_delay = self.duration("retry.max_delay", raw.max_delay, Duration::from_secs(3_600));
        if base_delay > max_delay {
            self.error(
                base_span.clone().unwrap_or(0..0),
                tr(
                    "`retry.base_delay` is longer than `retry.max_delay`",
                    "`retry.base_delay` dài hơn `retry.max_delay`",
                )
                .into(),
                Some(
                    tr(
                        "make base_delay the shorter one, e.g. 30s and 1h",
                        "base_delay phải ngắn hơn max_delay, ví dụ 30s và 1h",
                    )
                    .into(),
                ),
            );
        }
        if base_delay.is_zero() {
            self.error(
                base_span.unwrap_or(0..0),
                tr(
                    "`retry.base_delay` must be more than 0",
                    "`retry.base_delay` phải lớn hơn 0",
                )
                .into(),
                Some(tr("e.g. base_delay = \"30s\"", "ví dụ base_delay = \"30s\"").into()),
            );
        }
        let max_attempts = match raw.max_attempts {
            None => 8,
            Some(n) if (1..=100).contains(n.get_ref()) => *n.get_ref() as u32,
            Some(n) => {
                self.error(
                    n.span(),
                    tr(
                        format!(
                            "`retry.max_attempts`: {} is not between 1 and 100",
                            n.get_ref()
                        ),
                        format!(
                            "`retry.max_attempts`: {} không nằm trong khoảng 1 đến 100",
                            n.get_ref()
                        ),
                    ),
                    Some(tr("e.g. max_attempts = 8", "ví dụ max_attempts = 8").into()),
                );
                8
            }
        };
        RetryConfig {
            base_delay,
            max_delay,
            max_attempts,
        }
    }

    fn facebook(&mut self, raw: Option<Spanned<RawFacebook>>) -> FacebookConfig {
        let present = raw.is_some();
        let section = raw.as_ref().map_or(0..0, Spanned::span);
        let raw = raw.map(Spanned::into_inner).unwrap_or(RawFacebook {
            enabled: Some(false),
            page_id: None,
            graph_url: None,
            api_version: None,
            native_schedule: None,
        });
        let enabled = raw.enabled.unwrap_or(present);
        let page_id = match raw.page_id {
            Some(id) if is_numeric_id(id.get_ref()) => id.into_inner(),
            Some(id) => {
                self.error(
                    id.span(),
                    tr(
                        format!("`facebook.page_id`: `{}` is not a Page id (only digits)", id.get_ref()),
                        format!("`facebook.page_id`: `{}` không phải Page id (chỉ gồm chữ số)", id.get_ref()),
                    ),
                    Some(tr("the Page id is the number in the Page's About → Page transparency section", "Page id là dãy số trong mục Giới thiệu → Minh bạch trang").into()),
                );
                String::new()
            }
            None => {
                if enabled {
                    self.error(
                        section,
                        tr(
                            "`[facebook]` is enabled but has no `facebook.page_id`",
                            "`[facebook]` đang bật nhưng chưa có `facebook.page_id`",
                        )
                        .into(),
                        Some(
                            tr(
                                "add a line page_id = \"123456789012345\" under [facebook]",
                                "thêm dòng page_id = \"123456789012345\" dưới [facebook]",
                            )
                            .into(),
                        ),
                    );
                }
                String::new()
            }
        };
        let api_version = match raw.api_version {
            None => "v25.0".to_string(),
            Some(v) => {
                let s = v.get_ref().trim();
                let ok = s.strip_prefix('v').is_some_and(|n| {
                    n.split_once('.').is_some_and(|(a, b)| {
                        !a.is_empty()
                            && !b.is_empty()
                            && (a.to_string() + b).chars().all(|c| c.is_ascii_digit())
                    })
                });
                if !ok {
                    self.error(
                        v.span(),
                        tr(
                            format!("`facebook.api_version`: `{s}` is not a Graph API version"),
                            format!("`facebook.api_version`: `{s}` không phải phiên bản Graph API"),
                        ),
                        Some(tr(
                            r#"write it as api_version = "v25.0""#.into(),
                            r#"ghi dạng api_version = "v25.0""#.into(),
                        )),
                    );
                }
                s.to_string()
            }
        };
        FacebookConfig {
            enabled,
            page_id,
            graph_url: self.url(
                "facebook.graph_url",
                raw.graph_url,
                "https://graph.facebook.com",
            ),
            api_version,
            native_schedule: raw.native_schedule.unwrap_or(true),
        }
    }

    fn zalo(&mut self, raw: Option<Spanned<RawZalo>>) -> ZaloConfig {
        let present = raw.is_some();
        let section = raw.as_ref().map_or(0..0, Spanned::span);
        let raw = raw.map(Spanned::into_inner).unwrap_or(RawZalo {
            enabled: Some(false),
            app_id: None,
            openapi_url: None,
            oauth_url: None,
            author: None,
            default_cover_url: None,
            broadcast: None,
            listing_delay: None,
        });
        let enabled = raw.enabled.unwrap_or(present);
        let listing_delay = self.duration(
            "zalo.listing_delay",
            raw.listing_delay,
            Duration::from_secs(180),
        );
        let app_id = match raw.app_id {
            Some(id) if is_numeric_id(id.get_ref()) => id.into_inner(),
            Some(id) => {
                self.error(
                    id.span(),
                    tr(
                        format!(
                            "`zalo.app_id`: `{}` is not a Zalo app id (only digits)",
                            id.get_ref()
                        ),
                        format!(
                            "`zalo.app_id`: `{}` không phải app id Zalo (chỉ gồm chữ số)",
                            id.get_ref()
                        ),
                    ),
                    Some(
                        tr(
                            "copy the App ID from developers.zalo.me",
                            "sao chép App ID từ developers.zalo.me",
                        )
                        .into(),
                    ),
                );
                String::new()
            }
            None => {
                if enabled {
                    self.error(
                        section,
                        tr(
                            "`[zalo]` is enabled but has no `zalo.app_id`",
                            "`[zalo]` đang bật nhưng chưa có `zalo.app_id`",
                        )
                        .into(),
                        Some(
                            tr(
                                "add a line app_id = \"1234567890\" under [zalo]",
                                "thêm dòng app_id = \"1234567890\" dưới [zalo]",
                            )
                            .into(),
                        ),
                    );
                }
                String::new()
            }
        };
        let author = match raw.author {
            None => String::new(),
            Some(a) => {
                let author = crate::text::nfc(a.get_ref().trim());
                if char_len(&author) > ZALO_AUTHOR_MAX {
                    self.error(
                        a.span(),
                        tr(
                            format!(
                                "`zalo.author` is {} characters; Zalo allows at most {ZALO_AUTHOR_MAX}",
                                char_len(&author)
                            ),
                            format!(
                                "`zalo.author` dài {} ký tự; Zalo cho phép tối đa {ZALO_AUTHOR_MAX}",
                                char_len(&author)
                            ),
                        ),
                        Some(
                            tr(
                                "shorten it, e.g. \"UBND xã Thanh Kỳ\"",
                                "rút gọn, ví dụ \"UBND xã Thanh Kỳ\"",
                            )
                            .into(),
                        ),
                    );
                }
                author
            }
        };
        let default_cover_url = raw.default_cover_url.map(|u| {
            let url = u.get_ref().trim().to_string();
            if !is_http_url(&url) {
                self.error(
                    u.span(),
                    tr(
                        format!("`zalo.default_cover_url`: `{url}` is not a web address (http:// or https://)"),
                        format!("`zalo.default_cover_url`: `{url}` không phải địa chỉ web (http:// hoặc https://)"),
                    ),
                    Some(
                        tr(
                            "a public https:// address of a JPEG or PNG image",
                            "một địa chỉ https:// công khai của ảnh JPEG hoặc PNG",
                        )
                        .into(),
                    ),
                );
            }
            url
        });
        ZaloConfig {
            enabled,
            app_id,
            openapi_url: self.url(
                "zalo.openapi_url",
                raw.openapi_url,
                "https://openapi.zalo.me",
            ),
            oauth_url: self.url("zalo.oauth_url", raw.oauth_url, "https://oauth.zaloapp.com"),
            author,
            default_cover_url,
            broadcast: raw.broadcast.unwrap_or(false),
            listing_delay,
        }
    }

    fn media(&mut self, raw: RawMedia) -> MediaConfig {
        let public_base_url = raw.public_base_url.map(|u| {
            let url = u.get_ref().trim().to_string();
            if !is_http_url(&url) {
                self.error(
                    u.span(),
                    tr(
                        format!("`media.public_base_url`: `{url}` is not a web address (http:// or https://)"),
                        format!("`media.public_base_url`: `{url}` không phải địa chỉ web (http:// hoặc https://)"),
                    ),
                    Some(tr(
                        r#"e.g. public_base_url = "https://example.gov.vn/loa-media/""#.into(),
                        r#"ví dụ public_base_url = "https://example.gov.vn/loa-media/""#.into(),
                    )),
                );
            } else if url.starts_with("http://") && !is_loopback_url(&url) {
                self.warn(
                    u.span(),
                    tr(
                        "`media.public_base_url` is plain http; Zalo fetches images over https only",
                        "`media.public_base_url` dùng http; Zalo chỉ tải ảnh qua https",
                    )
                    .into(),
                );
            }
            // Image paths are appended to this URL, so it must end with a slash.
            if url.ends_with('/') {
                url
            } else {
                format!("{url}/")
            }
        });
        MediaConfig { public_base_url }
    }

    fn web(&mut self, raw: RawWeb) -> WebConfig {
        let default = std::net::SocketAddr::from(([127, 0, 0, 1], 8640));
        let listen = match raw.listen {
            None => default,
            Some(l) => {
                let text = l.get_ref().trim();
                // `localhost:8640` is what people write; it means the loopback address.
                let text = text
                    .strip_prefix("localhost:")
                    .map_or_else(|| text.to_string(), |port| format!("127.0.0.1:{port}"));
                text.parse().unwrap_or_else(|_| {
                    self.error(
                        l.span(),
                        tr(
                            format!("`web.listen`: `{}` is not an address with a port", l.get_ref()),
                            format!("`web.listen`: `{}` không phải địa chỉ có cổng", l.get_ref()),
                        ),
                        Some(tr(
                            r#"e.g. listen = "127.0.0.1:8640" (only this computer) or listen = "0.0.0.0:8640" (the office network, with LOA_WEB_PASSWORD set)"#.into(),
                            r#"ví dụ listen = "127.0.0.1:8640" (chỉ máy này) hoặc listen = "0.0.0.0:8640" (mạng cơ quan, cần đặt LOA_WEB_PASSWORD)"#.into(),
                        )),
                    );
                    default
                })
            }
        };
        WebConfig { listen }
    }

    fn target(&mut self, key: &str, raw: Option<Spanned<String>>) -> Option<Target> {
        let raw = raw?;
        match Target::parse(raw.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(
                    raw.span(),
                    format!("`{key}`: {e}"),
                    Some(
                        tr(
                            "write a count per week or month, e.g. \"2/week\" or \"4/month\"",
                            "ghi số bài mỗi tuần hoặc mỗi tháng, ví dụ \"2/tuần\" hoặc \"4/tháng\"",
                        )
                        .into(),
                    ),
                );
                None
            }
        }
    }
}

fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// True for URLs on this machine, where plain http is fine (`loa sandbox`, test fakes).
pub fn is_loopback_url(s: &str) -> bool {
    let host = s.split_once("://").map_or(s, |(_, r)| r);
    ["127.", "localhost", "[::1]"]
        .iter()
        .any(|p| host.starts_with(p))
}

#[cfg(test)]
mod tests;
