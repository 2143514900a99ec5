//! An endpoint's configuration: the models it serves (`served_entities`, each a registered model
//! version on compute of a size) and how requests are split among them (`traffic_config`).

use serde::{Deserialize, Serialize};

use crate::{DomainError, DomainResult};

/// The most models one endpoint serves at once.
pub const MAX_SERVED_ENTITIES: usize = 15;
/// Endpoint and served entity names: letters, digits, `-` and `_`, at most this long.
pub const MAX_NAME_CHARS: usize = 63;

/// One model an endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedEntity {
    /// Unique within the endpoint; defaults to `<model>-<version>`.
    pub name: String,
    /// The registered model (`entity_name`) and its version.
    pub entity_name: String,
    pub entity_version: String,
    /// `Small` (1 instance), `Medium` (2), `Large` (4): how many instances on AWS.
    pub workload_size: String,
    /// `CPU` or a GPU kind; picks the SageMaker instance type when none is given.
    pub workload_type: String,
    /// Serverless (scales to zero) instead of instances.
    pub scale_to_zero_enabled: bool,
    #[serde(default)]
    pub environment_vars: std::collections::BTreeMap<String, String>,
    /// A SageMaker instance type (`ml.m5.large`) overriding the workload's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
}

/// A share of requests sent to one served entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub served_model_name: String,
    pub traffic_percentage: u32,
}

/// A configuration, numbered from 1 in the order they were asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointConfig {
    pub config_version: u64,
    pub served_entities: Vec<ServedEntity>,
    pub routes: Vec<Route>,
    /// When it was asked for (epoch ms).
    pub start_time: i64,
}

/// A name of letters, digits, `-` and `_`.
pub fn check_name(what: &str, name: &str) -> DomainResult<()> {
    if name.is_empty()
        || name.len() > MAX_NAME_CHARS
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DomainError::invalid(format!(
            "Invalid {what} '{name}': use 1-{MAX_NAME_CHARS} letters, digits, '-' or '_'."
        )));
    }
    Ok(())
}

/// The default name of a served entity: `<model>-<version>`, with what names refuse replaced.
pub fn default_entity_name(entity_name: &str, version: &str) -> String {
    let model = entity_name.rsplit('.').next().unwrap_or(entity_name);
    let clean: String = format!("{model}-{version}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean.chars().take(MAX_NAME_CHARS).collect()
}

impl EndpointConfig {
    /// Checks the entities and the routes; no routes means all traffic to the only entity.
    pub fn validate(&mut self) -> DomainResult<()> {
        if self.served_entities.is_empty() {
            return Err(DomainError::invalid(
                "An endpoint config serves at least one entity (served_entities).",
            ));
        }
        if self.served_entities.len() > MAX_SERVED_ENTITIES {
            return Err(DomainError::invalid(format!(
                "An endpoint config serves at most {MAX_SERVED_ENTITIES} entities, got {}.",
                self.served_entities.len()
            )));
        }
        for e in &self.served_entities {
            check_name("served entity name", &e.name)?;
            if e.entity_name.trim().is_empty() || e.entity_version.trim().is_empty() {
                return Err(DomainError::invalid(format!(
                    "Served entity '{}' must name a registered model (entity_name) and its version (entity_version).",
                    e.name
                )));
            }
            if !["Small", "Medium", "Large"].contains(&e.workload_size.as_str()) {
                return Err(DomainError::invalid(format!(
                    "Invalid workload_size '{}' for served entity '{}': expected Small, Medium or Large.",
                    e.workload_size, e.name
                )));
            }
        }
        let mut names: Vec<&str> = self
            .served_entities
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(DomainError::invalid(
                "Served entity names must be unique within an endpoint.",
            ));
        }
        if self.routes.is_empty() {
            if self.served_entities.len() > 1 {
                return Err(DomainError::invalid(
                    "traffic_config.routes must split traffic when an endpoint serves more than one entity.",
                ));
            }
            self.routes = vec![Route {
                served_model_name: self.served_entities[0].name.clone(),
                traffic_percentage: 100,
            }];
        }
        for r in &self.routes {
            if !names.contains(&r.served_model_name.as_str()) {
                return Err(DomainError::invalid(format!(
                    "traffic_config route names '{}', which is not a served entity of this config.",
                    r.served_model_name
                )));
            }
        }
        let total: u32 = self.routes.iter().map(|r| r.traffic_percentage).sum();
        if total != 100 {
            return Err(DomainError::invalid(format!(
                "traffic_config routes must add up to 100 percent, got {total}."
            )));
        }
        Ok(())
    }

    /// The entity a request goes to, for a number in `0..100`.
    pub fn route(&self, draw: u32) -> Option<&ServedEntity> {
        let mut acc = 0;
        let name = self.routes.iter().find(|r| {
            acc += r.traffic_percentage;
            draw % 100 < acc
        })?;
        self.served_entities
            .iter()
            .find(|e| e.name == name.served_model_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(name: &str) -> ServedEntity {
        ServedEntity {
            name: name.into(),
            entity_name: "m".into(),
            entity_version: "1".into(),
            workload_size: "Small".into(),
            workload_type: "CPU".into(),
            scale_to_zero_enabled: false,
            environment_vars: Default::default(),
            instance_type: None,
        }
    }

    #[test]
    fn configs_are_checked_and_route_by_percentage() {
        let mut one = EndpointConfig {
            config_version: 1,
            served_entities: vec![entity("a")],
            routes: vec![],
            start_time: 0,
        };
        one.validate().unwrap();
        assert_eq!(one.routes[0].traffic_percentage, 100);
        let route = |n: &str, p| Route {
            served_model_name: n.into(),
            traffic_percentage: p,
        };
        let mut split = EndpointConfig {
            config_version: 2,
            served_entities: vec![entity("a"), entity("b")],
            routes: vec![route("a", 30), route("b", 70)],
            start_time: 0,
        };
        split.validate().unwrap();
        assert_eq!(split.route(29).unwrap().name, "a");
        assert_eq!(split.route(30).unwrap().name, "b");
        split.routes[1].traffic_percentage = 60;
        assert!(split.validate().is_err());
        split.routes = vec![route("a", 50), route("c", 50)];
        assert!(split.validate().is_err());
        let mut dup = EndpointConfig {
            config_version: 1,
            served_entities: vec![entity("a"), entity("a")],
            routes: vec![route("a", 100)],
            start_time: 0,
        };
        assert!(dup.validate().is_err());
        assert_eq!(default_entity_name("main.default.model", "3"), "model-3");
        assert!(check_name("endpoint name", "bad name").is_err());
    }
}
