//! A registered module: checked against the ABI once, compiled once, instantiated quickly from an
//! [`InstancePre`], with a pool of idle instances that takes an instance back only after a
//! successful call (an instance that trapped or hit a limit may be in any state, so it is dropped).

use std::sync::{Arc, Mutex};

use wasmtime::{
    Engine, ExternType, FuncType, Instance, InstancePre, Linker, Memory, Module, Store, TypedFunc,
    ValType,
};

use crate::error::{UdfError, UdfResult};
use crate::limits::{Guard, Limits};

pub(crate) const EXPORT_ABI: &str = "lakeplane_abi_version";
pub(crate) const EXPORT_ALLOC: &str = "lakeplane_alloc";
pub(crate) const EXPORT_FREE: &str = "lakeplane_free";
pub(crate) const EXPORT_LAST_ERROR: &str = "lakeplane_last_error";
pub(crate) const EXPORT_MEMORY: &str = "memory";
const WASM_PAGE: u64 = 64 << 10;

/// A compiled, checked module. Cheap to share; the functions declared over it hold it.
pub struct UdfModule {
    hash: String,
    pre: InstancePre<Guard>,
    engine: Engine,
    limits: Limits,
    handlers: Vec<String>,
    pool: Mutex<Vec<Pooled>>,
}

impl std::fmt::Debug for UdfModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdfModule")
            .field("hash", &self.hash)
            .field("handlers", &self.handlers)
            .finish()
    }
}

/// An instance with its store and the ABI's exports looked up.
pub(crate) struct Pooled {
    pub(crate) store: Store<Guard>,
    pub(crate) instance: Instance,
    pub(crate) memory: Memory,
    pub(crate) alloc: TypedFunc<i32, i32>,
    pub(crate) free: TypedFunc<(i32, i32), ()>,
}

