//! The bounds MLflow documents (and its tracking server enforces), kept by lakeplane the same way,
//! plus the size a run may reach in the state store. Every breach is `INVALID_PARAMETER_VALUE`
//! naming the field and the limit.

use crate::{DomainError, DomainResult};

/// Longest name of a param, metric or tag, in characters.
pub const MAX_KEY_CHARS: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VALUE_CHARS: usize = 6000;
/// Longest tag value (runs, experiments, models, versions).
pub const MAX_TAG_VALUE_CHARS: usize = 8000;
/// Longest experiment, run or registered model name; longest description.
pub const MAX_NAME_CHARS: usize = 500;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// `runs/log-batch`: at most this many metrics, params, tags, and entries in all.
pub const MAX_BATCH_METRICS: usize = 1000;
pub const MAX_BATCH_PARAMS: usize = 100;
pub const MAX_BATCH_TAGS: usize = 100;
pub const MAX_BATCH_ENTRIES: usize = 1000;
/// The most params, tags and distinct metrics one run (or logged model) holds: its document stays
/// well under a state-store item (DynamoDB's 400 KB).
pub const MAX_RUN_BYTES: usize = 300 * 1024;
/// The most results one search or listing answers per page.
pub const MAX_RESULTS: usize = 1000;
/// The largest artifact file accepted by the artifact proxy, in bytes.
pub const MAX_ARTIFACT_BYTES: usize = 512 * 1024 * 1024;

/// Checks a param, metric or tag name as MLflow does: letters, digits, `_ - . / : ` and spaces,
/// not empty, not a path that climbs (`..`) or starts at the root.
pub fn check_key(what: &str, key: &str) -> DomainResult<()> {
    if key.is_empty() {
        return Err(DomainError::invalid(format!(
            "{what} name must not be empty"
        )));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(DomainError::invalid(format!(
            "{what} name '{}…' is longer than {MAX_KEY_CHARS} characters",
            key.chars().take(40).collect::<String>()
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || "_-./: ".contains(c);
    if !key.chars().all(allowed) || key.starts_with('/') || key.split('/').any(|p| p == "..") {
        return Err(DomainError::invalid(format!(
            "Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
             dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), and may not climb \
             out of their folder."
        )));
    }
    Ok(())
}

/// Checks that `value` is at most `max` characters.
pub fn check_len(what: &str, value: &str, max: usize) -> DomainResult<()> {
    let n = value.chars().count();
    if n > max {
        return Err(DomainError::invalid(format!(
            "{what} is {n} characters long, over the limit of {max}"
        )));
    }
    Ok(())
}

/// Checks a name (experiment, run, registered model): not blank, bounded.
pub fn check_name(what: &str, name: &str) -> DomainResult<()> {
    if name.trim().is_empty() {
        return Err(DomainError::invalid(format!("{what} must not be empty")));
    }
    check_len(what, name, MAX_NAME_CHARS)
}

/// Checks a tag's key and value.
pub fn check_tag(key: &str, value: &str) -> DomainResult<()> {
    check_key("tag", key)?;
    check_len(
        &format!("the value of tag '{key}'"),
        value,
        MAX_TAG_VALUE_CHARS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        assert!(check_key("param", "alpha").is_ok());
        assert!(check_key("metric", "val/loss 1:x").is_ok());
        assert!(check_key("param", "").is_err());
        assert!(check_key("param", "../etc").is_err());
        assert!(check_key("param", "/abs").is_err());
        assert!(check_key("param", "a;b").is_err());
        assert!(check_key("param", &"k".repeat(251)).is_err());
        assert!(check_tag("t", &"v".repeat(8000)).is_ok());
        assert!(check_tag("t", &"v".repeat(8001)).is_err());
    }
}
