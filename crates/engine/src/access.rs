//! What SQL may read: local files only under configured roots, S3 only in configured buckets, and
//! inputs only up to their size limits. Every path SQL names (`read_files`, `sql_task.file.path`,
//! table `LOCATION`s) is checked here, and every local file a query actually opens is checked again
//! by [`ConfinedFiles`], the session's `file://` object store, so globs, folders and symlinks inside a
//! root cannot lead out of it.
//!
//! The rule for a local path: it is resolved (`..` and every symlink) and must then lie under a root
//! and be a regular file or a folder; devices, FIFOs and sockets are refused. A path that does not
//! exist is judged by its lexical form, so the answer never tells whether a file outside the roots
//! exists. (A file swapped for a symlink between the check and the open is out of reach of this
//! check; the roots should not be writable by people who must not read outside them.)

use std::path::{Component, Path, PathBuf};

use url::Url;

use crate::error::{EngineError, EngineResult};

/// How large inputs may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// A `.sql` file (`sql_task.file.path`).
    pub max_sql_file_bytes: u64,
    /// All files one `read_files(...)` call reads together.
    pub max_read_bytes: u64,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            max_sql_file_bytes: 1024 * 1024,
            max_read_bytes: 16 * 1024 * 1024 * 1024,
        }
    }
}

/// Where SQL may read from.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    /// Canonical local folders; empty means no local file may be read.
    local_roots: Vec<PathBuf>,
    /// Readable buckets; `None` means any bucket the credentials reach.
    s3_buckets: Option<Vec<String>>,
    pub limits: InputLimits,
}

/// A checked location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A canonical local path under a root (a glob keeps its pattern after the checked folder).
    Local(PathBuf),
    /// An object or prefix in an allowed bucket.
    S3 { bucket: String, url: Url },
}

impl AccessPolicy {
    /// Local files under `roots` (folders that do not exist are skipped), S3 nowhere.
    pub fn local(roots: impl IntoIterator<Item = PathBuf>) -> AccessPolicy {
        let mut local_roots: Vec<PathBuf> = roots
            .into_iter()
            .filter_map(|r| r.canonicalize().ok())
            .filter(|r| r.is_dir())
            .collect();
        local_roots.sort();
        local_roots.dedup();
        AccessPolicy {
            local_roots,
            s3_buckets: Some(vec![]),
            limits: InputLimits::default(),
        }
    }

    /// No local files; S3 in these buckets only.
    pub fn s3_only(buckets: Vec<String>) -> AccessPolicy {
        AccessPolicy {
            local_roots: vec![],
            s3_buckets: Some(buckets),
            limits: InputLimits::default(),
        }
    }

    /// S3 in these buckets (`None`: any bucket the credentials reach).
    pub fn with_s3_buckets(mut self, buckets: Option<Vec<String>>) -> AccessPolicy {
        self.s3_buckets = buckets;
        self
    }

    pub fn with_limits(mut self, limits: InputLimits) -> AccessPolicy {
        self.limits = limits;
        self
    }

    /// The local roots, canonical.
    pub fn local_roots(&self) -> &[PathBuf] {
        &self.local_roots
    }

    /// Checks a location as SQL wrote it: a local path, a `file:` URL or an `s3://` URI.
    pub fn check(&self, location: &str) -> EngineResult<Location> {
        let denied = |reason: &str| EngineError::denied(location, reason);
        if location.contains('\0') {
            return Err(denied("the path contains a NUL byte"));
        }
        let lower = location.to_ascii_lowercase();
        if lower.starts_with("s3://") || lower.starts_with("s3a://") {
            let url = Url::parse(location).map_err(|_| denied("not a valid s3:// URI"))?;
            let bucket = url.host_str().unwrap_or_default().to_string();
            let allowed = match &self.s3_buckets {
                None => !bucket.is_empty(),
                Some(list) => list.iter().any(|b| b == &bucket),
            };
            if !allowed {
                return Err(denied("the bucket is not one this engine may read"));
            }
            let url = Url::parse(&format!("s3://{bucket}{}", url.path()))
                .map_err(|_| denied("not a valid s3:// URI"))?;
            return Ok(Location::S3 { bucket, url });
        }
        let path = if lower.starts_with("file:") {
            let url = Url::parse(location).map_err(|_| denied("not a valid file: URL"))?;
            url.to_file_path()
                .map_err(|_| denied("only file: URLs of this host are readable"))?
        } else if lower.contains("://") {
            return Err(denied("only local paths and s3:// URIs are readable"));
        } else {
            PathBuf::from(location)
        };
        self.check_local(location, &path).map(Location::Local)
    }

