//! The token store: `data_dir/tokens.json`, the platform tokens loa keeps between runs.
//!
//! Zalo refresh tokens work **once**: a successful refresh invalidates the old token and returns a
//! new pair, and if that pair is lost an OA admin has to consent again (zalo-oa.md §2). So every
//! change goes through [`TokenStore::update`] (or [`TokenStore::lock`]), which
//!
//! 1. takes an exclusive cross-process lock on `data_dir/tokens.lock`, because `loa run`,
//!    `loa run --once` and `loa auth` may run at the same time and must not spend the same
//!    refresh token twice;
//! 2. re-reads the file inside the lock, so it never acts on a token another process already
//!    rotated;
//! 3. writes atomically: a 0600 temp file in the same folder, `fsync`, rename over `tokens.json`,
//!    `fsync` of the folder. A crash leaves either the old file or the new one, never half of one,
//!    and the write is on disk before `update` returns, so a caller uses a new token only after
//!    it is safe.
//!
//! Readers ([`TokenStore::load`]) take no lock: the rename makes every read see a whole file.
//!
//! Every secret is a [`SecretString`], so `Debug` (and therefore logs) never shows it, and no
//! error's text ever quotes the file's contents.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::i18n::tr;

/// The file name inside `data_dir`.
const TOKENS_FILE: &str = "tokens.json";
/// The lock file. It is never deleted: two processes locking two different inodes of the same
/// name would not exclude each other.
const LOCK_FILE: &str = "tokens.lock";
/// The temp file a write goes through. One fixed name is enough because only the lock holder
/// writes; a stale one left by a crash is removed before the next write.
const TEMP_FILE: &str = ".tokens.json.tmp";

/// Everything in `tokens.json`.
///
/// Unknown fields are accepted (a newer loa may have written them) and are kept when this loa
/// rewrites the file, so a downgrade never drops a token it does not understand.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Tokens {
    /// The Facebook Page token, stored by `loa auth facebook`.
    pub facebook: Option<FacebookTokens>,
    /// The Zalo OA token pair and the state of an authorization in progress.
    pub zalo: Option<ZaloTokens>,
}

/// A Facebook Page token (facebook-graph.md §2). Made from a long-lived user token it does not
/// expire, so there is nothing to refresh; it dies on a password change or a lost Page role.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FacebookTokens {
    /// The Page the token is for; loa checks it still equals `facebook.page_id` in the config.
    pub page_id: String,
    /// The Page's name as Facebook reported it, for `loa status`.
    pub page_name: Option<String>,
    /// The Page access token.
    #[serde(serialize_with = "secret::serialize")]
    pub page_token: SecretString,
    /// When `loa auth facebook` stored it.
    pub stored_at: DateTime<Utc>,
}

/// The Zalo OA token pair (zalo-oa.md §2) and the PKCE state between `--url` and `--code`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ZaloTokens {
    /// The access token (lives about 25 h).
    #[serde(serialize_with = "secret::serialize_opt")]
    pub access_token: Option<SecretString>,
    /// When the access token expires; shown as `token_expires_at`.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// The refresh token. Single-use: the one stored here is the only one that still works.
    #[serde(serialize_with = "secret::serialize_opt")]
    pub refresh_token: Option<SecretString>,
    /// When the refresh token was issued; it lives 3 months from then.
    pub refresh_issued_at: Option<DateTime<Utc>>,
    /// The PKCE verifier made by `loa auth zalo --url`, needed by `--code`.
    #[serde(serialize_with = "secret::serialize_opt")]
    pub pkce_verifier: Option<SecretString>,
    /// The `state` sent with the consent URL, checked against the callback's.
    pub pkce_state: Option<String>,
    /// Why an admin must consent again (`loa auth zalo --url`), once a refresh was refused.
    pub needs_reauth: Option<String>,
}

