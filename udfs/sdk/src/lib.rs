//! Write lakeplane SQL functions in plain Rust.
//!
//! ```ignore
//! lakeplane_udf::udf! {
//!     /// Great-circle distance in kilometres.
//!     fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
//!         // ...
//!     }
//! }
//! ```
//!
//! Build with `cargo build --target wasm32-unknown-unknown --release` (crate type `cdylib`), or
//! `lakeplane udf build`, and register the `.wasm` with `CREATE FUNCTION … LANGUAGE WASM`.
//!
//! * Argument types: `bool`, `i32`, `i64`, `f32`, `f64`, `&str`, `&[u8]`, [`Date`],
//!   [`Timestamp`], or `Option<T>` of one of them. SQL types: BOOLEAN, INT, BIGINT, FLOAT,
//!   DOUBLE, STRING, BINARY, DATE, TIMESTAMP.
//! * Nulls: a plain argument makes the function *strict*: a row with a null there is null
//!   without the function being called. An `Option<T>` argument sees the null as `None`.
//! * Result types: the same (`String` or `&str` for STRING, `Vec<u8>` for BINARY), `Option<T>`
//!   (`None` is a null), or `Result<T, E: Display>` (an `Err` fails the query with its message
//!   and the row number).
//! * A panic fails the query with the panic's message.
//!
//! The macro exports one entry point per function, named as the function, that runs the
//! function over a whole batch (the ABI is in `udfs/ABI.md`); this crate exports the memory
//! functions the host needs. Nothing is imported: the module runs with no WASI, no clock, no files.

#![allow(clippy::missing_safety_doc)]

mod column;
mod frame;

pub use column::{Arg, Column, Date, Out, Ret, Timestamp};
pub use frame::Batch;

/// ABI version 1.
pub const ABI_VERSION: i32 = 1;

/// Type tags of the ABI.
pub mod tag {
    pub const BOOLEAN: u32 = 1;
    pub const INT32: u32 = 2;
    pub const INT64: u32 = 3;
    pub const FLOAT32: u32 = 4;
    pub const FLOAT64: u32 = 5;
    pub const UTF8: u32 = 6;
    pub const BINARY: u32 = 7;
    pub const DATE: u32 = 8;
    pub const TIMESTAMP: u32 = 9;

    /// The SQL name of a tag, for messages.
    pub fn name(tag: u32) -> &'static str {
        match tag {
            BOOLEAN => "BOOLEAN",
            INT32 => "INT",
            INT64 => "BIGINT",
            FLOAT32 => "FLOAT",
            FLOAT64 => "DOUBLE",
            UTF8 => "STRING",
            BINARY => "BINARY",
            DATE => "DATE",
            TIMESTAMP => "TIMESTAMP",
            _ => "an unknown type",
        }
    }
}

#[no_mangle]
pub extern "C" fn lakeplane_abi_version() -> i32 {
    ABI_VERSION
}

/// Allocates `len` bytes, 8-aligned, for the host to write a batch into. 0 when out of memory.
#[no_mangle]
pub extern "C" fn lakeplane_alloc(len: i32) -> i32 {
    frame::alloc(len as u32 as usize) as i32
}

/// Frees what [`lakeplane_alloc`] or an entry point's result allocated.
#[no_mangle]
pub unsafe extern "C" fn lakeplane_free(ptr: i32, len: i32) {
    frame::free(ptr as u32 as usize as *mut u8, len as u32 as usize)
}

/// The last panic's message (pointer << 32 | length), read by the host after a trap.
#[no_mangle]
pub extern "C" fn lakeplane_last_error() -> i64 {
    frame::last_error()
}

/// Runs one call: reads the batch, lets `body` fill the output column, and returns the result
/// frame (or an error frame with `body`'s message). Used by [`udf!`].
#[doc(hidden)]
pub fn __entry<F>(ptr: i32, len: i32, arity: usize, ret: u32, body: F) -> i64
where
    F: FnOnce(&Batch, &mut Out) -> Result<(), String>,
{
    frame::catch_panics();
    let run = || -> Result<Out, String> {
        let batch = unsafe { Batch::from_raw(ptr as u32 as usize as *const u8, len as u32 as usize)? };
        if batch.columns() != arity {
            return Err(format!(
                "the function takes {} arguments; it was called with {}",
                arity,
                batch.columns()
            ));
        }
        let mut out = Out::new(ret, batch.rows());
        body(&batch, &mut out)?;
        Ok(out)
    };
    match run() {
        Ok(out) => frame::result(&out),
        Err(msg) => frame::error(&msg),
    }
}

/// Exports a plain Rust function as a SQL function: wrap the function in `udf! { … }`.
/// See the crate documentation for the types and how nulls and errors work.
#[macro_export]
macro_rules! udf {
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret $body

        #[doc(hidden)]
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[export_name = stringify!($name)]
            pub extern "C" fn __lakeplane_entry(ptr: i32, len: i32) -> i64 {
                const ARITY: usize = <[&str]>::len(&[$(stringify!($arg)),*]);
                $crate::__entry(ptr, len, ARITY, <$ret as $crate::Ret>::TYPE, |batch, out| {
                    let mut k = 0usize;
                    $(
                        let $arg = <$ty as $crate::Arg>::view(batch.column(k), k, stringify!($arg))?;
                        k += 1;
                    )*
                    for row in 0..batch.rows() {
                        let value = (|| Some(super::$name($(<$ty as $crate::Arg>::get(&$arg, row)?),*)))();
                        match value {
                            Some(v) => $crate::Ret::append_to(v, out).map_err(|e| format!("row {}: {}", row, e))?,
                            None => out.push_null(),
                        }
                    }
                    Ok(())
                })
            }
        }
    };
}
