//! The store's closed vocabularies: every value a state column may hold, as an enum that reads
//! and writes itself (`ToSql`/`FromSql`) and refuses anything else. An unknown value in the file
//! (a newer loa, a hand edit, a damaged disk) is an error, never a guess: a guess such as "an
//! unknown state is `scheduled`" could turn a damaged row into a publication.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A value in the store that this loa does not know.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::i18n::tr(
    format!("`{column}` holds `{value}`, which this loa does not know"),
    format!("`{column}` chứa `{value}`, giá trị mà bản loa này không biết"),
))]
pub struct UnknownValue {
    /// Which vocabulary.
    pub column: &'static str,
    /// What the file holds.
    pub value: String,
}

/// Defines a text enum stored by name: `as_str`, `parse`, `ALL`, `Display`, serde, SQL.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $column:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Reads a stored name; `None` for anything this loa does not know.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| {
                    FromSqlError::Other(Box::new(UnknownValue {
                        column: $column,
                        value: text.to_string(),
                    }))
                })
            }
        }
    };
}

text_enum! {
    /// Where a delivery stands (CONTRACT.md).
    State, "state" {
        /// Waiting for its time.
        Scheduled = "scheduled",
        /// A request is (or may be) in flight.
        Publishing = "publishing",
        /// Waiting to try again.
        RetryWait = "retry_wait",
        /// On the platform.
        Published = "published",
        /// loa cannot tell whether the platform has it; `loa retry --force` decides.
        Unconfirmed = "unconfirmed",
        /// Gave up; `last_error` says why.
        Failed = "failed",
        /// Overdue by more than `max_lateness`; not published.
        Missed = "missed",
        /// Will not be published.
        Cancelled = "cancelled",
    }
}

impl State {
    /// The states a publish may be claimed from: the one definition, used by the store's claim
    /// (as SQL) and by the engine's choice of work (in Rust).
    pub const CLAIMABLE: &'static [State] = &[State::Scheduled, State::RetryWait];

    /// Whether a publish may be claimed from this state.
    pub fn is_claimable(self) -> bool {
        State::CLAIMABLE.contains(&self)
    }

    /// States that may still lead to a publication without the officer stepping in.
    pub fn is_pending(self) -> bool {
        self.is_claimable() || self == State::Publishing
    }
}

text_enum! {
    /// An edit on its way to a post the platform already has.
    UpdateState, "update_state" {
        /// To be sent.
        Pending = "pending",
        /// In flight.
        Sending = "sending",
        /// Gave up; `loa retry` sends it again.
        Failed = "failed",
    }
}

text_enum! {
    /// Sending a published post to the channel's followers (Zalo's broadcast).
    BroadcastState, "broadcast_state" {
        /// Asked for; waits for the post to be published.
        Wanted = "wanted",
        /// To be sent.
        Pending = "pending",
        /// In flight.
        Sending = "sending",
        /// Sent.
        Sent = "sent",
        /// Gave up.
        Failed = "failed",
        /// May or may not have gone out; never sent again.
        Unconfirmed = "unconfirmed",
        /// The officer cancelled it before it was sent.
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Why a delivery was cancelled.
    CancelReason, "cancel_reason" {
        /// Its file left the posts folder.
        Deleted = "deleted",
        /// `loa cancel`.
        Officer = "officer",
        /// The post became a draft.
        Draft = "draft",
        /// The post no longer lists this channel.
        Channel = "channel",
        /// The post has errors.
        Invalid = "invalid",
        /// `loa unpublish` removed it from the platform.
        Unpublished = "unpublished",
    }
}

impl CancelReason {
    /// The officer's own decision, which a later edit of the file does not undo.
    pub fn is_officers(self) -> bool {
        matches!(self, CancelReason::Officer | CancelReason::Unpublished)
    }
}

text_enum! {
    /// A channel's health.
    Health, "health" {
        /// Requests may be sent.
        Ok = "ok",
        /// Paused until `paused_until` (a platform's rate limit).
        RateLimited = "rate_limited",
        /// Waiting for a new token.
        NeedsReauth = "needs_reauth",
    }
}

text_enum! {
    /// What an attempt asked the platform.
    AttemptKind, "kind" {
        /// Publish (or hand over for later).
        Create = "create",
        /// Change a post the platform has.
        Update = "update",
        /// Look for a post that may exist.
        Reconcile = "reconcile",
        /// Check that a post the platform held went out.
        Confirm = "confirm",
        /// Remove a post.
        Delete = "delete",
        /// Send a post to followers.
        Broadcast = "broadcast",
    }
}

impl AttemptKind {
    /// Whether the attempt counts as a request to publish (`attempts`): look-ups do not.
    pub fn counts(self) -> bool {
        !matches!(self, AttemptKind::Reconcile | AttemptKind::Confirm)
    }
}

/// `column IN ('a', 'b')` for a set of values: how SQL conditions are built from the one
/// definition in Rust (the names are this module's constants, never input).
pub fn sql_in(column: &str, values: &[State]) -> String {
    let names: Vec<String> = values.iter().map(|v| format!("'{}'", v.as_str())).collect();
    format!("{column} IN ({})", names.join(", "))
}
