//! WebAssembly guests for tests: the example UDFs built once per test process (Rust ones with
//! Debian's rustc and `libstd-rust-dev-wasm32`, or `LAKEPLANE_WASM_RUSTC`; the C one with
//! `clang-14`, or `LAKEPLANE_WASM_CLANG`), and the hostile fixtures.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use lakeplane_udf_host::toolchain::Toolchain;

use crate::repo_root;

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("udf-examples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The rustc that builds guests.
pub fn wasm_rustc() -> PathBuf {
    std::env::var_os("LAKEPLANE_WASM_RUSTC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/rustc"))
}

/// The `.wasm` of example `name` (a folder of `udfs/examples`; `c` is the C one), built once.
pub fn udf_example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    built
        .entry(name.to_owned())
        .or_insert_with(|| {
            let source = match name {
                "c" => repo_root().join("udfs/examples/c/fahrenheit.c"),
                _ => repo_root().join("udfs/examples").join(name),
            };
            toolchain().build(&source, &out_dir()).unwrap_or_else(|e| {
                panic!(
                    "building the {name} UDF example: {e}\n(install the wasm32 toolchain: \
                         apt-get install rustc libstd-rust-dev-wasm32 clang-14 lld-14, or set \
                         LAKEPLANE_WASM_RUSTC and LAKEPLANE_WASM_CLANG)"
                )
            })
        })
        .clone()
}

/// The toolchain tests build guests with: Debian's rustc (or `LAKEPLANE_WASM_RUSTC`) and clang-14
/// (or `LAKEPLANE_WASM_CLANG`).
pub fn toolchain() -> Toolchain {
    Toolchain {
        rustc: Some(wasm_rustc()),
        cargo: None,
        clang: Some(
            std::env::var_os("LAKEPLANE_WASM_CLANG")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("clang-14")),
        ),
    }
}

/// A hostile fixture of `udfs/fixtures/hostile`.
pub fn hostile_fixture(file: &str) -> PathBuf {
    repo_root().join("udfs/fixtures/hostile").join(file)
}
