//! What loading or calling a UDF can fail with. Every variant names the module or the function,
//! so that a SQL error says which UDF failed and why.

/// A UDF runtime error.
#[derive(Debug, thiserror::Error)]
pub enum UdfError {
    /// The bytes are not a WebAssembly module (or its text form), or wasmtime refused to compile
    /// them.
    #[error("the module is not valid WebAssembly: {reason}")]
    InvalidModule { reason: String },
    /// The module is larger than [`crate::Limits::max_module_bytes`].
    #[error("the module is {size} bytes; a UDF module may be at most {limit} bytes")]
    ModuleTooLarge { size: usize, limit: usize },
    /// The module imports something: lakeplane UDFs get no host functions (no WASI, no files,
    /// network, clock or environment).
    #[error(
        "the module imports {imports}; a lakeplane UDF may import nothing (ABI {abi} offers no host \
         functions: no WASI, files, network, clock or environment)",
        abi = crate::abi::ABI_VERSION
    )]
    ForbiddenImports { imports: String },
    /// The module does not follow the ABI: an export missing or of the wrong type, a wrong ABI
    /// version.
    #[error("the module does not follow lakeplane's UDF ABI {abi}: {reason}", abi = crate::abi::ABI_VERSION)]
    Abi { reason: String },
    /// The function's declared SQL signature uses a type the ABI does not carry.
    #[error("function {function}: {reason}")]
    Signature { function: String, reason: String },
    /// A call ended without a result: a limit was hit, the guest trapped or returned a malformed
    /// result, or reported an error of its own.
    #[error("function {function} failed: {reason}")]
    Call {
        function: String,
        reason: CallFailure,
    },
    /// Reading or writing the compiled-module cache on disk failed.
    #[error("the compiled-UDF cache at {path}: {source}")]
    Cache {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// wasmtime could not be set up.
    #[error("the WebAssembly runtime could not start: {reason}")]
    Runtime { reason: String },
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    /// The call ran past [`crate::Limits::cpu_per_call`]; the guest was stopped.
    #[error("it ran longer than the {ms} ms a call may take (CPU limit) and was stopped")]
    TimeLimit { ms: u64 },
    /// The guest asked for more linear memory than [`crate::Limits::max_memory_bytes`].
    #[error("it needed more than the {limit} bytes of memory a UDF may use (memory limit)")]
    MemoryLimit { limit: usize },
    /// The guest recursed deeper than [`crate::Limits::max_stack_bytes`] allows.
    #[error("it exhausted its {limit}-byte call stack (stack limit)")]
    StackLimit { limit: usize },
    /// The guest's result is larger than [`crate::Limits::max_output_bytes`].
    #[error("its result is {size} bytes; a call may return at most {limit} bytes (output limit)")]
    OutputLimit { size: usize, limit: usize },
    /// The guest trapped (a Rust panic is an `unreachable` trap; its message is kept when the
    /// guest SDK recorded it).
    #[error("the module trapped: {0}")]
    Trap(String),
    /// The guest returned a result that breaks the ABI (out of bounds, wrong row count or type,
    /// invalid UTF-8, bad offsets).
    #[error("the module returned a malformed result: {0}")]
    Malformed(String),
    /// The guest reported an error of its own (a `Result::Err` in the SDK).
    #[error("{0}")]
    Guest(String),
}

pub type UdfResult<T> = Result<T, UdfError>;

impl UdfError {
    pub(crate) fn call(function: &str, reason: CallFailure) -> UdfError {
        UdfError::Call {
            function: function.to_owned(),
            reason,
        }
    }

    pub(crate) fn abi(reason: impl Into<String>) -> UdfError {
        UdfError::Abi {
            reason: reason.into(),
        }
    }
}