fn sig(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

fn has_sig(f: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same = |a: &mut dyn ExactSizeIterator<Item = ValType>, b: &[ValType]| {
        a.len() == b.len() && a.zip(b).all(|(x, y)| ValType::eq(&x, y))
    };
    same(&mut f.params(), params) && same(&mut f.results(), results)
}

fn describe(f: &FuncType) -> String {
    sig(
        &f.params().collect::<Vec<_>>(),
        &f.results().collect::<Vec<_>>(),
    )
}

/// The entry point signature: `(frame_ptr: i32, frame_len: i32) -> i64` (result ptr << 32 | len).
const ENTRY_PARAMS: [ValType; 2] = [ValType::I32, ValType::I32];
const ENTRY_RESULTS: [ValType; 1] = [ValType::I64];

/// Checks a module against ABI 1: no imports, the memory and the ABI's functions exported with
/// their types, an initial memory within the limit. Returns the exported entry points.
pub(crate) fn check_interface(module: &Module, limits: &Limits) -> UdfResult<Vec<String>> {
    let imports: Vec<String> = module
        .imports()
        .map(|i| format!("{}::{}", i.module(), i.name()))
        .collect();
    if !imports.is_empty() {
        return Err(UdfError::ForbiddenImports {
            imports: imports.join(", "),
        });
    }
    let required: [(&str, &[ValType], &[ValType]); 3] = [
        (EXPORT_ABI, &[], &[ValType::I32]),
        (EXPORT_ALLOC, &[ValType::I32], &[ValType::I32]),
        (EXPORT_FREE, &[ValType::I32, ValType::I32], &[]),
    ];
    for (name, params, results) in required {
        match module.get_export(name) {
            Some(ExternType::Func(f)) if has_sig(&f, params, results) => {}
            Some(ExternType::Func(f)) => {
                return Err(UdfError::abi(format!(
                    "export '{name}' has type {}; it must be {}",
                    describe(&f),
                    sig(params, results)
                )))
            }
            _ => {
                return Err(UdfError::abi(format!(
                    "it does not export the function '{name}' (a module built with lakeplane's \
                     guest SDK has it)"
                )))
            }
        }
    }
    match module.get_export(EXPORT_MEMORY) {
        Some(ExternType::Memory(m)) => {
            let initial = m.minimum().saturating_mul(WASM_PAGE);
            if initial > limits.max_memory_bytes as u64 {
                return Err(UdfError::abi(format!(
                    "its memory starts at {initial} bytes, over the {}-byte memory limit",
                    limits.max_memory_bytes
                )));
            }
            if m.is_64() || m.is_shared() {
                return Err(UdfError::abi(
                    "its memory must be a 32-bit, unshared memory",
                ));
            }
        }
        _ => return Err(UdfError::abi("it does not export its memory as 'memory'")),
    }
    Ok(module
        .exports()
        .filter_map(|e| match e.ty() {
            ExternType::Func(f) if has_sig(&f, &ENTRY_PARAMS, &ENTRY_RESULTS) => {
                Some(e.name().to_owned())
            }
            _ => None,
        })
        .filter(|n| n != EXPORT_LAST_ERROR)
        .collect())
}

impl UdfModule {
    /// Checks and prepares `module`, then instantiates it once and asks its ABI version (running
    /// its start function, under the limits).
    pub(crate) fn new(
        engine: &Engine,
        module: Module,
        hash: String,
        limits: Limits,
    ) -> UdfResult<UdfModule> {
        let handlers = check_interface(&module, &limits)?;
        let linker = Linker::new(engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| UdfError::abi(format!("{e:#}")))?;
        let m = UdfModule {
            hash,
            pre,
            engine: engine.clone(),
            limits,
            handlers,
            pool: Mutex::new(Vec::new()),
        };
        let mut first = m.instantiate().map_err(|e| UdfError::abi(e.to_string()))?;
        let abi = first
            .instance
            .get_typed_func::<(), i32>(&mut first.store, EXPORT_ABI)
            .and_then(|f| {
                first.store.set_epoch_deadline(limits.deadline_ticks());
                f.call(&mut first.store, ())
            })
            .map_err(|e| UdfError::abi(format!("{EXPORT_ABI} failed: {e}")))?;
        if abi != crate::abi::ABI_VERSION {
            return Err(UdfError::abi(format!(
                "it was built for ABI version {abi}; this lakeplane speaks version {}",
                crate::abi::ABI_VERSION
            )));
        }
        m.give_back(first);
        Ok(m)
    }

    /// The SHA-256 of the module's bytes, hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The exported functions with the entry-point signature.
    pub fn entry_points(&self) -> &[String] {
        &self.handlers
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A fresh instance in a fresh store with the limits applied.
    pub(crate) fn instantiate(&self) -> Result<Pooled, String> {
        let mut store = Store::new(&self.engine, Guard::new(&self.limits));
        store.limiter(|g| g);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.limits.deadline_ticks());
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            if store.data().memory_denied {
                format!(
                    "instantiating needs more than {} bytes of memory",
                    self.limits.max_memory_bytes
                )
            } else {
                format!("instantiating failed: {e:#}")
            }
        })?;
        let memory = instance
            .get_memory(&mut store, EXPORT_MEMORY)
            .ok_or_else(|| "no memory export".to_owned())?;
        let alloc = instance
            .get_typed_func(&mut store, EXPORT_ALLOC)
            .map_err(|e| e.to_string())?;
        let free = instance
            .get_typed_func(&mut store, EXPORT_FREE)
            .map_err(|e| e.to_string())?;
        Ok(Pooled {
            store,
            instance,
            memory,
            alloc,
            free,
        })
    }

    /// An idle instance, or a new one.
    pub(crate) fn take(&self) -> Result<Pooled, String> {
        let idle = match self.pool.lock() {
            Ok(mut p) => p.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        };
        match idle {
            Some(p) => Ok(p),
            None => self.instantiate(),
        }
    }

    /// Returns an instance after a successful call (up to the pool's size).
    pub(crate) fn give_back(&self, p: Pooled) {
        let mut pool = match self.pool.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if pool.len() < self.limits.pooled_instances {
            pool.push(p);
        }
    }

    /// Checks that `export` is an entry point of this module.
    pub(crate) fn entry(&self, export: &str) -> UdfResult<()> {
        if self.handlers.iter().any(|h| h == export) {
            return Ok(());
        }
        Err(UdfError::abi(match self.pre.module().get_export(export) {
            Some(ExternType::Func(f)) => format!(
                "export '{export}' has type {}; an entry point must be {}",
                describe(&f),
                sig(&ENTRY_PARAMS, &ENTRY_RESULTS)
            ),
            _ => format!(
                "it exports no function '{export}'; its entry points are: {}",
                if self.handlers.is_empty() {
                    "none".to_owned()
                } else {
                    self.handlers.join(", ")
                }
            ),
        }))
    }
}

/// A shared module handle.
pub type ModuleRef = Arc<UdfModule>;
