//! The model registry: registered models, their numbered versions, stages and aliases.

use serde::{Deserialize, Serialize};

use super::limits;
use super::{set_tag, KeyValue};
use crate::{DomainError, DomainResult};

/// The stages a version can be in (MLflow's workspace registry).
pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// An alias naming one version of a registered model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub user_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
}

impl RegisteredModel {
    pub fn new(name: String, user: String, description: String, now: i64) -> RegisteredModel {
        RegisteredModel {
            name,
            creation_timestamp: now,
            last_updated_timestamp: now,
            user_id: user,
            description,
            tags: vec![],
            aliases: vec![],
        }
    }

    pub fn set_tags(&mut self, tags: &[KeyValue]) -> DomainResult<()> {
        for t in tags {
            limits::check_tag(&t.key, &t.value)?;
            set_tag(&mut self.tags, &t.key, &t.value);
        }
        Ok(())
    }

    /// Points `alias` at `version` (moving it from another version).
    pub fn set_alias(&mut self, alias: &str, version: &str) -> DomainResult<()> {
        check_alias(alias)?;
        self.aliases.retain(|a| a.alias != alias);
        self.aliases.push(Alias {
            alias: alias.to_string(),
            version: version.to_string(),
        });
        Ok(())
    }

    /// The version `alias` names.
    pub fn alias(&self, alias: &str) -> Option<&str> {
        self.aliases
            .iter()
            .find(|a| a.alias == alias)
            .map(|a| a.version.as_str())
    }

    /// The aliases of `version`.
    pub fn aliases_of(&self, version: &str) -> Vec<String> {
        self.aliases
            .iter()
            .filter(|a| a.version == version)
            .map(|a| a.alias.clone())
            .collect()
    }
}

/// An alias is a name of letters, digits, `_` and `-`, not `latest` nor `v<digits>`.
pub fn check_alias(alias: &str) -> DomainResult<()> {
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && alias.starts_with(['v', 'V'])
            && alias[1..].chars().all(|c| c.is_ascii_digit()));
    if alias.is_empty()
        || alias.len() > 255
        || reserved
        || !alias
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(DomainError::invalid(format!(
            "Invalid alias name: '{alias}'. An alias is 1-255 letters, digits, '_' or '-', and \
             neither 'latest' nor 'v<number>'."
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersion {
    pub name: String,
    /// A number, as a string.
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub user_id: String,
    pub current_stage: String,
    #[serde(default)]
    pub description: String,
    /// What was registered: `models:/<logged model id>`, `runs:/<run>/<path>` or an artifact URI.
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_link: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// Filled in from the registered model when answered.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_id: String,
    /// Where the version's files are (an artifact URI): not part of MLflow's shape (clients ignore it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_location: String,
}

impl ModelVersion {
    pub fn number(&self) -> u64 {
        self.version.parse().unwrap_or(0)
    }

    pub fn set_tags(&mut self, tags: &[KeyValue]) -> DomainResult<()> {
        for t in tags {
            limits::check_tag(&t.key, &t.value)?;
            set_tag(&mut self.tags, &t.key, &t.value);
        }
        Ok(())
    }
}

/// A stage name in any case, as MLflow spells it.
pub fn stage(name: &str) -> DomainResult<&'static str> {
    STAGES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            DomainError::invalid(format!(
                "Invalid Model Version stage: {name}. Value must be one of {}.",
                STAGES.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_move_and_reserved_names_are_refused() {
        let mut m = RegisteredModel::new("m".into(), "u".into(), String::new(), 0);
        m.set_alias("champion", "1").unwrap();
        m.set_alias("champion", "2").unwrap();
        assert_eq!(m.alias("champion"), Some("2"));
        assert_eq!(m.aliases_of("1"), Vec::<String>::new());
        for bad in ["latest", "v3", "a b", ""] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
        assert!(check_alias("v").is_ok());
        assert_eq!(stage("production").unwrap(), "Production");
        assert!(stage("prod").is_err());
    }
}
