//! Securable names: `catalog`, `catalog.schema`, `catalog.schema.table`. Names compare
//! case-insensitively and are kept lower-cased, as in Unity Catalog.

use super::{CatalogError, CatalogResult};

/// The longest name of a catalog, schema or table, in characters (Unity Catalog's limit).
pub const MAX_NAME_CHARS: usize = 255;

/// Checks one part of a name and returns it lower-cased. A name is 1 to [`MAX_NAME_CHARS`]
/// characters with no `.`, `/`, space or control character, so that a full name splits back
/// into its parts unambiguously.
pub fn check_name(kind: &str, name: &str) -> CatalogResult<String> {
    let bad = |c: char| c == '.' || c == '/' || c == ' ' || c.is_control();
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_CHARS || name.chars().any(bad) {
        return Err(CatalogError::Invalid(format!(
            "{kind} name '{name}' is not valid: 1 to {MAX_NAME_CHARS} characters, \
             without '.', '/', spaces or control characters"
        )));
    }
    Ok(name.to_lowercase())
}

/// A schema's name within its catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaName {
    pub catalog: String,
    pub schema: String,
}

impl SchemaName {
    /// A checked, lower-cased schema name.
    pub fn new(catalog: &str, schema: &str) -> CatalogResult<SchemaName> {
        Ok(SchemaName {
            catalog: check_name("catalog", catalog)?,
            schema: check_name("schema", schema)?,
        })
    }

    /// The name of table `table` in this schema.
    pub fn table(&self, table: &str) -> CatalogResult<FullName> {
        Ok(FullName {
            catalog: self.catalog.clone(),
            schema: self.schema.clone(),
            name: check_name("table", table)?,
        })
    }
}

impl std::fmt::Display for SchemaName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.catalog, self.schema)
    }
}

/// A table's (or view's) three-part name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FullName {
    pub catalog: String,
    pub schema: String,
    pub name: String,
}

impl FullName {
    /// A checked, lower-cased three-part name.
    pub fn new(catalog: &str, schema: &str, name: &str) -> CatalogResult<FullName> {
        SchemaName::new(catalog, schema)?.table(name)
    }

    /// Resolves one, two or three parts against the current catalog and schema.
    pub fn resolve(parts: &[String], current: &SchemaName) -> CatalogResult<FullName> {
        match parts {
            [t] => current.table(t),
            [s, t] => FullName::new(&current.catalog, s, t),
            [c, s, t] => FullName::new(c, s, t),
            _ => Err(CatalogError::Invalid(format!(
                "'{}' is not a table name: use table, schema.table or catalog.schema.table",
                parts.join(".")
            ))),
        }
    }

    pub fn schema_name(&self) -> SchemaName {
        SchemaName {
            catalog: self.catalog.clone(),
            schema: self.schema.clone(),
        }
    }
}

impl std::fmt::Display for FullName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.catalog, self.schema, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_lower_cased_and_refuse_separators() {
        let cur = SchemaName::new("main", "default").unwrap();
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            FullName::resolve(&p("T"), &cur).unwrap().to_string(),
            "main.default.t"
        );
        assert_eq!(
            FullName::resolve(&p("S.t"), &cur).unwrap().to_string(),
            "main.s.t"
        );
        assert_eq!(
            FullName::resolve(&p("c.s.t"), &cur).unwrap().to_string(),
            "c.s.t"
        );
        assert!(FullName::resolve(&p("a.b.c.d"), &cur).is_err());
        assert!(check_name("table", "a/b").is_err());
        assert!(check_name("table", "").is_err());
        assert!(check_name("table", &"x".repeat(256)).is_err());
        assert_eq!(check_name("table", "Größe-1").unwrap(), "größe-1");
    }
}
