//! Parameter references in SQL text: `{{name}}` or `{{ name }}` is replaced by the parameter's value.

use std::collections::BTreeMap;

use crate::error::{DomainError, DomainResult};

/// Replaces every `{{ name }}` in `sql` with `params[name]`. An unknown name is an error that names it,
/// so a typo fails the task instead of running different SQL.
pub fn substitute(sql: &str, params: &BTreeMap<String, String>) -> DomainResult<String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        let value = params.get(name).ok_or_else(|| {
            DomainError::invalid(format!(
                "the SQL references parameter '{name}', which is not set"
            ))
        })?;
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_known_and_refuses_unknown() {
        let p = BTreeMap::from([("day".to_string(), "2024-01-01".to_string())]);
        assert_eq!(
            substitute("SELECT '{{day}}', '{{ day }}'", &p).unwrap(),
            "SELECT '2024-01-01', '2024-01-01'"
        );
        assert!(substitute("SELECT {{nope}}", &p)
            .unwrap_err()
            .to_string()
            .contains("'nope'"));
        assert_eq!(substitute("SELECT '{{' ", &p).unwrap(), "SELECT '{{' ");
    }
}
