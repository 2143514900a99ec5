"""Model serving, measured side by side in one run:

1. Invocation latency of one scikit-learn model: through lakeplane
   (`POST /serving-endpoints/<name>/invocations`) against calling the model's MLflow scoring
   server directly (the same process lakeplane proxies to), requests interleaved so that both
   meet the same machine; p50/p99 and the overhead.
2. `ai_query` over a 100,000-row table (a statement through the Statement Execution API), in
   rows/s, against sending the same rows straight to the scoring server in batches of the same
   size (500 rows), one request at a time and four at a time.

Usage: python serving_bench.py <lakeplane binary> [requests] [rows]
Needs mlflow, scikit-learn, databricks-sdk and requests in this Python (tests/requirements.txt).
"""
import concurrent.futures
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import numpy as np
import requests

TOKEN = "bench-token"
ROWS_PER_REQUEST = 500  # lakeplane_engine's ai_query::ROWS_PER_REQUEST


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    data = Path(tempfile.mkdtemp(prefix="lakeplane-serving-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LAKEPLANE_MODEL_PYTHON=sys.executable)
    log = open(data / "dev.log", "w")
    proc = subprocess.Popen([binary, "dev", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data),
                             "--token", TOKEN, "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/.well-known/databricks-config", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        import mlflow
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput
        from sklearn.linear_model import LinearRegression

        os.environ["MLFLOW_TRACKING_TOKEN"] = TOKEN
        mlflow.set_tracking_uri(url)
        mlflow.set_registry_uri(url)
        x = np.arange(100, dtype=float).reshape(-1, 1)
        model = LinearRegression().fit(x, 3 * x.ravel() + 1)
        mlflow.set_experiment("bench")
        with mlflow.start_run():
            mlflow.sklearn.log_model(model, name="model", registered_model_name="bench")
        w = WorkspaceClient(host=url, token=TOKEN, auth_type="pat")
        w.serving_endpoints.create_and_wait("bench", config=EndpointCoreConfigInput(
            name="bench", served_entities=[ServedEntityInput(entity_name="bench", entity_version="1",
                                                             workload_size="Small", scale_to_zero_enabled=True)]),
            timeout=timedelta(minutes=5))
        direct_port = int((data / "serving/bench/v1/bench-1.port").read_text())
        direct = f"http://127.0.0.1:{direct_port}/invocations"
        proxied = f"{url}/serving-endpoints/bench/invocations"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        body = {"dataframe_split": {"columns": ["input"], "data": [[4.0]]}}
        s = requests.Session()
        for _ in range(50):  # warm both paths
            s.post(direct, json=body).raise_for_status()
            s.post(proxied, json=body, headers=auth).raise_for_status()
        times = {"direct": [], "lakeplane": []}
        for i in range(n):
            for name, target, headers in ([("direct", direct, {}), ("lakeplane", proxied, auth)][:: 1 if i % 2 else -1]):
                t = time.perf_counter()
                s.post(target, json=body, headers=headers).raise_for_status()
                times[name].append((time.perf_counter() - t) * 1000)
        print(f"## Invocation latency ({n} requests each, one row, interleaved, keep-alive)\n")
        print("| path | p50 ms | p99 ms |\n|---|---:|---:|")
        for name in ("direct", "lakeplane"):
            print(f"| {name} | {percentile(times[name], 50):.2f} | {percentile(times[name], 99):.2f} |")
        d50, l50 = percentile(times["direct"], 50), percentile(times["lakeplane"], 50)
        d99, l99 = percentile(times["direct"], 99), percentile(times["lakeplane"], 99)
        print(f"\noverhead: p50 +{l50 - d50:.2f} ms ({l50 / d50:.2f}x), p99 +{l99 - d99:.2f} ms ({l99 / d99:.2f}x)\n")

        # ai_query over a table.
        wh = w.warehouses.create_and_wait(name="bench", cluster_size="2X-Small", timeout=timedelta(seconds=60)).id

        def sql(text, timeout=600):
            r = w.statement_execution.execute_statement(statement=text, warehouse_id=wh, wait_timeout="0s")
            deadline = time.time() + timeout
            while r.status.state.value in ("PENDING", "RUNNING"):
                assert time.time() < deadline, "statement timed out"
                time.sleep(0.2)
                r = w.statement_execution.get_statement(r.statement_id)
            assert r.status.state.value == "SUCCEEDED", r.status.error
            return r

        sql(f"CREATE TABLE main.default.points AS SELECT CAST(value AS DOUBLE) AS x FROM range({rows})")
        t = time.perf_counter()
        r = sql("SELECT count(ai_query('bench', x)) FROM main.default.points")
        ai = time.perf_counter() - t
        assert r.result.data_array == [[str(rows)]], r.result.data_array
        values = [[float(v)] for v in range(rows)]
        chunks = [values[i:i + ROWS_PER_REQUEST] for i in range(0, rows, ROWS_PER_REQUEST)]

        def send(chunk):
            r = requests.post(direct, json={"dataframe_split": {"columns": ["input"], "data": chunk}})
            r.raise_for_status()
            return len(r.json()["predictions"])

        t = time.perf_counter()
        assert sum(send(c) for c in chunks) == rows
        one = time.perf_counter() - t
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert sum(pool.map(send, chunks)) == rows
        four = time.perf_counter() - t
        print(f"## ai_query over {rows:,} rows ({ROWS_PER_REQUEST} rows per request)\n")
        print("| how | seconds | rows/s |\n|---|---:|---:|")
        print(f"| `SELECT count(ai_query(...))` through lakeplane | {ai:.2f} | {rows / ai:,.0f} |")
        print(f"| same batches straight to the scoring server, 1 at a time | {one:.2f} | {rows / one:,.0f} |")
        print(f"| same batches straight to the scoring server, 4 at a time | {four:.2f} | {rows / four:,.0f} |")
        print(f"\nai_query / direct (1 at a time): {one / ai:.2f}x the rate")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
