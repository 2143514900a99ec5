//! The hard limits every UDF call runs under, and the store state that enforces the memory one.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// Limits on modules and calls. Each is enforced by wasmtime or the host, never by the guest's
/// good will; what happens when one is hit is said on each field. A call that hits a limit
/// fails with [`crate::UdfError::Call`] naming the function, its instance is thrown away (the
/// next call gets a fresh one) and the process goes on serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one call (one batch) may run, enforced by epoch interruption: the guest
    /// is stopped at its next loop back-edge or function entry, at most one tick (10 ms) late.
    /// The time includes nothing but guest code (no host I/O happens during a call), so it bounds
    /// CPU. Default 5 s.
    pub cpu_per_call: Duration,
    /// The guest's linear memory, in bytes: a `memory.grow` past it returns -1 to the guest
    /// (Rust's allocator then aborts, which is a trap) and the call fails as a memory-limit error.
    /// A module whose initial memory is larger is refused when registered. Default 128 MiB.
    pub max_memory_bytes: usize,
    /// The wasm call stack, in bytes: deeper recursion traps as a stack-limit error. Default 512 KiB.
    pub max_stack_bytes: usize,
    /// The result frame of one call, in bytes; a larger one is refused before it is read.
    /// Default 64 MiB.
    pub max_output_bytes: usize,
    /// The argument frame of one call, in bytes: bigger batches are split into several calls.
    /// Default 16 MiB.
    pub max_input_bytes: usize,
    /// The most rows one call carries. Default 8192.
    pub max_rows_per_call: usize,
    /// The module's size when registered, in bytes. Default 16 MiB.
    pub max_module_bytes: usize,
    /// Idle instances kept per module for reuse. Default 16.
    pub pooled_instances: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            cpu_per_call: Duration::from_secs(5),
            max_memory_bytes: 128 << 20,
            max_stack_bytes: 512 << 10,
            max_output_bytes: 64 << 20,
            max_input_bytes: 16 << 20,
            max_rows_per_call: 8192,
            max_module_bytes: 16 << 20,
            pooled_instances: 16,
        }
    }
}

/// The epoch tick: how often the deadline of running calls is checked.
pub(crate) const TICK: Duration = Duration::from_millis(10);

impl Limits {
    /// Epoch ticks one call may run.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        (self.cpu_per_call.as_millis() / TICK.as_millis()).max(1) as u64 + 1
    }
}

/// A store's data: the memory limit, and whether the guest ran into it (so that the trap that
/// follows is reported as a memory-limit error, not as the guest's abort).
pub(crate) struct Guard {
    max_memory: usize,
    pub(crate) memory_denied: bool,
}

impl Guard {
    pub(crate) fn new(limits: &Limits) -> Guard {
        Guard {
            max_memory: limits.max_memory_bytes,
            memory_denied: false,
        }
    }
}

/// Most table elements a guest may have (function tables of real modules hold a few hundred).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for Guard {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.max_memory;
        if !ok {
            self.memory_denied = true;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}
