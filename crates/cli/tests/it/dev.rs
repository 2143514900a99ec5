//! `lakeplane dev` supervises its workers: one that dies is started again (and the restart is
//! logged), and the run it was working on still ends.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

/// The children of process `pid` (from /proc).
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or_default();
        if after.split_whitespace().nth(1) == Some(pid.to_string().as_str()) {
            found.push(child);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_restarts_a_worker_that_died() {
    let dir = tempfile::tempdir().unwrap();
    let (mut dev, url) = start_dev(dir.path(), 1, Stdio::piped());
    let stderr = dev.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let pid = dev.id();
    let first = lakeplane_testing::eventually("a worker", Duration::from_secs(20), || async {
        children(pid).first().copied()
    })
    .await;
    // SIGKILL the worker.
    assert!(std::process::Command::new("kill")
        .args(["-9", &first.to_string()])
        .status()
        .unwrap()
        .success());
    let second = lakeplane_testing::eventually("a new worker", Duration::from_secs(20), || async {
        children(pid).into_iter().find(|c| *c != first)
    })
    .await;
    assert_ne!(first, second);
    let logged = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(10)).ok())
        .find(|l| l.contains("worker exited; restarting it"))
        .unwrap_or_default();
    assert!(
        logged.contains("worker=0"),
        "the restart is logged: {logged}"
    );

    // The restarted worker runs work.
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{url}{path}"))
            .bearer_auth("t")
            .json(&body)
            .send()
    };
    std::fs::write(dir.path().join("a.sql"), "SELECT 1").unwrap();
    let run: serde_json::Value = post(
        "/api/2.2/jobs/runs/submit",
        serde_json::json!({"tasks": [{"task_key": "a", "sql_task": {"file": {"path":
            dir.path().join("a.sql").display().to_string()}}}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let get = format!("{url}/api/2.2/jobs/runs/get?run_id={}", run["run_id"]);
    let state = lakeplane_testing::eventually("the run's end", Duration::from_secs(30), || async {
        let v: serde_json::Value = client
            .get(&get)
            .bearer_auth("t")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["state"]["life_cycle_state"] == "TERMINATED").then(|| v["state"]["result_state"].clone())
    })
    .await;
    assert_eq!(state, "SUCCESS");
    let _ = dev.kill();
    let _ = dev.wait();
}

/// Starts `lakeplane dev` on `dir` with `workers` and returns it with its API's URL. Its stdout
/// is drained for as long as it runs (a closed pipe would fail its next print).
#[allow(clippy::zombie_processes)] // the caller waits for the child it gets back
fn start_dev(
    dir: &std::path::Path,
    workers: usize,
    stderr: Stdio,
) -> (std::process::Child, String) {
    let mut dev = crate::lakeplane()
        .args(["dev", "--listen", "127.0.0.1:0", "--lease-seconds", "1"])
        .args(["--workers", &workers.to_string()])
        .args(["--reconcile-ms", "200", "--token", "t"])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(dev.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            let status = dev.wait();
            panic!("dev exited: {status:?}");
        }
        if let Some(u) = line.trim().strip_prefix("lakeplane is running at ") {
            let url = u.to_string();
            std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
            return (dev, url);
        }
    }
}

/// `lakeplane dev` itself SIGKILLed while runs are going: once it is started again on the same data
/// directory, every run ends, and every table holds its rows once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_survive_sigkills_of_dev_itself() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut runs = Vec::new();
    let (mut dev, url) = start_dev(dir.path(), 2, Stdio::null());
    for i in 0..6 {
        let sql = dir.path().join(format!("t{i}.sql"));
        std::fs::write(
            &sql,
            format!(
                "CREATE TABLE IF NOT EXISTS d{i} (v BIGINT); \
                 INSERT INTO d{i} SELECT a.value FROM range(0, 500) a CROSS JOIN range(0, 4000) b \
                 GROUP BY a.value HAVING count(*) = 4000"
            ),
        )
        .unwrap();
        let v: serde_json::Value = client
            .post(format!("{url}/api/2.2/jobs/runs/submit"))
            .bearer_auth("t")
            .json(&serde_json::json!({"tasks": [{"task_key": "t", "sql_task": {"file": {"path": sql}}}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        runs.push(v["run_id"].as_u64().unwrap());
    }
    // Two SIGKILLs of dev mid-way, each followed by a restart on the same data directory.
    let mut url = url;
    for pause in [700, 500] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        dev.kill().unwrap();
        dev.wait().unwrap();
        (dev, url) = start_dev(dir.path(), 2, Stdio::null());
    }
    for run in &runs {
        let get = format!("{url}/api/2.2/jobs/runs/get?run_id={run}");
        let result =
            lakeplane_testing::eventually("the run's end", Duration::from_secs(90), || async {
                let v: serde_json::Value = client
                    .get(&get)
                    .bearer_auth("t")
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                (v["state"]["life_cycle_state"] == "TERMINATED")
                    .then(|| v["state"]["result_state"].clone())
            })
            .await;
        assert_eq!(result, "SUCCESS", "run {run}");
    }
    let _ = dev.kill();
    let _ = dev.wait();
    // Read the tables with a fresh engine over the same warehouse.
    let state = lakeplane_store::embedded::EmbeddedStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    let control = lakeplane_control::Control::new(std::sync::Arc::new(state));
    let engine = lakeplane_engine::Engine::new(
        lakeplane_engine::storage::StorageRoot::local(&dir.path().join("warehouse")).unwrap(),
        std::sync::Arc::new(control.catalogs().clone()),
        lakeplane_engine::access::AccessPolicy::local([dir.path().to_path_buf()]),
        None,
    )
    .unwrap();
    for i in 0..6 {
        let out = engine
            .execute(
                &lakeplane_engine::ExecContext::new("t"),
                &format!("SELECT count(*) FROM d{i}"),
            )
            .await
            .unwrap();
        let batches = out.collect().await.unwrap();
        let n = lakeplane_engine::arrow::util::display::ArrayFormatter::try_new(
            batches[0].column(0).as_ref(),
            &Default::default(),
        )
        .unwrap()
        .value(0)
        .to_string();
        assert_eq!(n, "500", "table d{i}");
    }
}

/// Whoever reads `lakeplane dev`'s output may go away (`| head -1`, a closed terminal): it serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_serves_on_when_its_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = crate::lakeplane()
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--token",
            "t",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read the first line and close the pipe at once, before the banner's other lines are written.
    let mut first = String::new();
    {
        let mut out = BufReader::new(dev.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
    }
    let url = first
        .trim()
        .strip_prefix("lakeplane is running at ")
        .unwrap()
        .to_string();
    let v: serde_json::Value =
        lakeplane_testing::eventually("an answer", Duration::from_secs(10), || async {
            reqwest::get(format!("{url}/.well-known/databricks-config"))
                .await
                .ok()?
                .json()
                .await
                .ok()
        })
        .await;
    assert!(v.get("workspace_id").is_some(), "{v}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(dev.try_wait().unwrap().is_none(), "dev is still running");
    dev.kill().unwrap();
    dev.wait().unwrap();
}
