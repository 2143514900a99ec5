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
    let mut dev = crate::lakeplane()
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--lease-seconds",
            "1",
        ])
        .args(["--reconcile-ms", "200", "--token", "t"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(dev.stdout.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "dev exited");
        if let Some(u) = line.trim().strip_prefix("lakeplane is running at ") {
            break u.to_string();
        }
    };
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
    let logged = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    assert!(
        logged.contains("worker 0 exited") && logged.contains("restarting"),
        "{logged}"
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
