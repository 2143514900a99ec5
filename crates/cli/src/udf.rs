//! `lakeplane udf build`: builds a UDF crate (or a single `.rs` file) for WebAssembly, checks the
//! module against the UDF ABI the way `CREATE FUNCTION` will, and says what it exports.

use std::path::PathBuf;

use anyhow::Context;
use lakeplane_udf_host::toolchain::Toolchain;
use lakeplane_udf_host::{Limits, UdfRuntime};

#[derive(clap::Args)]
pub struct BuildArgs {
    /// A crate folder (with Cargo.toml, built by cargo for wasm32-unknown-unknown), with --rustc
    /// a single .rs file that uses the `lakeplane_udf` SDK, or a .c file (built by clang).
    pub path: PathBuf,
    /// Where the .wasm file goes.
    #[arg(long, default_value = "target/udf")]
    pub out_dir: PathBuf,
    /// Compile with this rustc directly instead of cargo: any rustc (1.63 or later) with the
    /// wasm32 standard library, e.g. Debian's /usr/bin/rustc with libstd-rust-dev-wasm32.
    #[arg(long, env = "LAKEPLANE_WASM_RUSTC")]
    pub rustc: Option<PathBuf>,
    /// The clang that builds .c files (one with the wasm32 target and wasm-ld, e.g. clang-14).
    #[arg(long, env = "LAKEPLANE_WASM_CLANG")]
    pub clang: Option<PathBuf>,
}

pub fn build(args: BuildArgs) -> anyhow::Result<()> {
    let toolchain = Toolchain {
        rustc: args.rustc,
        cargo: None,
        clang: args.clang,
    };
    let wasm = toolchain
        .build(&args.path, &args.out_dir)
        .with_context(|| format!("building {}", args.path.display()))?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let runtime = UdfRuntime::new(Limits::default(), None)?;
    let module = runtime
        .load(&bytes)
        .with_context(|| format!("{} cannot be a lakeplane UDF", wasm.display()))?
        .module;
    say!(
        "built {} ({} bytes, sha256 {})",
        wasm.display(),
        bytes.len(),
        module.hash()
    );
    say!("entry points: {}", module.entry_points().join(", "));
    if let Some(first) = module.entry_points().first() {
        say!(
            "register it with:\n  CREATE FUNCTION main.default.{first}(…) RETURNS … LANGUAGE WASM AS '{}'",
            wasm.canonicalize().unwrap_or(wasm.clone()).display()
        );
    }
    Ok(())
}
