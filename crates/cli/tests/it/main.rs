//! The `lakeplane` binary as users and AWS run it: a worker process on DynamoDB and S3 (moto) fed by
//! the `jobs` Lambda handler, the chaos test (workers SIGKILLed at random while a job writes Delta
//! tables), and `lakeplane dev` restarting a worker that died.
//!
//! Needs moto (`scripts/test` starts it and exports `AWS_ENDPOINT_URL`) and, for reading tables
//! back with the Python `deltalake` package, `LAKEPLANE_PYTHON` (the test venv's python).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod aws;
mod chaos;
mod dev;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// Held by the tests that load the machine and moto most (the chaos tests, the AWS test), so they
/// run one at a time on a 2-core machine instead of starving each other's workers.
pub(crate) static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The `lakeplane` binary built with these tests.
pub(crate) fn lakeplane() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lakeplane"))
}

/// A worker process with short leases, so a killed one is replaced within seconds.
pub(crate) fn worker(args: &[&str], id: &str) -> Child {
    worker_with_lease(args, id, 1)
}

/// A worker process whose leases last `lease_seconds` (heartbeats five times as often). A live
/// worker whose renewals take longer than its lease (an overloaded store) stops its own work, so
/// tests that kill nothing use leases well above the emulator's worst latency.
pub(crate) fn worker_with_lease(args: &[&str], id: &str, lease_seconds: u64) -> Child {
    let lease = lease_seconds.to_string();
    let heartbeat_ms = (lease_seconds * 200).to_string();
    lakeplane()
        .args(["worker", "--id", id, "--lease-seconds", &lease])
        .args([
            "--heartbeat-ms",
            &heartbeat_ms,
            "--poll-ms",
            "50",
            "--slots",
            "2",
        ])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The test venv's python, for the `deltalake` package.
pub(crate) fn python() -> Command {
    let python = std::env::var("LAKEPLANE_PYTHON").expect(
        "LAKEPLANE_PYTHON must name a python with deltalake (scripts/test sets it to the venv's)",
    );
    Command::new(python)
}

/// Where table `main.default.<table>` keeps its files, from the catalog in `store`.
pub(crate) async fn location_of(
    store: Arc<dyn lakeplane_store::StateStore>,
    table: &str,
) -> String {
    use lakeplane_core::catalog::{FullName, Metastore};
    let control = lakeplane_control::Control::new(store);
    let name = FullName::new("main", "default", table).unwrap();
    let info = control.catalogs().get_table(&name).await.unwrap();
    info.storage_location.unwrap()
}

/// Rows of a Delta table on moto S3, read by the Python `deltalake` package.
pub(crate) fn python_count(uri: &str) -> u64 {
    let script = r#"
import os, sys
from deltalake import DeltaTable
opts = {k: os.environ[k] for k in ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]}
opts["AWS_ALLOW_HTTP"] = "true"
print(DeltaTable(sys.argv[1], storage_options=opts).to_pyarrow_table().num_rows, flush=True)
# pyarrow's S3 client aborts the interpreter at exit ("terminate called without an active
# exception"); the answer is out, so leave at once.
os._exit(0)
"#;
    let out = python().args(["-c", script, uri]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
