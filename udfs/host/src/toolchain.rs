//! Building UDFs: what `lakeplane udf build` runs.
//!
//! * A crate (a folder with `Cargo.toml`) is built by cargo for `wasm32-unknown-unknown` in
//!   release mode — the ordinary way, for a toolchain with that target installed
//!   (`rustup target add wasm32-unknown-unknown`).
//! * With an explicit `rustc` (any rustc ≥ 1.63 that has the wasm32 standard library, such as
//!   Debian's `rustc` with `libstd-rust-dev-wasm32`), the crate's `src/lib.rs` or a single `.rs`
//!   file is compiled directly, with the guest SDK built from the sources embedded here. No
//!   cargo, no registry: this is how CI builds the examples.
//! * A `.c` file is compiled by clang for `wasm32` without a libc (the C example): the ABI is
//!   language-neutral, so no SDK is involved.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest SDK's sources, embedded so that a single file can be built without the repository.
const SDK_SOURCES: [(&str, &str); 3] = [
    ("lib.rs", include_str!("../../sdk/src/lib.rs")),
    ("column.rs", include_str!("../../sdk/src/column.rs")),
    ("frame.rs", include_str!("../../sdk/src/frame.rs")),
];

const TARGET: &str = "wasm32-unknown-unknown";

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: {reason}")]
    Source { path: String, reason: String },
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed:\n{output}")]
    Failed { program: String, output: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct Toolchain {
    /// Compile directly with this rustc instead of running cargo.
    pub rustc: Option<PathBuf>,
    /// The cargo to run (default `$CARGO` or `cargo`).
    pub cargo: Option<PathBuf>,
    /// The clang for `.c` files (default `clang`).
    pub clang: Option<PathBuf>,
}

fn run(mut cmd: Command) -> Result<(), BuildError> {
    let program = format!("{:?}", cmd.get_program());
    let out = cmd.output().map_err(|source| BuildError::Spawn {
        program: program.clone(),
        source,
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(BuildError::Failed {
        program,
        output: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The package name in a `Cargo.toml` (its first `name = "…"` line).
fn package_name(manifest: &Path) -> Result<String, BuildError> {
    let text = std::fs::read_to_string(manifest).map_err(io(manifest))?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("name"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .next()
        .ok_or_else(|| BuildError::Source {
            path: manifest.display().to_string(),
            reason: "no package name".into(),
        })
}

impl Toolchain {
    /// Builds the UDF at `source` (a crate folder or, with `rustc`, a `.rs` file) and returns
    /// the `.wasm` file, put in `out_dir`.
    pub fn build(&self, source: &Path, out_dir: &Path) -> Result<PathBuf, BuildError> {
        std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
        if source.extension().is_some_and(|e| e == "c") {
            return self.clang_build(source, out_dir);
        }
        let manifest = source.join("Cargo.toml");
        let (name, file) = if manifest.is_file() {
            (package_name(&manifest)?, source.join("src/lib.rs"))
        } else if source.extension().is_some_and(|e| e == "rs") {
            let stem = source.file_stem().map(|s| s.to_string_lossy().into_owned());
            (stem.unwrap_or_else(|| "udf".into()), source.to_path_buf())
        } else {
            return Err(BuildError::Source {
                path: source.display().to_string(),
                reason: "not a crate folder (with Cargo.toml), a .rs file or a .c file".into(),
            });
        };
        let crate_name = name.replace('-', "_");
        match &self.rustc {
            Some(rustc) => self.rustc_build(rustc, &crate_name, &file, out_dir),
            None if manifest.is_file() => self.cargo_build(source, &crate_name, out_dir),
            None => Err(BuildError::Source {
                path: source.display().to_string(),
                reason: "a single file needs --rustc (cargo builds crate folders)".into(),
            }),
        }
    }

    fn clang_build(&self, source: &Path, out_dir: &Path) -> Result<PathBuf, BuildError> {
        let stem = source.file_stem().map(|s| s.to_string_lossy().into_owned());
        let out = out_dir.join(format!("{}.wasm", stem.unwrap_or_else(|| "udf".into())));
        let mut cmd = Command::new(self.clang.clone().unwrap_or_else(|| PathBuf::from("clang")));
        cmd.args([
            "--target=wasm32",
            "-O2",
            "-nostdlib",
            "-ffreestanding",
            "-fno-builtin",
        ])
        .args(["-Wl,--no-entry", "-o"])
        .arg(&out)
        .arg(source);
        run(cmd)?;
        Ok(out)
    }

    fn cargo_build(&self, dir: &Path, name: &str, out_dir: &Path) -> Result<PathBuf, BuildError> {
        let cargo = self
            .cargo
            .clone()
            .or_else(|| std::env::var_os("CARGO").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("cargo"));
        let target_dir = out_dir.join("cargo-target");
        let mut cmd = Command::new(cargo);
        cmd.current_dir(dir)
            .args(["build", "--release", "--target", TARGET, "--target-dir"])
            .arg(&target_dir);
        run(cmd).map_err(|e| match e {
            BuildError::Failed { program, output } if output.contains("E0463") => {
                BuildError::Failed {
                    program,
                    output: format!(
                        "{output}\nThe toolchain has no wasm32 standard library: run \
                     `rustup target add {TARGET}`, or build with --rustc pointing at a rustc \
                     that has it."
                    ),
                }
            }
            other => other,
        })?;
        let built = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{name}.wasm"));
        let out = out_dir.join(format!("{name}.wasm"));
        std::fs::copy(&built, &out).map_err(io(&built))?;
        Ok(out)
    }

    fn rustc_build(
        &self,
        rustc: &Path,
        name: &str,
        file: &Path,
        out_dir: &Path,
    ) -> Result<PathBuf, BuildError> {
        let sdk = self.sdk(rustc, out_dir)?;
        let out = out_dir.join(format!("{name}.wasm"));
        let mut cmd = Command::new(rustc);
        cmd.args([
            "--edition",
            "2021",
            "--target",
            TARGET,
            "--crate-type",
            "cdylib",
        ])
        .args([
            "-O",
            "-C",
            "panic=abort",
            "-C",
            "lto=fat",
            "-C",
            "codegen-units=1",
        ])
        .args(["-C", "strip=symbols", "--crate-name", name, "--extern"])
        .arg(format!("lakeplane_udf={}", sdk.display()))
        .arg(file)
        .arg("-o")
        .arg(&out);
        run(cmd)?;
        Ok(out)
    }

    /// The guest SDK compiled for wasm32 by `rustc` (once per SDK version and rustc).
    fn sdk(&self, rustc: &Path, out_dir: &Path) -> Result<PathBuf, BuildError> {
        let mut key = rustc.display().to_string();
        for (_, text) in SDK_SOURCES {
            key.push_str(text);
        }
        let dir = out_dir.join(format!("sdk-{}", &crate::module_hash(key.as_bytes())[..16]));
        let rlib = dir.join("liblakeplane_udf.rlib");
        if rlib.is_file() {
            return Ok(rlib);
        }
        let src = dir.join("src");
        std::fs::create_dir_all(&src).map_err(io(&src))?;
        for (file, text) in SDK_SOURCES {
            std::fs::write(src.join(file), text).map_err(io(&src))?;
        }
        let tmp = dir.join(format!("lib{}.rlib.tmp", std::process::id()));
        let mut cmd = Command::new(rustc);
        cmd.args([
            "--edition",
            "2021",
            "--target",
            TARGET,
            "--crate-type",
            "rlib",
        ])
        .args(["-O", "-C", "panic=abort", "--crate-name", "lakeplane_udf"])
        .arg(src.join("lib.rs"))
        .arg("-o")
        .arg(&tmp);
        run(cmd)?;
        std::fs::rename(&tmp, &rlib).map_err(io(&rlib))?;
        Ok(rlib)
    }
}
