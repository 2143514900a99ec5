//! The example UDFs called on Arrow batches: values, nulls, errors, big batches, the disk cache.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use arrow_schema::DataType;
use lakeplane_udf_host::{Limits, LoadedFrom, UdfRuntime, WasmFunction};

use crate::guests::{example, tight};

fn f64s(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

#[test]
fn haversine_matches_the_formula_and_keeps_nulls() {
    let rt = tight();
    let m = rt.load(&example("haversine")).unwrap().module;
    let f = WasmFunction::new(
        "haversine",
        m,
        "haversine",
        vec![DataType::Float64; 4],
        DataType::Float64,
    )
    .unwrap();
    let out = f
        .call(
            &[
                f64s(&[Some(52.52), None, Some(0.0)]),
                f64s(&[Some(13.405), Some(1.0), Some(0.0)]),
                f64s(&[Some(48.8566), Some(1.0), Some(0.0)]),
                f64s(&[Some(2.3522), Some(1.0), Some(90.0)]),
            ],
            3,
        )
        .unwrap();
    let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
    assert!(
        (out.value(0) - 877.46).abs() < 0.5,
        "Berlin–Paris: {}",
        out.value(0)
    );
    assert!(out.is_null(1), "a null argument makes the row null");
    assert!(
        (out.value(2) - 10_007.5).abs() < 1.0,
        "a quarter of the equator: {}",
        out.value(2)
    );
}

#[test]
fn mask_email_masks_and_names_the_bad_row() {
    let rt = tight();
    let m = rt.load(&example("mask_email")).unwrap().module;
    let f = WasmFunction::new(
        "main.default.mask_email",
        m,
        "mask_email",
        vec![DataType::Utf8],
        DataType::Utf8,
    )
    .unwrap();
    let emails: ArrayRef = Arc::new(StringArray::from(vec![
        Some("Jane.Doe@Example.com"),
        None,
        Some("ünï@x.de"),
    ]));
    let out = f.call(&[emails], 3).unwrap();
    let out = out.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(out.value(0), "j*******@example.com");
    assert!(out.is_null(1));
    assert_eq!(out.value(2), "ü**@x.de");

    let bad: ArrayRef = Arc::new(StringArray::from(vec!["a@b.c", "nobody"]));
    let err = f.call(&[bad], 2).unwrap_err().to_string();
    assert!(
        err.contains("main.default.mask_email")
            && err.contains("row 1")
            && err.contains("'nobody' is not an e-mail address"),
        "{err}"
    );
    // The instance that reported the error is fine; so is the next call.
    let ok: ArrayRef = Arc::new(StringArray::from(vec!["x@y.z"]));
    assert_eq!(f.call(&[ok], 1).unwrap().len(), 1);
}

#[test]
fn null_aware_sees_nulls() {
    let rt = tight();
    let m = rt.load(&example("null_aware")).unwrap().module;
    let f = WasmFunction::new(
        "customer_label",
        m,
        "customer_label",
        vec![DataType::Utf8, DataType::Int64],
        DataType::Utf8,
    )
    .unwrap();
    let names: ArrayRef = Arc::new(StringArray::from(vec![
        Some("Ada"),
        Some("Bob"),
        None,
        None,
    ]));
    let scores: ArrayRef = Arc::new(Int64Array::from(vec![Some(950), None, Some(10), None]));
    let out = f.call(&[names, scores], 4).unwrap();
    let out = out.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(out.value(0), "Ada (gold)");
    assert_eq!(out.value(1), "Bob (unscored)");
    assert_eq!(out.value(2), "anonymous (bronze)");
    assert!(out.is_null(3));
}

#[test]
fn the_c_example_follows_the_same_abi() {
    let rt = tight();
    let m = rt.load(&example("c")).unwrap().module;
    let f = WasmFunction::new(
        "fahrenheit",
        m,
        "fahrenheit",
        vec![DataType::Float64],
        DataType::Float64,
    )
    .unwrap();
    let out = f
        .call(&[f64s(&[Some(100.0), None, Some(-40.0)])], 3)
        .unwrap();
    let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!(
        (out.value(0), out.is_null(1), out.value(2)),
        (212.0, true, -40.0)
    );
}

#[test]
fn wrong_argument_types_are_the_guests_clear_error() {
    let rt = tight();
    let m = rt.load(&example("haversine")).unwrap().module;
    // Declared with BIGINT arguments while the code takes DOUBLE: the SDK says so.
    let f = WasmFunction::new(
        "h",
        m,
        "haversine",
        vec![DataType::Int64; 4],
        DataType::Float64,
    )
    .unwrap();
    let i: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    let err = f
        .call(&[i.clone(), i.clone(), i.clone(), i], 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("argument 1 (lat1) is BIGINT but the function takes DOUBLE"),
        "{err}"
    );
}

#[test]
fn big_batches_are_split_and_sliced_arrays_are_rebased() {
    let rt = UdfRuntime::new(
        Limits {
            max_rows_per_call: 1000,
            max_input_bytes: 64 << 10,
            ..Limits::default()
        },
        None,
    )
    .unwrap();
    let m = rt.load(&example("mask_email")).unwrap().module;
    let f = WasmFunction::new(
        "mask",
        m,
        "mask_email",
        vec![DataType::Utf8],
        DataType::Utf8,
    )
    .unwrap();
    let emails: Vec<String> = (0..20_000)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    let all: ArrayRef = Arc::new(StringArray::from(emails.clone()));
    // A slice that starts mid-array: offsets must be re-based for the guest.
    let sliced = all.slice(7, 12_345);
    let out = f.call(&[sliced], 12_345).unwrap();
    let out = out.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(out.len(), 12_345);
    assert_eq!(out.value(0), "u****@example.com");
    assert_eq!(
        out.value(12_344),
        format!("u{}@example.com", "*".repeat("user12351".len() - 1))
    );
}

#[test]
fn modules_are_cached_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = example("haversine");
    let rt = UdfRuntime::new(Limits::default(), Some(dir.path().to_path_buf())).unwrap();
    assert_eq!(rt.load(&bytes).unwrap().from, LoadedFrom::Compiled);
    assert_eq!(rt.load(&bytes).unwrap().from, LoadedFrom::Memory);
    // A new process (a new runtime) finds the compiled code on disk.
    let again = UdfRuntime::new(Limits::default(), Some(dir.path().to_path_buf())).unwrap();
    let loaded = again.load(&bytes).unwrap();
    assert_eq!(loaded.from, LoadedFrom::Disk);
    let f = WasmFunction::new(
        "h",
        loaded.module,
        "haversine",
        vec![DataType::Float64; 4],
        DataType::Float64,
    )
    .unwrap();
    assert_eq!(
        f.call(
            &[
                f64s(&[Some(0.0)]),
                f64s(&[Some(0.0)]),
                f64s(&[Some(0.0)]),
                f64s(&[Some(0.0)])
            ],
            1
        )
        .unwrap()
        .len(),
        1
    );
    // A cache file that is not wasmtime's (corrupt, or from another version) is compiled again.
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, b"not machine code").unwrap();
    let third = UdfRuntime::new(Limits::default(), Some(dir.path().to_path_buf())).unwrap();
    assert_eq!(third.load(&bytes).unwrap().from, LoadedFrom::Compiled);
}

#[test]
fn the_examples_build_with_cargo_too() {
    // What a user runs: cargo for wasm32-unknown-unknown. Here Debian's cargo and rustc (CI
    // installs them), which is also the oldest toolchain the SDK supports (1.63).
    let cargo = std::env::var_os("LAKEPLANE_WASM_CARGO").unwrap_or_else(|| "/usr/bin/cargo".into());
    let dir = tempfile::tempdir().unwrap();
    // The child cargo compiles with the wasm32-capable rustc.
    std::env::set_var("RUSTC", crate::guests::wasm_rustc());
    let toolchain = lakeplane_udf_host::toolchain::Toolchain {
        rustc: None,
        cargo: Some(cargo.into()),
        clang: None,
    };
    let wasm = toolchain
        .build(
            &crate::guests::repo().join("udfs/examples/null_aware"),
            dir.path(),
        )
        .unwrap();
    let rt = tight();
    let module = rt.load(&std::fs::read(wasm).unwrap()).unwrap().module;
    assert_eq!(module.entry_points(), ["customer_label"]);
}