/// Why the token store could not be read or written. Every variant names the file; none quotes
/// its contents, so the text is safe to log.
#[derive(Debug, thiserror::Error)]
pub enum TokenStoreError {
    /// Reading, locking or writing failed.
    #[error("{}: {}: {source}", .path.display(), tr(*.action, action_vi(.action)))]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What loa was doing, e.g. "could not read".
        action: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not JSON, or not the shape loa expects.
    #[error("{}", corrupt_message(.path, .detail))]
    Corrupt {
        /// `tokens.json`.
        path: PathBuf,
        /// Where and how it is broken; never a value from the file.
        detail: String,
    },
    /// The caller's closure chose to leave the file unchanged (see [`TokenStore::abort`]).
    #[error("{}: {}: {reason}", .path.display(), tr("left unchanged", "không thay đổi"))]
    Aborted {
        /// `tokens.json`.
        path: PathBuf,
        /// Why, in the caller's words; it must not contain a secret.
        reason: String,
    },
    /// The file can be read or written by users other than its owner, so its tokens may already
    /// be copied; loa refuses to use it until the officer narrows it.
    #[error("{}", exposed_message(.path, *.mode))]
    Exposed {
        /// `tokens.json`.
        path: PathBuf,
        /// Its permission bits, shown so the officer sees what was wrong.
        mode: u32,
    },
}

// What a `TokenStoreError::Io` was doing, in English; `action_vi` holds the Vietnamese right
// below, so the two cannot drift apart.
const ACT_READ: &str = "could not read";
const ACT_LOCK: &str = "could not lock";
const ACT_CREATE_DIR: &str = "could not create the folder";
const ACT_ENCODE: &str = "could not encode";
const ACT_WRITE: &str = "could not write";

/// The Vietnamese for a [`TokenStoreError::Io`] action.
fn action_vi(action: &str) -> &'static str {
    match action {
        ACT_READ => "không đọc được",
        ACT_LOCK => "không khoá được",
        ACT_CREATE_DIR => "không tạo được thư mục",
        ACT_ENCODE => "không mã hoá được",
        _ => "không ghi được",
    }
}

/// The message for a broken file. It warns against deleting the file, because the Zalo refresh
/// token in it may be the only one that still works and cannot be recovered.
fn corrupt_message(path: &Path, detail: &str) -> String {
    let path = path.display();
    tr(
        format!(
            "{path}: {detail}. Do not delete it blindly: the Zalo refresh token in it cannot be \
             recovered. Fix the file by hand, or authorize again with `loa auth zalo --url`"
        ),
        format!(
            "{path}: {detail}. Đừng xoá tệp này khi chưa xem kỹ: refresh token Zalo trong đó \
             không thể lấy lại. Hãy sửa tệp bằng tay, hoặc uỷ quyền lại bằng `loa auth zalo --url`"
        ),
    )
}

/// The message for a token file others can read or write: what is wrong and the exact command that
/// fixes it, so the officer can copy it.
fn exposed_message(path: &Path, mode: u32) -> String {
    let shown = path.display();
    let command = format!("chmod 600 {}", shell_quoted(path));
    tr(
        format!(
            "{shown}: other users can read or change this file (mode {mode:04o}), and it holds \
             the platform tokens; loa will not use it. Run `{command}` and start loa again"
        ),
        format!(
            "{shown}: người dùng khác có thể đọc hoặc sửa tệp này (quyền {mode:04o}), mà tệp chứa \
             token của các nền tảng; loa sẽ không dùng nó. Hãy chạy `{command}` rồi khởi động lại loa"
        ),
    )
}

/// `path` as one shell word: bare when it holds only characters no shell treats specially,
/// otherwise in single quotes (a quote inside written as `'\''`).
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:,@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `tokens.json` in one `data_dir`. Cheap to clone; holds only paths.
#[derive(Clone, Debug)]
pub struct TokenStore {
    dir: PathBuf,
    path: PathBuf,
    lock_path: PathBuf,
}

impl TokenStore {
    /// The store in `data_dir`. Touches nothing on disk: the folder is created on the first write.
    pub fn new(data_dir: &Path) -> TokenStore {
        TokenStore {
            dir: data_dir.to_path_buf(),
            path: data_dir.join(TOKENS_FILE),
            lock_path: data_dir.join(LOCK_FILE),
        }
    }

    /// The path of `tokens.json`, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the tokens without locking; a missing file is an empty store.
    ///
    /// Use this to *look* (status, the Facebook token). To act on a Zalo refresh token, use
    /// [`TokenStore::update`], which re-reads under the lock.
    pub fn load(&self) -> Result<Tokens, TokenStoreError> {
        Ok(self.read()?.0)
    }

