//! Lakeplane's WebAssembly UDF runtime: user functions compiled to WebAssembly, run in wasmtime
//! with hard limits and no access to anything outside their own memory.
//!
//! * **One engine per process** ([`UdfRuntime`]), modules compiled once and kept by the SHA-256
//!   of their bytes, in memory and (optionally) as machine code on disk.
//! * **Batch at a time**: a call hands the guest a whole batch of Arrow columns and gets a whole
//!   column back ([`abi`], specified in `udfs/ABI.md`); nothing crosses per row.
//! * **Sandboxed**: a module may import nothing (no WASI, no clock, no files, no network); every
//!   call runs under [`Limits`] on time, memory, stack and output. A limit or a trap fails the
//!   call with an error naming the function; the process goes on.
//!
//! ```no_run
//! # fn demo() -> Result<(), lakeplane_udf_host::UdfError> {
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Float64Array};
//! use arrow_schema::DataType;
//! use lakeplane_udf_host::{Limits, UdfRuntime, WasmFunction};
//! let runtime = UdfRuntime::new(Limits::default(), None)?;
//! let bytes = std::fs::read("haversine.wasm").map_err(|e| lakeplane_udf_host::UdfError::InvalidModule { reason: e.to_string() })?;
//! let module = runtime.load(&bytes)?.module;
//! let f = WasmFunction::new("haversine", module, "haversine", vec![DataType::Float64; 4], DataType::Float64)?;
//! let col: ArrayRef = Arc::new(Float64Array::from(vec![52.5, 48.8]));
//! let km = f.call(&[col.clone(), col.clone(), col.clone(), col], 2)?;
//! # Ok(()) }
//! ```

pub mod abi;
mod cache;
mod call;
mod error;
mod limits;
mod module;
pub mod toolchain;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, OptLevel};

pub use cache::LoadedFrom;
pub use call::WasmFunction;
pub use error::{CallFailure, UdfError, UdfResult};
pub use limits::Limits;
pub use module::{ModuleRef, UdfModule};

/// The most compiled modules kept in memory; past it, the oldest loaded is dropped (the functions
/// holding it keep it alive).
pub const MAX_CACHED_MODULES: usize = 256;

/// A module ready to call, and where its code came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub module: ModuleRef,
    pub from: LoadedFrom,
}

/// The process's UDF runtime: the wasmtime engine with its epoch ticker, the limits, and the
/// compiled modules.
pub struct UdfRuntime {
    engine: Engine,
    limits: Limits,
    cache_dir: Option<PathBuf>,
    modules: Mutex<(HashMap<String, ModuleRef>, Vec<String>)>,
}

impl std::fmt::Debug for UdfRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdfRuntime")
            .field("limits", &self.limits)
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

/// The SHA-256 of a module's bytes, hex: its identity everywhere.
pub fn module_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl UdfRuntime {
    /// A runtime with `limits`, keeping compiled code in `cache_dir` when given (created, private
    /// to the user). Starts the thread that ticks the engine's epoch (it ends with the runtime).
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> UdfResult<Arc<UdfRuntime>> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .max_wasm_stack(limits.max_stack_bytes)
            .cranelift_opt_level(OptLevel::Speed);
        let engine = Engine::new(&config).map_err(|e| UdfError::Runtime {
            reason: format!("{e:#}"),
        })?;
        if let Some(dir) = &cache_dir {
            cache::prepare(dir)?;
        }
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("udf-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(limits::TICK);
                match weak.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => return,
                }
            })
            .map_err(|e| UdfError::Runtime {
                reason: format!("starting the epoch thread: {e}"),
            })?;
        Ok(Arc::new(UdfRuntime {
            engine,
            limits,
            cache_dir,
            modules: Mutex::new((HashMap::new(), Vec::new())),
        }))
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The module in `bytes` (WebAssembly binary or text), checked against the ABI and compiled,
    /// or the one already loaded with the same hash. Errors: too large, not WebAssembly, imports,
    /// not following the ABI.
    pub fn load(&self, bytes: &[u8]) -> UdfResult<Loaded> {
        if bytes.len() > self.limits.max_module_bytes {
            return Err(UdfError::ModuleTooLarge {
                size: bytes.len(),
                limit: self.limits.max_module_bytes,
            });
        }
        let hash = module_hash(bytes);
        if let Some(m) = self.cached(&hash) {
            return Ok(Loaded {
                module: m,
                from: LoadedFrom::Memory,
            });
        }
        let (module, from) = cache::load(&self.engine, self.cache_dir.as_deref(), &hash, bytes)?;
        let module = Arc::new(UdfModule::new(
            &self.engine,
            module,
            hash.clone(),
            self.limits,
        )?);
        let mut guard = match self.modules.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (map, order) = &mut *guard;
        if map.len() >= MAX_CACHED_MODULES && !order.is_empty() {
            let oldest = order.remove(0);
            map.remove(&oldest);
        }
        if map.insert(hash.clone(), module.clone()).is_none() {
            order.push(hash);
        }
        Ok(Loaded { module, from })
    }

    /// The loaded module with this hash, if any.
    pub fn cached(&self, hash: &str) -> Option<ModuleRef> {
        match self.modules.lock() {
            Ok(g) => g.0.get(hash).cloned(),
            Err(poisoned) => poisoned.into_inner().0.get(hash).cloned(),
        }
    }
}
