//! Building the example UDFs once per test run, with the toolchain CI installs (Debian's rustc
//! with `libstd-rust-dev-wasm32`, and clang for the C example), or the ones the environment names.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use lakeplane_udf_host::toolchain::Toolchain;
use lakeplane_udf_host::{Limits, UdfRuntime};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo().join("udfs/fixtures/hostile").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rustc that builds guests: `LAKEPLANE_WASM_RUSTC`, else Debian's `/usr/bin/rustc`.
pub fn wasm_rustc() -> PathBuf {
    std::env::var_os("LAKEPLANE_WASM_RUSTC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/rustc"))
}

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("udf-examples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The toolchain CI installs: Debian's rustc (or `LAKEPLANE_WASM_RUSTC`) and clang-14 (or
/// `LAKEPLANE_WASM_CLANG`).
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

/// The built example `name` (a folder of `udfs/examples`; `c` is the C one), built once per run.
pub fn example(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<std::sync::Mutex<std::collections::HashMap<String, PathBuf>>> =
        OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap();
    let path = built.entry(name.to_owned()).or_insert_with(|| {
        let source = match name {
            "c" => repo().join("udfs/examples/c/fahrenheit.c"),
            _ => repo().join("udfs/examples").join(name),
        };
        toolchain().build(&source, &out_dir()).unwrap_or_else(|e| {
            panic!(
                "building the {name} example: {e}\n(install the wasm32 toolchain: apt-get install \
                 rustc libstd-rust-dev-wasm32 clang-14 lld-14, or set LAKEPLANE_WASM_RUSTC and \
                 LAKEPLANE_WASM_CLANG)"
            )
        })
    });
    std::fs::read(path).unwrap()
}

/// A runtime with small limits, so that the hostile guests fail fast.
pub fn tight() -> Arc<UdfRuntime> {
    UdfRuntime::new(
        Limits {
            cpu_per_call: std::time::Duration::from_millis(300),
            max_memory_bytes: 16 << 20,
            max_output_bytes: 1 << 20,
            ..Limits::default()
        },
        None,
    )
    .unwrap()
}