    /// Applies `f` to the tokens under the exclusive lock and writes the result atomically.
    ///
    /// The file is re-read after the lock is taken, so `f` always sees the latest tokens. The
    /// write is on disk (file and folder synced) before this returns. If `f` returns `Err`,
    /// nothing is written. If `f` changed nothing, nothing is written either.
    ///
    /// Blocks while another process or thread holds the lock; from async code, call it inside
    /// `tokio::task::spawn_blocking`.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut Tokens) -> Result<T, TokenStoreError>,
    ) -> Result<T, TokenStoreError> {
        let mut lock = self.lock()?;
        let out = f(lock.tokens_mut())?;
        lock.save()?;
        Ok(out)
    }

    /// Takes the exclusive lock and reads the tokens, for a change that needs to `.await` while
    /// holding the lock (a Zalo refresh: the HTTP call must happen inside the lock, or two
    /// processes could both spend the same refresh token).
    ///
    /// Change the tokens through [`TokenLock::tokens_mut`], then call [`TokenLock::save`] before
    /// using a new token. Dropping the guard releases the lock without writing. Taking the lock
    /// blocks; from async code, call this inside `tokio::task::spawn_blocking`.
    pub fn lock(&self) -> Result<TokenLock, TokenStoreError> {
        self.create_dir()?;
        let file = open_private(&self.lock_path, false)
            .map_err(|e| self.io(&self.lock_path, ACT_LOCK, e))?;
        file.lock()
            .map_err(|e| self.io(&self.lock_path, ACT_LOCK, e))?;
        let (tokens, raw) = self.read()?;
        Ok(TokenLock {
            store: self.clone(),
            _lock: file,
            tokens,
            raw,
        })
    }

    /// Stores `token` as the Zalo refresh token if the store has none yet, and says whether it did.
    ///
    /// This is how `LOA_ZALO_REFRESH_TOKEN` is used: it seeds an empty store once, and after that
    /// the stored, rotated token wins (the env value is already spent by then). A store that
    /// records `needs_reauth` is not empty either: its env token is the dead one, and a new
    /// token comes from `loa auth zalo`. A blank `token` seeds nothing.
    pub fn seed_zalo_refresh_token_if_empty(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, TokenStoreError> {
        // Pasted tokens often carry a trailing newline or spaces; Zalo tokens never contain any.
        let token = token.trim();
        if token.is_empty() {
            return Ok(false);
        }
        self.update(|tokens| {
            let zalo = tokens.zalo.get_or_insert_with(ZaloTokens::default);
            let has_token = zalo
                .refresh_token
                .as_ref()
                .is_some_and(|t| !t.expose_secret().trim().is_empty());
            if has_token || zalo.needs_reauth.is_some() {
                return Ok(false);
            }
            zalo.refresh_token = Some(SecretString::from(token));
            zalo.refresh_issued_at = Some(now);
            Ok(true)
        })
    }

    /// An error for an [`update`](TokenStore::update) closure that decides to write nothing,
    /// e.g. when a refresh failed transiently and the old token must stay. `reason` must not
    /// contain a secret.
    pub fn abort(&self, reason: impl Into<String>) -> TokenStoreError {
        TokenStoreError::Aborted {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Refuses a `tokens.json` that users other than its owner can read or write (any of the
    /// group's or others' permission bits). A missing file is fine: loa creates it 0600.
    ///
    /// Every read goes through this, so no command uses tokens that may already be copied; `loa
    /// run` also calls it before starting, to refuse at once rather than at the first token use.
    pub fn check_private(&self) -> Result<(), TokenStoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // `metadata` follows a symlink: what matters is who can read the tokens themselves.
            let mode = match fs::metadata(&self.path) {
                Ok(m) => m.permissions().mode() & 0o777,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(self.io(&self.path, ACT_READ, e)),
            };
            if mode & 0o077 != 0 {
                return Err(TokenStoreError::Exposed {
                    path: self.path.clone(),
                    mode,
                });
            }
        }
        Ok(())
    }

    /// Reads and parses the file; the raw JSON comes along so unknown fields can be kept.
    fn read(&self) -> Result<(Tokens, Option<Value>), TokenStoreError> {
        self.check_private()?;
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Tokens::default(), None)),
            Err(e) => return Err(self.io(&self.path, ACT_READ, e)),
        };
        // Typed first: its errors carry line and column.
        let tokens: Tokens = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(&e))?;
        let raw: Value = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(&e))?;
        Ok((tokens, Some(raw)))
    }

    /// A [`TokenStoreError::Corrupt`] that never quotes the file. serde_json's syntax messages
    /// describe only the grammar ("expected `,` or `}` at line 3 column 5"), but its data
    /// messages may quote a value ("invalid type: string \"…\""), which could be a token.
    fn corrupt(&self, e: &serde_json::Error) -> TokenStoreError {
        let detail = if e.is_data() {
            format!(
                "{} {}, {} {}",
                tr(
                    "valid JSON, but a value has the wrong type or shape at line",
                    "JSON hợp lệ nhưng có giá trị sai kiểu hoặc sai cấu trúc ở dòng"
                ),
                e.line(),
                tr("column", "cột"),
                e.column()
            )
        } else {
            format!("{}: {e}", tr("not valid JSON", "không phải JSON hợp lệ"))
        };
        TokenStoreError::Corrupt {
            path: self.path.clone(),
            detail,
        }
    }

    fn io(&self, path: &Path, action: &'static str, source: io::Error) -> TokenStoreError {
        TokenStoreError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    /// Creates `data_dir` (0700: it holds secrets) if missing. An existing folder keeps its mode;
    /// the officer may have reasons for it, and the token file itself is 0600 anyway.
    fn create_dir(&self) -> Result<(), TokenStoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|e| self.io(&self.dir, ACT_CREATE_DIR, e))
    }

    /// Temp file, write, `fsync`, rename over `tokens.json`, `fsync` the folder.
    fn write_atomically(&self, bytes: &[u8]) -> Result<(), TokenStoreError> {
        let tmp = self.dir.join(TEMP_FILE);
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io(&tmp, ACT_WRITE, e)),
        }
        let written = (|| {
            let mut file = open_private(&tmp, true)?;
            file.write_all(bytes)?;
            // The mode given at creation is narrowed by the umask; set it exactly.
            #[cfg(unix)]
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(self.io(&tmp, ACT_WRITE, e));
        }
        // Renaming replaces any older tokens.json, whatever its mode, with the 0600 temp file.
        if let Err(e) = fs::rename(&tmp, &self.path) {
            let _ = fs::remove_file(&tmp);
            return Err(self.io(&self.path, ACT_WRITE, e));
        }
        // The rename is durable only once the folder is synced. If that fails, the new file is
        // already in place and the old refresh token may already be spent, so reporting failure
        // would only tempt the caller to throw the new pair away; warn instead.
        if let Err(e) = sync_dir(&self.dir) {
            tracing::warn!(path = %self.dir.display(), error = %e, "could not sync the token store's folder");
        }
        Ok(())
    }
}

