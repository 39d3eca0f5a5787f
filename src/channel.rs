//! The platforms loa publishes to.

use std::fmt;

/// A publishing channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A Facebook Page, through the Graph API.
    Facebook,
    /// A Zalo Official Account, through the OA Open API.
    Zalo,
}

impl Channel {
    /// Every channel, in the order loa lists them.
    pub const ALL: [Channel; 2] = [Channel::Facebook, Channel::Zalo];

    /// The name used in config, front matter and output.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Facebook => "facebook",
            Channel::Zalo => "zalo",
        }
    }

    /// Reads a channel name, ignoring case and surrounding space.
    pub fn parse(s: &str) -> Option<Channel> {
        let s = s.trim().to_ascii_lowercase();
        Channel::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl rusqlite::types::ToSql for Channel {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.name()))
    }
}

/// A stored channel name must be exactly one loa knows: an unknown one is refused, never
/// read as some other channel.
impl rusqlite::types::FromSql for Channel {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Channel::ALL
            .into_iter()
            .find(|c| c.name() == text)
            .ok_or_else(|| {
                rusqlite::types::FromSqlError::Other(Box::new(crate::store::UnknownValue {
                    column: "channel",
                    value: text.to_string(),
                }))
            })
    }
}
