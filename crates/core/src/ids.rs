//! Identifiers as newtypes: a job id is never confused with a run id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse::<u64>().map($name).map_err(|_| {
                    DomainError::invalid(format!("{} must be a positive integer, got '{s}'", $what))
                })
            }
        }
    };
}

numeric_id!(
    /// A job's id (`job_id`).
    JobId,
    "job_id"
);
numeric_id!(
    /// A run's id (`run_id`). Task runs take their ids from the same sequence, as in Databricks.
    RunId,
    "run_id"
);

/// A task's key within its job (`task_key`): 1 to 100 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskKey(String);

impl TaskKey {
    /// The longest key accepted.
    pub const MAX_LEN: usize = 100;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TaskKey {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(DomainError::invalid(format!(
                "task_key must be 1 to {} characters, got {}",
                Self::MAX_LEN,
                s.len()
            )));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(DomainError::invalid(format!(
                "task_key '{s}' may contain only letters, digits, '_' and '-'"
            )));
        }
        Ok(TaskKey(s))
    }
}

impl From<TaskKey> for String {
    fn from(k: TaskKey) -> String {
        k.0
    }
}

impl FromStr for TaskKey {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskKey::try_from(s.to_string())
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_display() {
        assert_eq!("42".parse::<JobId>().unwrap(), JobId(42));
        assert_eq!(RunId(7).to_string(), "7");
        assert!("-1".parse::<JobId>().is_err());
        assert!("abc".parse::<RunId>().is_err());
    }

    #[test]
    fn task_keys_are_validated() {
        assert!("ingest_1".parse::<TaskKey>().is_ok());
        assert!("".parse::<TaskKey>().is_err());
        assert!("has space".parse::<TaskKey>().is_err());
        assert!("x".repeat(101).parse::<TaskKey>().is_err());
    }
}