/// The exclusive lock on the token store, with the tokens read inside it. See
/// [`TokenStore::lock`]. Dropping it releases the lock.
pub struct TokenLock {
    store: TokenStore,
    /// Held only to keep the `flock`; closing the file releases it.
    _lock: File,
    tokens: Tokens,
    /// The file as last read or written, for keeping unknown fields and skipping no-op writes.
    raw: Option<Value>,
}

// By hand, because `raw` holds the secrets in plain JSON.
impl std::fmt::Debug for TokenLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLock")
            .field("path", &self.store.path)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl TokenLock {
    /// The tokens as read inside the lock (plus any changes made since).
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The tokens, to change; nothing reaches the disk until [`TokenLock::save`].
    pub fn tokens_mut(&mut self) -> &mut Tokens {
        &mut self.tokens
    }

    /// Writes the tokens atomically, keeping the lock. Call it before using a new token. Does
    /// nothing if nothing changed.
    pub fn save(&mut self) -> Result<(), TokenStoreError> {
        let path = &self.store.path;
        let encode = |e: serde_json::Error| self.store.io(path, ACT_ENCODE, io::Error::other(e));
        let mut value = serde_json::to_value(&self.tokens).map_err(encode)?;
        if let Some(raw) = &self.raw {
            keep_unknown(&mut value, raw);
        }
        if self.raw.as_ref() == Some(&value) {
            return Ok(());
        }
        let mut bytes = serde_json::to_vec_pretty(&value).map_err(encode)?;
        bytes.push(b'\n');
        self.store.write_atomically(&bytes)?;
        self.raw = Some(value);
        Ok(())
    }
}

