//! The storage root: where managed tables live, a local folder (`file://`) or an S3 prefix
//! (`s3://bucket/prefix/`). Each managed table gets a folder of its own,
//! `<root>/<catalog>/<schema>/<table id>/`, so a table dropped and created again never reuses the
//! old one's files, and a renamed table keeps its data where it is. (In Databricks terms this is
//! the metastore's managed storage location, not a SQL warehouse, which is compute.)

use lakeplane_core::catalog::FullName;
use url::Url;

use crate::error::{EngineError, EngineResult};

/// The storage root.
#[derive(Debug, Clone)]
pub struct StorageRoot {
    root: Url,
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

    pub fn url(&self) -> &Url {
        &self.root
    }

    /// Where the managed table `name` with id `table_id` keeps its files. Names are escaped as URL
    /// path segments, so no name can reach outside its folder.
    pub fn managed_location(&self, name: &FullName, table_id: &str) -> EngineResult<Url> {
        let mut url = self.root.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|_| {
                EngineError::invalid(format!("storage root {} cannot hold paths", self.root))
            })?;
            segments.pop_if_empty();
            segments.extend([name.catalog.as_str(), name.schema.as_str(), table_id, ""]);
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_locations_stay_under_the_root() {
        let root = StorageRoot::new(Url::parse("s3://b/wh").unwrap());
        let name = FullName::new("main", "s", "t").unwrap();
        assert_eq!(
            root.managed_location(&name, "id1").unwrap().as_str(),
            "s3://b/wh/main/s/id1/"
        );
        // Names cannot hold '.' or '/'; what else they hold is escaped, one segment each.
        let odd = FullName::new("c", "a%2F#?", "t").unwrap();
        let url = root.managed_location(&odd, "id1").unwrap();
        assert_eq!(url.as_str(), "s3://b/wh/c/a%252f%23%3F/id1/");
    }
}
