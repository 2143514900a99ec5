//! Calling a UDF on a batch: arguments framed into the guest's memory, one call per batch (or
//! per slice of a batch too big for one call), the result read back and validated.

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use wasmtime::{Trap, TypedFunc};

use crate::abi::{read_result, Frame, WasmType};
use crate::error::{CallFailure, UdfError, UdfResult};
use crate::module::{ModuleRef, Pooled, EXPORT_LAST_ERROR};

/// The longest panic message read back from a guest.
const MAX_GUEST_MESSAGE: usize = 4096;

/// A SQL function bound to an entry point of a module, with its declared signature.
#[derive(Debug, Clone)]
pub struct WasmFunction {
    name: String,
    module: ModuleRef,
    export: String,
    args: Vec<DataType>,
    ret: DataType,
}

impl WasmFunction {
    /// Binds `name` (as SQL calls it, for messages) to `export` of `module`. Errors: a type the
    /// ABI does not carry, or `export` is not an entry point.
    pub fn new(
        name: &str,
        module: ModuleRef,
        export: &str,
        args: Vec<DataType>,
        ret: DataType,
    ) -> UdfResult<WasmFunction> {
        for t in args.iter().chain([&ret]) {
            if WasmType::of(t).is_none() {
                return Err(UdfError::Signature {
                    function: name.to_owned(),
                    reason: format!(
                        "type {t} cannot cross into a WebAssembly UDF (the ABI carries BOOLEAN, \
                         INT, BIGINT, FLOAT, DOUBLE, STRING, BINARY, DATE and TIMESTAMP)"
                    ),
                });
            }
        }
        module.entry(export)?;
        Ok(WasmFunction {
            name: name.to_owned(),
            module,
            export: export.to_owned(),
            args,
            ret,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn arg_types(&self) -> &[DataType] {
        &self.args
    }

    pub fn return_type(&self) -> &DataType {
        &self.ret
    }

    pub fn module(&self) -> &ModuleRef {
        &self.module
    }

    fn fail(&self, reason: CallFailure) -> UdfError {
        UdfError::call(&self.name, reason)
    }

    /// Calls the function on `rows` rows of `args` (arrays of the declared types), returning one
    /// value per row. Batches are split into calls of at most `max_rows_per_call` rows and
    /// `max_input_bytes` bytes.
    pub fn call(&self, args: &[ArrayRef], rows: usize) -> UdfResult<ArrayRef> {
        if args.len() != self.args.len() || args.iter().any(|a| a.len() != rows) {
            return Err(self.fail(CallFailure::Malformed(format!(
                "the host passed {} columns for {} arguments",
                args.len(),
                self.args.len()
            ))));
        }
        if rows == 0 {
            return Ok(arrow_array::new_empty_array(&self.ret));
        }
        let limits = *self.module.limits();
        let mut parts: Vec<ArrayRef> = Vec::new();
        let mut start = 0;
        let mut step = limits.max_rows_per_call.max(1);
        while start < rows {
            let n = step.min(rows - start);
            let slice: Vec<ArrayRef> = args.iter().map(|a| a.slice(start, n)).collect();
            let frame = Frame::new(&slice, n).map_err(|e| self.fail(CallFailure::Malformed(e)))?;
            if frame.len() > limits.max_input_bytes {
                if n > 1 {
                    step = n / 2;
                    continue;
                }
                return Err(self.fail(CallFailure::Malformed(format!(
                    "one row's arguments take {} bytes; a call carries at most {}",
                    frame.len(),
                    limits.max_input_bytes
                ))));
            }
            parts.push(self.call_once(&frame, n)?);
            start += n;
        }
        if parts.len() == 1 {
            return parts
                .pop()
                .ok_or_else(|| self.fail(CallFailure::Malformed("no result".into())));
        }
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        arrow_select::concat::concat(&refs)
            .map_err(|e| self.fail(CallFailure::Malformed(e.to_string())))
    }

    /// One call on an instance from the pool; the instance goes back only if the call succeeded.
    fn call_once(&self, frame: &Frame, rows: usize) -> UdfResult<ArrayRef> {
        let mut inst = self
            .module
            .take()
            .map_err(|e| self.fail(CallFailure::Trap(e)))?;
        match self.run(&mut inst, frame, rows) {
            Ok(out) => {
                self.module.give_back(inst);
                Ok(out)
            }
            Err(reason) => Err(self.fail(reason)),
        }
    }

    fn run(&self, p: &mut Pooled, frame: &Frame, rows: usize) -> Result<ArrayRef, CallFailure> {
        let limits = *self.module.limits();
        p.store.set_epoch_deadline(limits.deadline_ticks());
        p.store.data_mut().memory_denied = false;
        let entry: TypedFunc<(i32, i32), i64> = p
            .instance
            .get_typed_func(&mut p.store, &self.export)
            .map_err(|e| CallFailure::Trap(e.to_string()))?;
        let len = frame.len() as i32;
        let input = p
            .alloc
            .call(&mut p.store, len)
            .map_err(|e| trapped(p, e, &limits))?;
        if input == 0 {
            return Err(if p.store.data().memory_denied {
                CallFailure::MemoryLimit {
                    limit: limits.max_memory_bytes,
                }
            } else {
                CallFailure::Trap(format!("lakeplane_alloc({len}) returned 0"))
            });
        }
        let at = input as u32 as usize;
        let dst = p
            .memory
            .data_mut(&mut p.store)
            .get_mut(at..at + frame.len())
            .ok_or_else(|| {
                CallFailure::Malformed(format!("lakeplane_alloc returned {at}, outside its memory"))
            })?;
        frame.write(dst);
        let packed = entry
            .call(&mut p.store, (input, len))
            .map_err(|e| trapped(p, e, &limits))?;
        let (out, out_len) = (
            (packed as u64 >> 32) as usize,
            packed as u64 as u32 as usize,
        );
        if out_len > limits.max_output_bytes {
            return Err(CallFailure::OutputLimit {
                size: out_len,
                limit: limits.max_output_bytes,
            });
        }
        let bytes = p
            .memory
            .data(&p.store)
            .get(out..out + out_len)
            .ok_or_else(|| {
                CallFailure::Malformed(format!(
                    "its result ({out_len} bytes at {out}) lies outside its memory"
                ))
            })?;
        let result = read_result(bytes, rows, &self.ret)?;
        for (ptr, n) in [(out as i32, out_len as i32), (input, len)] {
            p.free
                .call(&mut p.store, (ptr, n))
                .map_err(|e| trapped(p, e, &limits))?;
        }
        Ok(result)
    }
}

/// What a trap means: a limit hit, or the guest's own failure (with its panic message when the
/// guest recorded one).
fn trapped(p: &mut Pooled, err: wasmtime::Error, limits: &crate::Limits) -> CallFailure {
    let trap = err.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::Interrupt) => CallFailure::TimeLimit {
            ms: limits.cpu_per_call.as_millis() as u64,
        },
        Some(Trap::StackOverflow) => CallFailure::StackLimit {
            limit: limits.max_stack_bytes,
        },
        _ if p.store.data().memory_denied => CallFailure::MemoryLimit {
            limit: limits.max_memory_bytes,
        },
        Some(t) => match guest_message(p, limits) {
            Some(m) => CallFailure::Trap(format!("{t} ({m})")),
            None => CallFailure::Trap(t.to_string()),
        },
        None => CallFailure::Trap(format!("{err:#}")),
    }
}

/// The message the guest SDK's panic hook left, if the module exports `lakeplane_last_error`.
fn guest_message(p: &mut Pooled, limits: &crate::Limits) -> Option<String> {
    let f = p
        .instance
        .get_typed_func::<(), i64>(&mut p.store, EXPORT_LAST_ERROR)
        .ok()?;
    p.store.set_epoch_deadline(limits.deadline_ticks());
    let packed = f.call(&mut p.store, ()).ok()?;
    let (at, len) = (
        (packed as u64 >> 32) as usize,
        packed as u64 as u32 as usize,
    );
    let bytes = p
        .memory
        .data(&p.store)
        .get(at..at + len.min(MAX_GUEST_MESSAGE))?;
    let msg = String::from_utf8_lossy(bytes).trim().to_owned();
    (!msg.is_empty()).then_some(msg)
}
