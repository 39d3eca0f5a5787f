//! The secrets the clients need. They never live in the config: `loa run` and the short
//! commands read them from the environment; the demo gives its sandbox's own.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

/// Where a channel's secrets come from, asked by the environment variable's name.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// Given values, asked before the environment.
    given: BTreeMap<&'static str, SecretString>,
    /// Whether to read the environment for what is not given.
    env: bool,
}

impl Secrets {
    /// The process's environment (`LOA_FACEBOOK_PAGE_TOKEN`, `LOA_ZALO_APP_SECRET`, …).
    pub fn from_env() -> Secrets {
        Secrets {
            given: BTreeMap::new(),
            env: true,
        }
    }

    /// Only the values given, by variable name; the environment is not read.
    pub fn given(values: impl IntoIterator<Item = (&'static str, String)>) -> Secrets {
        Secrets {
            given: values
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
            env: false,
        }
    }

    /// The secret named `name`, trimmed; `None` when it is unset or blank.
    pub fn get(&self, name: &str) -> Option<SecretString> {
        let value = match self.given.get(name) {
            Some(v) => v.expose_secret().to_string(),
            None if self.env => std::env::var(name).ok()?,
            None => return None,
        };
        let value = value.trim();
        (!value.is_empty()).then(|| SecretString::from(value.to_string()))
    }
}
