"""Doors that must stay closed, tried through the real databricks-sdk and raw sockets against
`lakeplane dev`: parameters are data, SQL reads only the allowed folders, slow clients cannot hold the API."""
import os
import socket
import threading
import time
from datetime import timedelta

from databricks.sdk.service import jobs

from conftest import Platform, delta_table, sql_file

WAIT = timedelta(seconds=120)
EVIL = "x'); DROP TABLE inj.t; --"


def test_a_job_parameter_holding_sql_lands_as_a_literal(platform, w):
    setup = platform.data_dir / "inj_setup.sql"
    setup.write_text("CREATE SCHEMA inj; CREATE OR REPLACE TABLE inj.t (s STRING)")
    load = platform.data_dir / "inj_load.sql"
    # Both reference forms: a named marker and the legacy {{name}}, in and out of quotes.
    load.write_text("INSERT INTO inj.t VALUES (:v); INSERT INTO inj.t VALUES ({{v}}); "
                    "INSERT INTO inj.t SELECT '{{v}}'")
    job = w.jobs.create(name="injection", parameters=[jobs.JobParameterDefinition(name="v", default="safe")],
                        tasks=[sql_file("setup", setup), sql_file("load", load, depends_on=["setup"])])
    run = w.jobs.run_now(job_id=job.job_id, job_parameters={"v": EVIL}).result(timeout=WAIT)
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message
    table = delta_table(w, platform, "inj.t")
    assert table.to_pyarrow_table().to_pylist() == [{"s": EVIL}] * 3, "three literal rows; the table survived"


def failed_message(w, run):
    assert run.state.result_state == jobs.RunResultState.FAILED, run.state.state_message
    out = w.jobs.get_run_output(w.jobs.get_run(run.run_id).tasks[0].run_id)
    return out.error


def escapes(platform):
    root = platform.data_dir
    if not (root / "escape").exists():
        os.symlink("/etc", root / "escape")
    return ["/etc/passwd", "/proc/self/environ", "/dev/zero", "file:///etc/passwd",
            f"{root}/../../../../etc/passwd", f"{root}/escape/passwd", "/etc/*"]


def test_sql_files_outside_the_allowed_folders_are_denied(platform, w):
    for path in escapes(platform):
        run = w.jobs.submit(run_name="escape", tasks=[jobs.SubmitTask(
            task_key="f", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=path)))]
        ).result(timeout=WAIT)
        error = failed_message(w, run)
        assert "access denied" in error, (path, error)
        assert "root:x:0" not in error


def test_read_files_outside_the_allowed_folders_is_denied_and_the_server_keeps_serving(platform, w):
    for path in escapes(platform):
        task = platform.data_dir / "read_escape.sql"
        task.write_text(f"SELECT * FROM read_files('{path}', format => 'csv')")
        run = w.jobs.submit(run_name="read escape", tasks=[jobs.SubmitTask(
            task_key="r", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(task))))]
        ).result(timeout=WAIT)
        error = failed_message(w, run)
        assert "access denied" in error, (path, error)
        assert "root:x:0" not in error
    assert list(w.jobs.list(limit=1)) is not None


def trickle(port, stop, closed):
    """Sends a request one byte at a time, never finishing its headers."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(0.2)
    request = b"GET /api/2.2/jobs/runs/get?run_id=1 HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 10_000
    try:
        for b in request:
            if stop.is_set():
                return
            try:
                s.sendall(bytes([b]))
                if s.recv(1) == b"":
                    closed.append(True)
                    return
            except socket.timeout:
                pass
            except OSError:
                closed.append(True)
                return
    finally:
        s.close()


def test_slow_clients_cannot_hold_the_api():
    p = Platform("--workers", "0", "--header-timeout-ms", "2000")
    try:
        w = p.client()
        run = w.jobs.submit(run_name="target", tasks=[jobs.SubmitTask(
            task_key="t", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path="/t.sql")))])
        stop, closed = threading.Event(), []
        threads = [threading.Thread(target=trickle, args=(p.port, stop, closed), daemon=True) for _ in range(60)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        latencies = []
        deadline = time.time() + 4
        while time.time() < deadline:
            started = time.monotonic()
            assert w.jobs.get_run(run.run_id).run_id == run.run_id
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
        latencies.sort()
        print(f"runs/get while 60 clients trickle: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms over {len(latencies)} calls")
        assert latencies[-1] < 1.0, latencies[-5:]
        # The trickling connections are closed at the header deadline.
        end = time.time() + 10
        while len(closed) < len(threads) and time.time() < end:
            time.sleep(0.1)
        assert len(closed) == len(threads), f"{len(closed)} of {len(threads)} slow connections were closed"
        stop.set()
    finally:
        p.close()


def test_a_query_past_the_memory_budget_fails_its_task_cleanly():
    p = Platform("--workers", "1", "--query-memory-mib", "1")
    try:
        w = p.client()
        big = p.data_dir / "big.sql"
        big.write_text("SELECT count(*) FROM range(2000000) a JOIN range(2000000) b ON a.value = b.value")
        run = w.jobs.submit(run_name="too big", tasks=[jobs.SubmitTask(
            task_key="big", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(big))))]
        ).result(timeout=WAIT)
        assert "resources exhausted" in failed_message(w, run).lower()
        small = p.data_dir / "small.sql"
        small.write_text("SELECT 1")
        ok = w.jobs.submit(run_name="fits", tasks=[jobs.SubmitTask(
            task_key="s", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(small))))]
        ).result(timeout=WAIT)
        assert ok.state.result_state == jobs.RunResultState.SUCCESS, "the worker keeps serving"
    finally:
        p.close()