/// Copies into `new` every key of `old` that `new` lacks, recursing into objects present in both.
/// `new` is loa's own serialization, which writes every known field (absent ones as `null`), so
/// a key missing from it is one this loa does not know.
fn keep_unknown(new: &mut Value, old: &Value) {
    let (Value::Object(new), Value::Object(old)) = (new, old) else {
        return;
    };
    for (key, old_value) in old {
        match new.get_mut(key) {
            Some(new_value) => keep_unknown(new_value, old_value),
            None => {
                new.insert(key.clone(), old_value.clone());
            }
        }
    }
}

/// Opens a file readable and writable by its owner only. `create_new` refuses to follow a
/// symlink or reuse a file someone else made; the lock file is instead opened or created.
fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes a rename in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a folder as a file; its renames are journaled by NTFS.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// `serialize_with` helpers: `SecretString` has no `Serialize` on purpose, and the token file is
/// the one place a secret must be written out.
mod secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose_secret())
    }

    pub(super) fn serialize_opt<S: Serializer>(
        secret: &Option<SecretString>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match secret {
            Some(secret) => s.serialize_some(secret.expose_secret()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn sample() -> Tokens {
        Tokens {
            facebook: Some(FacebookTokens {
                page_id: "1234".into(),
                page_name: Some("UBND xã".into()),
                page_token: SecretString::from("SECRET-FB-PAGE"),
                stored_at: at("2026-01-02T03:04:05Z"),
            }),
            zalo: Some(ZaloTokens {
                access_token: Some(SecretString::from("SECRET-ZALO-AT")),
                access_expires_at: Some(at("2026-01-03T04:04:05Z")),
                refresh_token: Some(SecretString::from("SECRET-ZALO-RT")),
                refresh_issued_at: Some(at("2026-01-02T03:04:05Z")),
                pkce_verifier: Some(SecretString::from("SECRET-PKCE")),
                pkce_state: Some("state-1".into()),
                needs_reauth: None,
            }),
        }
    }

    fn secret_of(t: &Option<SecretString>) -> Option<&str> {
        t.as_ref().map(|s| s.expose_secret())
    }

    /// Writes a token file by hand as loa would have made it: readable by its owner only.
    fn write_private(path: &Path, contents: &str) {
        fs::write(path, contents).unwrap();
        #[cfg(unix)]
        fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn missing_file_is_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(&dir.path().join("not-yet"));
        let tokens = store.load().unwrap();
        assert!(tokens.facebook.is_none() && tokens.zalo.is_none());
        assert_eq!(store.path(), dir.path().join("not-yet/tokens.json"));
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        store
            .update(|t| {
                *t = sample();
                Ok(())
            })
            .unwrap();
        let back = store.load().unwrap();
        let fb = back.facebook.unwrap();
        assert_eq!(fb.page_id, "1234");
        assert_eq!(fb.page_name.as_deref(), Some("UBND xã"));
        assert_eq!(fb.page_token.expose_secret(), "SECRET-FB-PAGE");
        assert_eq!(fb.stored_at, at("2026-01-02T03:04:05Z"));
        let z = back.zalo.unwrap();
        assert_eq!(secret_of(&z.access_token), Some("SECRET-ZALO-AT"));
        assert_eq!(secret_of(&z.refresh_token), Some("SECRET-ZALO-RT"));
        assert_eq!(secret_of(&z.pkce_verifier), Some("SECRET-PKCE"));
        assert_eq!(z.access_expires_at, Some(at("2026-01-03T04:04:05Z")));
        assert_eq!(z.refresh_issued_at, Some(at("2026-01-02T03:04:05Z")));
        assert_eq!(z.pkce_state.as_deref(), Some("state-1"));
        assert_eq!(z.needs_reauth, None);
    }

    #[test]
    fn unknown_fields_are_accepted_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        write_private(
            store.path(),
            r#"{"zalo":{"refresh_token":"RT1","future":1},"instagram":{"x":"y"}}"#,
        );
        store
            .update(|t| {
                t.zalo.as_mut().unwrap().refresh_token = Some("RT2".into());
                Ok(())
            })
            .unwrap();
        let raw: Value = serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(raw["zalo"]["refresh_token"], "RT2");
        assert_eq!(raw["zalo"]["future"], 1);
        assert_eq!(raw["instagram"]["x"], "y");
    }

    #[cfg(unix)]
    #[test]
    fn written_file_is_0600_and_new_folder_0700() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = TokenStore::new(&data);
        store
            .update(|t| {
                *t = sample();
                Ok(())
            })
            .unwrap();
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(LOCK_FILE)), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_or_write_is_refused_with_the_chmod_to_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("dữ liệu xã");
        let store = TokenStore::new(&data);
        store
            .update(|t| {
                *t = sample();
                Ok(())
            })
            .unwrap();
        let before = fs::read(store.path()).unwrap();
        for wide in [0o644, 0o640, 0o604, 0o620, 0o602, 0o660] {
            fs::set_permissions(store.path(), fs::Permissions::from_mode(wide)).unwrap();
            let err = store.load().unwrap_err();
            assert!(
                matches!(err, TokenStoreError::Exposed { mode, .. } if mode == wide),
                "{wide:o}: {err:?}"
            );
            let msg = err.to_string();
            let quoted = format!("chmod 600 '{}'", store.path().display());
            assert!(msg.contains(&quoted), "{msg}");
            assert!(!msg.contains("SECRET"), "{msg}");
            // A change refuses too, and leaves the file as it was.
            assert!(store.update(|_| Ok(())).is_err());
            assert!(store.lock().is_err());
            assert_eq!(fs::read(store.path()).unwrap(), before);
        }
        // The owner's own bits do not matter; 0400 (read-only) is private too.
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o400)).unwrap();
        assert!(store.load().is_ok());
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o600)).unwrap();
        assert!(store.load().is_ok());
    }

    #[test]
    fn the_chmod_command_quotes_only_paths_that_need_it() {
        assert_eq!(
            shell_quoted(Path::new("/srv/loa/data/tokens.json")),
            "/srv/loa/data/tokens.json"
        );
        assert_eq!(
            shell_quoted(Path::new("/srv/xã Kỳ/tokens.json")),
            "'/srv/xã Kỳ/tokens.json'"
        );
        assert_eq!(shell_quoted(Path::new("/a/it's")), "'/a/it'\\''s'");
    }

    #[cfg(unix)]
    #[test]
    fn the_temp_file_is_created_0600_before_a_byte_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(TEMP_FILE);
        // The very call `write_atomically` makes: private from creation, so no window in which
        // another user could open the file, whatever the umask.
        let file = open_private(&tmp, true).unwrap();
        assert_eq!(mode(&tmp) & 0o077, 0);
        assert_eq!(file.metadata().unwrap().len(), 0);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("SECRET"), "{shown}");

        store
            .update(|t| {
                *t = sample();
                Ok(())
            })
            .unwrap();
        let lock = store.lock().unwrap();
        let shown = format!("{lock:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        drop(lock);

        // A token where an object belongs: serde_json's own message would quote it.
        fs::write(store.path(), r#"{"zalo": "SECRET-IN-WRONG-PLACE"}"#).unwrap();
        let err = store.load().unwrap_err();
        for shown in [format!("{err}"), format!("{err:?}")] {
            assert!(!shown.contains("SECRET"), "{shown}");
        }
        let aborted = store.abort("refresh timed out");
        assert!(!format!("{aborted:?}").contains("SECRET"));
    }

    #[test]
    fn broken_file_is_an_error_that_names_it_and_warns() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        write_private(store.path(), "{\"zalo\": {\"refresh_token\": \"RT1\"");
        let err = store.load().unwrap_err();
        assert!(matches!(err, TokenStoreError::Corrupt { .. }));
        let msg = err.to_string();
        assert!(msg.contains(&store.path().display().to_string()), "{msg}");
        assert!(msg.contains("Do not delete"), "{msg}");
        assert!(msg.contains("loa auth zalo --url"), "{msg}");
        assert!(!msg.contains("RT1"), "{msg}");
        // And an update must not overwrite it.
        assert!(store.update(|_| Ok(())).is_err());
        assert!(fs::read_to_string(store.path()).unwrap().contains("RT1"));
    }

    #[test]
    fn failed_closure_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());

        // Nothing at all on an empty store.
        let err = store
            .update(|t| {
                *t = sample();
                Err::<(), _>(store.abort("changed my mind"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("changed my mind"));
        assert!(!store.path().exists());

        // The old contents, byte for byte, on a full one.
        store
            .update(|t| {
                *t = sample();
                Ok(())
            })
            .unwrap();
        let before = fs::read(store.path()).unwrap();
        let _ = store.update(|t| {
            t.zalo = None;
            Err::<(), _>(store.abort("refresh failed"))
        });
        assert_eq!(fs::read(store.path()).unwrap(), before);
    }

    #[test]
    fn seeds_only_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let now = at("2026-02-01T00:00:00Z");

        assert!(!store.seed_zalo_refresh_token_if_empty("  ", now).unwrap());
        assert!(!store.path().exists());

        assert!(
            store
                .seed_zalo_refresh_token_if_empty("ENV-RT\n", now)
                .unwrap()
        );
        let z = store.load().unwrap().zalo.unwrap();
        assert_eq!(secret_of(&z.refresh_token), Some("ENV-RT"));
        assert_eq!(z.refresh_issued_at, Some(now));

        // Rotated since: the stored token wins over the (now spent) env value.
        store
            .update(|t| {
                t.zalo.as_mut().unwrap().refresh_token = Some("ROTATED".into());
                Ok(())
            })
            .unwrap();
        assert!(
            !store
                .seed_zalo_refresh_token_if_empty("ENV-RT", now)
                .unwrap()
        );
        let z = store.load().unwrap().zalo.unwrap();
        assert_eq!(secret_of(&z.refresh_token), Some("ROTATED"));

        // A store that needs re-authorization is not empty: its env token is the dead one.
        store
            .update(|t| {
                let z = t.zalo.as_mut().unwrap();
                z.refresh_token = None;
                z.needs_reauth = Some("refresh refused".into());
                Ok(())
            })
            .unwrap();
        assert!(
            !store
                .seed_zalo_refresh_token_if_empty("ENV-RT", now)
                .unwrap()
        );
    }

    #[test]
    fn no_temp_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        // A stale temp file from a crashed writer is cleaned up too.
        fs::write(dir.path().join(TEMP_FILE), "half").unwrap();
        for i in 0..3 {
            store
                .update(|t| {
                    t.zalo.get_or_insert_with(Default::default).pkce_state = Some(i.to_string());
                    Ok(())
                })
                .unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [TOKENS_FILE, LOCK_FILE]);
    }

    #[test]
    fn concurrent_updates_are_serialized() {
        let dir = tempfile::tempdir().unwrap();
        let data = Arc::new(dir.path().to_path_buf());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let data = Arc::clone(&data);
                std::thread::spawn(move || {
                    // Each update opens its own lock file description, as another process would.
                    let store = TokenStore::new(&data);
                    for _ in 0..25 {
                        store
                            .update(|t| {
                                let z = t.zalo.get_or_insert_with(Default::default);
                                let n: u32 =
                                    z.pkce_state.as_deref().unwrap_or("0").parse().unwrap();
                                z.pkce_state = Some((n + 1).to_string());
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let tokens = TokenStore::new(&data).load().unwrap();
        assert_eq!(tokens.zalo.unwrap().pkce_state.as_deref(), Some("200"));
    }

    #[test]
    fn a_held_lock_excludes_update() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let mut lock = store.lock().unwrap();
        let other = store.clone();
        let waiter = std::thread::spawn(move || {
            other
                .update(|t| {
                    // Runs only after the holder saved and released: it must see RT2.
                    let z = t.zalo.as_ref().unwrap();
                    Ok(secret_of(&z.refresh_token).map(str::to_owned))
                })
                .unwrap()
        });
        // Real time: the waiter is a thread blocked on the file lock.
        std::thread::sleep(std::time::Duration::from_millis(100));
        lock.tokens_mut().zalo = Some(ZaloTokens {
            refresh_token: Some("RT2".into()),
            ..Default::default()
        });
        lock.save().unwrap();
        assert_eq!(
            secret_of(&store.load().unwrap().zalo.unwrap().refresh_token),
            Some("RT2")
        );
        drop(lock);
        assert_eq!(waiter.join().unwrap().as_deref(), Some("RT2"));
    }
}
