//! Hostile guests: each ends in a clear error within a bounded time, and the same runtime then
//! serves a well-behaved function as before.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Array, ArrayRef, Float64Array, StringArray};
use arrow_schema::DataType;
use lakeplane_udf_host::{CallFailure, UdfError, UdfRuntime, WasmFunction};

use crate::guests::{example, fixture, tight};

fn strings() -> ArrayRef {
    Arc::new(StringArray::from(vec!["a", "b"]))
}

/// Calls `export` of the fixture on two strings; returns the error and how long it took.
fn call_fixture(rt: &UdfRuntime, file: &str, export: &str) -> (UdfError, Duration) {
    let m = rt.load(&fixture(file)).unwrap().module;
    let f = WasmFunction::new(file, m, export, vec![DataType::Utf8], DataType::Utf8).unwrap();
    let t = Instant::now();
    let err = f.call(&[strings()], 2).unwrap_err();
    (err, t.elapsed())
}

fn failure(e: &UdfError) -> &CallFailure {
    match e {
        UdfError::Call { reason, .. } => reason,
        other => panic!("expected a call failure, got {other}"),
    }
}

/// After a hostile call, the runtime still serves a good function.
fn still_serves(rt: &UdfRuntime) {
    let m = rt.load(&example("haversine")).unwrap().module;
    let f = WasmFunction::new(
        "h",
        m,
        "haversine",
        vec![DataType::Float64; 4],
        DataType::Float64,
    )
    .unwrap();
    let z: ArrayRef = Arc::new(Float64Array::from(vec![0.0]));
    let out = f.call(&[z.clone(), z.clone(), z.clone(), z], 1).unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn an_infinite_loop_is_stopped_by_the_time_limit() {
    let rt = tight();
    let (err, took) = call_fixture(&rt, "infinite_loop.wat", "spin");
    assert_eq!(failure(&err), &CallFailure::TimeLimit { ms: 300 });
    assert!(
        err.to_string().contains("infinite_loop.wat failed")
            && err.to_string().contains("CPU limit"),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "stopped after {took:?}");
    // The same function again: a fresh instance, stopped again.
    let (again, _) = call_fixture(&rt, "infinite_loop.wat", "spin");
    assert!(matches!(failure(&again), CallFailure::TimeLimit { .. }));
    still_serves(&rt);
}

#[test]
fn a_memory_grow_bomb_hits_the_memory_limit() {
    let rt = tight();
    let (err, took) = call_fixture(&rt, "memory_bomb.wat", "bomb");
    assert_eq!(
        failure(&err),
        &CallFailure::MemoryLimit { limit: 16 << 20 },
        "{err}"
    );
    assert!(took < Duration::from_secs(3));
    still_serves(&rt);
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    let rt = tight();
    let (err, _) = call_fixture(&rt, "deep_recursion.wat", "recurse");
    assert!(
        matches!(failure(&err), CallFailure::StackLimit { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("call stack"), "{err}");
    still_serves(&rt);
}

#[test]
fn huge_outputs_are_refused_before_they_are_read() {
    let rt = tight();
    let (err, _) = call_fixture(&rt, "huge_output.wat", "huge");
    assert!(
        matches!(failure(&err), CallFailure::OutputLimit { limit, .. } if *limit == 1 << 20),
        "{err}"
    );
    // A result that really is 60 MiB: the memory limit (16 MiB) or the output limit stops it.
    let (err, _) = call_fixture(&rt, "big_output.wat", "big");
    assert!(
        matches!(
            failure(&err),
            CallFailure::OutputLimit { .. } | CallFailure::MemoryLimit { .. }
        ),
        "{err}"
    );
    still_serves(&rt);
}

#[test]
fn imports_of_wasi_and_host_functions_are_refused_at_registration() {
    let rt = tight();
    for (file, named) in [
        ("wasi_fd_write.wat", "wasi_snapshot_preview1::fd_write"),
        ("wasi_path_open.wat", "wasi_snapshot_preview1::path_open"),
        (
            "wasi_sockets.wat",
            "wasi_snapshot_preview1::sock_accept, wasi_snapshot_preview1::sock_send, env::http_get",
        ),
    ] {
        let err = rt.load(&fixture(file)).unwrap_err();
        assert!(
            matches!(err, UdfError::ForbiddenImports { .. }),
            "{file}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(named) && msg.contains("may import nothing"),
            "{msg}"
        );
    }
    still_serves(&rt);
}

#[test]
fn a_wrong_entry_signature_is_refused_when_declared() {
    let rt = tight();
    let m = rt.load(&fixture("wrong_signature.wat")).unwrap().module;
    let err = WasmFunction::new(
        "w",
        m.clone(),
        "wrong",
        vec![DataType::Utf8],
        DataType::Utf8,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(
            "export 'wrong' has type (i32) -> (i32); an entry point must be (i32, i32) -> (i64)"
        ),
        "{err}"
    );
    let err =
        WasmFunction::new("w", m, "absent", vec![DataType::Utf8], DataType::Utf8).unwrap_err();
    assert!(
        err.to_string().contains("exports no function 'absent'"),
        "{err}"
    );
}

#[test]
fn invalid_bytes_are_refused_clearly() {
    let rt = tight();
    for bytes in [
        fixture("invalid_bytes.wasm"),
        b"hello, not wasm".to_vec(),
        Vec::new(),
    ] {
        let err = rt.load(&bytes).unwrap_err();
        assert!(matches!(err, UdfError::InvalidModule { .. }), "{err}");
    }
    let too_big = vec![0u8; rt.limits().max_module_bytes + 1];
    assert!(matches!(
        rt.load(&too_big).unwrap_err(),
        UdfError::ModuleTooLarge { .. }
    ));
    still_serves(&rt);
}

#[test]
fn a_guest_that_corrupts_its_allocator_is_contained() {
    let rt = tight();
    let m = rt.load(&fixture("corrupt_allocator.wat")).unwrap().module;
    let f = WasmFunction::new("c", m, "scribble", vec![DataType::Utf8], DataType::Utf8).unwrap();
    // First call: the result pointer lies outside the memory.
    let err = f.call(&[strings()], 2).unwrap_err();
    assert!(
        matches!(failure(&err), CallFailure::Malformed(m) if m.contains("outside its memory")),
        "{err}"
    );
    // The instance was dropped, so the next call gets a fresh allocator and fails the same way,
    // never writing where the broken allocator points.
    let err = f.call(&[strings()], 2).unwrap_err();
    assert!(matches!(failure(&err), CallFailure::Malformed(_)), "{err}");
    still_serves(&rt);
}

#[test]
fn malformed_results_are_caught_by_validation() {
    let rt = tight();
    let (err, _) = call_fixture(&rt, "bad_result.wat", "bad_strings");
    assert!(matches!(failure(&err), CallFailure::Malformed(_)), "{err}");
    assert!(err.to_string().contains("offset"), "{err}");
    still_serves(&rt);
}

#[test]
fn traps_are_errors_naming_the_function() {
    let rt = tight();
    let (err, _) = call_fixture(&rt, "unreachable.wat", "boom");
    assert!(
        matches!(failure(&err), CallFailure::Trap(m) if m.contains("unreachable")),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("function unreachable.wat failed"),
        "{err}"
    );
    still_serves(&rt);
}

#[test]
fn a_start_function_that_never_ends_is_stopped_at_registration() {
    let rt = tight();
    let t = Instant::now();
    let err = rt.load(&fixture("start_loop.wat")).unwrap_err();
    assert!(matches!(err, UdfError::Abi { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3));
    still_serves(&rt);
}

#[test]
fn many_threads_share_one_module() {
    let rt = tight();
    let m = rt.load(&example("mask_email")).unwrap().module;
    let f = WasmFunction::new(
        "mask",
        m,
        "mask_email",
        vec![DataType::Utf8],
        DataType::Utf8,
    )
    .unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let f = &f;
            s.spawn(move || {
                for i in 0..50 {
                    let a: ArrayRef = Arc::new(StringArray::from(vec![format!("t{t}i{i}@x.io")]));
                    let out = f.call(&[a], 1).unwrap();
                    let out = out.as_any().downcast_ref::<StringArray>().unwrap();
                    assert!(out.value(0).ends_with("@x.io"));
                }
            });
        }
    });
}

#[test]
fn a_rust_panic_reaches_the_error_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let toolchain = crate::guests::toolchain();
    // A single .rs file, built with the embedded SDK.
    let wasm = toolchain
        .build(
            &crate::guests::repo().join("udfs/fixtures/guests/panics.rs"),
            dir.path(),
        )
        .unwrap();
    let rt = tight();
    let m = rt.load(&std::fs::read(wasm).unwrap()).unwrap().module;
    let f = WasmFunction::new(
        "explode",
        m,
        "explode",
        vec![DataType::Int64],
        DataType::Int64,
    )
    .unwrap();
    let bad: ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![1, 13]));
    let err = f.call(&[bad], 2).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(failure(&err), CallFailure::Trap(_)), "{msg}");
    assert!(
        msg.contains("panicked") && msg.contains("unlucky number 13"),
        "{msg}"
    );
    let good: ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![21]));
    let out = f.call(&[good], 1).unwrap();
    let out = out
        .as_any()
        .downcast_ref::<arrow_array::Int64Array>()
        .unwrap();
    assert_eq!(out.value(0), 42);
}