    /// Checks a local path; returns it resolved. `shown` is how the user wrote it, for messages.
    pub fn check_local(&self, shown: &str, path: &Path) -> EngineResult<PathBuf> {
        let denied = |reason: String| EngineError::denied(shown, reason);
        if self.local_roots.is_empty() {
            return Err(denied("local files are not readable here".into()));
        }
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|source| EngineError::Io {
                    path: shown.to_string(),
                    source,
                })?
                .join(path)
        };
        // A glob: check the folder before the first pattern; each file it matches is checked when
        // the query opens it.
        let (fixed, pattern) = split_glob(&absolute);
        let outside = || {
            denied(format!(
                "it is outside the readable folders ({})",
                self.roots_shown()
            ))
        };
        let resolved = match fixed.canonicalize() {
            Ok(p) => p,
            Err(_) => {
                let lexical = normalize(&fixed);
                return Err(if self.under_root(&lexical) {
                    EngineError::not_found("File", shown)
                } else {
                    outside()
                });
            }
        };
        if !self.under_root(&resolved) {
            return Err(outside());
        }
        let kind = std::fs::metadata(&resolved).map_err(|source| EngineError::Io {
            path: shown.to_string(),
            source,
        })?;
        if !kind.is_file() && !kind.is_dir() {
            return Err(denied("it is not a regular file or folder".into()));
        }
        Ok(match pattern {
            Some(p) => resolved.join(p),
            None => resolved,
        })
    }

    fn under_root(&self, path: &Path) -> bool {
        self.local_roots.iter().any(|r| path.starts_with(r))
    }

    fn roots_shown(&self) -> String {
        self.local_roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The path up to (not including) the first component with a glob character, and the rest.
fn split_glob(path: &Path) -> (PathBuf, Option<PathBuf>) {
    let is_glob = |c: &Component| {
        c.as_os_str()
            .to_string_lossy()
            .contains(['*', '?', '[', '{'])
    };
    let components: Vec<Component> = path.components().collect();
    match components.iter().position(is_glob) {
        None => (path.to_path_buf(), None),
        Some(i) => (
            components[..i].iter().collect(),
            Some(components[i..].iter().collect()),
        ),
    }
}

/// `..` and `.` resolved without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_classified_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.csv"), "x\n1\n").unwrap();
        let policy = AccessPolicy::local([root.clone()]);
        let ok = policy
            .check(&root.join("a.csv").display().to_string())
            .unwrap();
        assert_eq!(ok, Location::Local(root.join("a.csv")));
        let url = format!("file://{}", root.join("a.csv").display());
        assert!(policy.check(&url).is_ok());
        let glob = policy.check(&format!("{}/*.csv", root.display())).unwrap();
        assert_eq!(glob, Location::Local(root.join("*.csv")));
        for bad in [
            "/etc/passwd".to_string(),
            "/proc/self/environ".into(),
            "/dev/zero".into(),
            "file:///etc/passwd".into(),
            "file://evil.example/etc/passwd".into(),
            format!("{}/../../../../etc/passwd", root.display()),
            format!("{}/../no-such-file", root.display()),
            "http://169.254.169.254/latest".into(),
            "s3://any-bucket/x".into(),
            "/etc/*".into(),
        ] {
            let err = policy.check(&bad).unwrap_err();
            assert!(
                matches!(err, EngineError::AccessDenied { .. }),
                "{bad}: {err}"
            );
        }
        let missing = policy.check(&root.join("nope.csv").display().to_string());
        assert!(missing.unwrap_err().to_string().contains("does not exist"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
            let err = policy
                .check(&root.join("etc/passwd").display().to_string())
                .unwrap_err();
            assert!(matches!(err, EngineError::AccessDenied { .. }), "{err}");
        }
        let s3 = AccessPolicy::s3_only(vec!["data".into()]);
        assert!(matches!(
            s3.check("s3://data/x.csv"),
            Ok(Location::S3 { .. })
        ));
        assert!(s3.check("s3://other/x.csv").is_err());
        assert!(s3.check("/tmp/x").is_err(), "no local files on AWS");
    }
}
