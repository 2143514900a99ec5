//! Where tables live: `<root>/main/<schema>/<table>/`, a Delta table per folder, under the storage root.
//! The root is a local folder (`file://`) or an S3 prefix (`s3://bucket/prefix/`). (In Databricks terms
//! this is the metastore's managed storage location, not a SQL warehouse, which is compute.)

use url::Url;

use crate::error::{EngineError, EngineResult};

/// The only catalog, as in a fresh Databricks workspace.
pub const CATALOG: &str = "main";
/// The schema of unqualified table names.
pub const DEFAULT_SCHEMA: &str = "default";

/// The storage root: where managed tables live.
#[derive(Debug, Clone)]
pub struct StorageRoot {
    root: Url,
}

/// A table's three-part name, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{CATALOG}.{}.{}", self.schema, self.table)
    }
}

/// Identifiers become folder names, so only `[A-Za-z0-9_]` is allowed. Returns it lower-cased.
pub(crate) fn check_ident(kind: &str, s: &str) -> EngineResult<String> {
    if s.is_empty() || s.len() > 255 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(EngineError::Invalid(format!(
            "{kind} name '{s}' must be 1 to 255 letters, digits or underscores"
        )));
    }
    Ok(s.to_ascii_lowercase())
}

impl TableName {
    /// From `table`, `schema.table` or `main.schema.table`.
    pub fn from_parts(parts: &[String]) -> EngineResult<TableName> {
        let (schema, table) = match parts {
            [t] => (DEFAULT_SCHEMA.to_string(), t.clone()),
            [s, t] => (s.clone(), t.clone()),
            [c, s, t] if c.eq_ignore_ascii_case(CATALOG) => (s.clone(), t.clone()),
            [c, _, _] => {
                return Err(EngineError::Invalid(format!(
                    "catalog '{c}' does not exist; lakeplane has one catalog, '{CATALOG}'"
                )))
            }
            _ => {
                return Err(EngineError::Invalid(format!(
                    "'{}' is not a table name",
                    parts.join(".")
                )))
            }
        };
        Ok(TableName {
            schema: check_ident("schema", &schema)?,
            table: check_ident("table", &table)?,
        })
    }
}

impl StorageRoot {
    /// A storage root at `root`; a trailing `/` is added if missing.
    pub fn new(mut root: Url) -> StorageRoot {
        if !root.path().ends_with('/') {
            let p = format!("{}/", root.path());
            root.set_path(&p);
        }
        StorageRoot { root }
    }

    /// A storage root in a local folder (created if missing).
    pub fn local(dir: &std::path::Path) -> EngineResult<StorageRoot> {
        let io = |source| EngineError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let dir = dir.canonicalize().map_err(io)?;
        let url = Url::from_directory_path(&dir).map_err(|_| {
            EngineError::Invalid(format!("{} is not an absolute path", dir.display()))
        })?;
        Ok(StorageRoot::new(url))
    }

    pub fn table_url(&self, schema: &str, table: &str) -> EngineResult<Url> {
        let name = TableName::from_parts(&[schema.to_string(), table.to_string()])?;
        self.url_of(&name)
    }

    pub fn url_of(&self, name: &TableName) -> EngineResult<Url> {
        self.root
            .join(&format!("{CATALOG}/{}/{}/", name.schema, name.table))
            .map_err(|e| EngineError::Invalid(e.to_string()))
    }

    /// The local folder of a schema (for `CREATE SCHEMA` and listings), if the root is local.
    pub fn local_dir(&self, parts: &[&str]) -> Option<std::path::PathBuf> {
        let mut p = self.root.to_file_path().ok()?;
        p.push(CATALOG);
        for part in parts {
            p.push(part);
        }
        Some(p)
    }

    /// Folder names under `<root>/main/<parts...>` for a local root; empty for object stores.
    pub fn list_local_dirs(&self, parts: &[&str]) -> Vec<String> {
        let Some(dir) = self.local_dir(parts) else {
            return vec![];
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return vec![];
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_and_refuse_traversal() {
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            TableName::from_parts(&p("T")).unwrap().to_string(),
            "main.default.t"
        );
        assert_eq!(
            TableName::from_parts(&p("main.s.t")).unwrap().to_string(),
            "main.s.t"
        );
        assert!(TableName::from_parts(&p("other.s.t")).is_err());
        assert!(TableName::from_parts(&["..".to_string()]).is_err());
        let w = StorageRoot::new(Url::parse("s3://b/wh").unwrap());
        assert_eq!(
            w.table_url("s", "t").unwrap().as_str(),
            "s3://b/wh/main/s/t/"
        );
    }
}
