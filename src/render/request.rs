//! A platform request described as data: what `loa preview --format json` prints and what a
//! channel client sends.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// One HTTP request to a platform, without the token (tokens are added by the client).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Request {
    /// HTTP method.
    pub method: &'static str,
    /// Path under the platform's base URL.
    pub path: String,
    /// The body.
    #[serde(flatten)]
    pub body: Body,
}

/// A request body.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Body {
    /// `application/x-www-form-urlencoded` fields, in order.
    Form(#[serde(serialize_with = "ordered_map")] Vec<(String, String)>),
    /// `multipart/form-data` parts, in order.
    Multipart(#[serde(serialize_with = "ordered_map")] Vec<(String, Part)>),
    /// A JSON document.
    Json(serde_json::Value),
}

/// A multipart part.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Part {
    /// A text field.
    Text(String),
    /// A file uploaded from disk.
    File {
        /// Path of the file, as shown to the officer.
        file: String,
        /// Its MIME type.
        content_type: &'static str,
        /// Its size in bytes.
        bytes: u64,
        /// Where the client reads it from.
        #[serde(skip)]
        path: std::path::PathBuf,
    },
}

fn ordered_map<S: Serializer, V: Serialize>(
    fields: &[(String, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        map.serialize_entry(k, v)?;
    }
    map.end()
}
