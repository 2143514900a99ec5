"""Time from `clusters/create` to the first worker claiming work, in `lakeplane dev` (local
processes), next to the time a task takes to be claimed by the platform's already-running workers.

Usage: python crates/bench/scripts/clusters_local.py <lakeplane binary> [rounds]
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
TOKEN = "bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def claimed_at(url, run_id):
    while True:
        run = call(url, "GET", f"/api/2.2/jobs/runs/get?run_id={run_id}")
        start = run["tasks"][0].get("start_time") or 0
        if start:
            return start
        time.sleep(0.005)


def main():
    data = tempfile.mkdtemp(prefix="lakeplane-bench-clusters-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([BIN, "dev", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--token", TOKEN,
                             "--workers", "1", "--reconcile-ms", "200"], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(data, "dev.log"), "w"), start_new_session=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/.well-known/databricks-config", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        sql = os.path.join(data, "one.sql")
        open(sql, "w").write("SELECT 1")
        task = {"task_key": "t", "sql_task": {"warehouse_id": "local", "file": {"path": sql}}}
        pool, cluster, running = [], [], []
        for _ in range(ROUNDS):
            t0 = time.time() * 1000
            run = call(url, "POST", "/api/2.2/jobs/runs/submit", {"tasks": [task]})
            pool.append(claimed_at(url, run["run_id"]) - t0)
        for _ in range(ROUNDS):
            t0 = time.time() * 1000
            c = call(url, "POST", "/api/2.1/clusters/create", {"num_workers": 0, "spark_version": "1.0.x-scala2.12"})
            run = call(url, "POST", "/api/2.2/jobs/runs/submit",
                       {"tasks": [dict(task, existing_cluster_id=c["cluster_id"])]})
            cluster.append(claimed_at(url, run["run_id"]) - t0)
            # A node may claim work a moment before its first report makes the cluster RUNNING.
            while True:
                events = call(url, "POST", "/api/2.1/clusters/events", {"cluster_id": c["cluster_id"], "limit": 50})
                at = [e["timestamp"] for e in events["events"] if e["type"] == "RUNNING"]
                if at:
                    running.append(min(at) - t0)
                    break
                time.sleep(0.01)
            call(url, "POST", "/api/2.1/clusters/permanent-delete", {"cluster_id": c["cluster_id"]})
        p50 = statistics.median
        print(f"| measure (p50 of {ROUNDS}) | ms |")
        print("|---|---|")
        print(f"| submit → claimed by the platform's running workers (baseline) | {p50(pool):.0f} |")
        print(f"| clusters/create → first task claimed on the new cluster's node | {p50(cluster):.0f} |")
        print(f"| clusters/create → RUNNING (its event) | {p50(running):.0f} |")
        print(f"| ratio create→claim / baseline | {p50(cluster) / max(p50(pool), 1):.1f}× |")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


main()
