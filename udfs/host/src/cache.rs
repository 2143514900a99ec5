//! Compiled modules on disk: a worker or a Lambda that meets a module again after a restart
//! loads its machine code instead of compiling it (milliseconds instead of up to seconds).
//!
//! Files are `<dir>/<sha256 of the module>.cwasm`, written by this runtime only (to a temporary
//! name, then renamed, so a reader never sees half a file). wasmtime refuses a file made by
//! another wasmtime version or engine configuration; such a file is compiled again and replaced.
//! The directory must be private to the process's user: its files are native code.

use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use crate::error::{UdfError, UdfResult};

/// Where a module's code came from, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedFrom {
    /// Already compiled in this process.
    Memory,
    /// Compiled earlier and read from the disk cache.
    Disk,
    /// Compiled now.
    Compiled,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UdfError + '_ {
    move |source| UdfError::Cache {
        path: path.display().to_string(),
        source,
    }
}

/// Creates the cache directory (owner-only on Unix).
pub(crate) fn prepare(dir: &Path) -> UdfResult<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

fn compile(engine: &Engine, bytes: &[u8]) -> UdfResult<Module> {
    Module::new(engine, bytes).map_err(|e| UdfError::InvalidModule {
        reason: format!("{e:#}"),
    })
}

/// The module with this hash: from `dir` when a usable compiled file is there, else compiled
/// from `bytes` (and written to `dir`).
pub(crate) fn load(
    engine: &Engine,
    dir: Option<&Path>,
    hash: &str,
    bytes: &[u8],
) -> UdfResult<(Module, LoadedFrom)> {
    let Some(dir) = dir else {
        return Ok((compile(engine, bytes)?, LoadedFrom::Compiled));
    };
    let path = dir.join(format!("{hash}.cwasm"));
    // Read into memory rather than mapped: a file replaced under a mapping cannot fault here.
    if let Ok(code) = std::fs::read(&path) {
        // SAFETY: the file was written by `store` below from `Module::serialize` of this very
        // module (the name is the hash of its source), in a directory private to this user, and
        // replaced only by an atomic rename. wasmtime checks that it was made by the same version
        // and configuration and errors otherwise.
        #[allow(unsafe_code)]
        let loaded = unsafe { Module::deserialize(engine, &code) };
        match loaded {
            Ok(m) => return Ok((m, LoadedFrom::Disk)),
            Err(e) => {
                tracing::info!(path = %path.display(), error = %e, "compiled UDF not reusable; compiling again");
            }
        }
    }
    let module = compile(engine, bytes)?;
    if let Err(e) = store(&module, &path) {
        // The cache only saves time; a full disk must not fail the query.
        tracing::warn!(error = %e, "could not write the compiled UDF to the cache");
    }
    Ok((module, LoadedFrom::Compiled))
}

fn store(module: &Module, path: &PathBuf) -> UdfResult<()> {
    let code = module.serialize().map_err(|e| UdfError::Runtime {
        reason: format!("serializing a compiled module: {e}"),
    })?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, code).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
