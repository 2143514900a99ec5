"""The unmodified databricks-sdk against `lakeplane dev`: jobs of SQL tasks over Delta tables."""
import os
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
import requests
from databricks.sdk.errors import InvalidParameterValue, PermissionDenied, ResourceDoesNotExist
from databricks.sdk.service import jobs, sql

from conftest import REPO, Platform, delta_table, sql_file

DEMO = REPO / "examples" / "demo"
WAIT = timedelta(seconds=120)


def table(platform, name, w):
    return delta_table(w, platform, name)


def test_three_task_pipeline_runs_to_success(platform, w):
    long_trips = (DEMO / "long_trips.sql").read_text()
    query = w.queries.create(query=sql.CreateQueryRequestQuery(
        display_name="long trips", warehouse_id="local", query_text=long_trips))
    assert w.queries.get(query.id).query_text == long_trips

    job = w.jobs.create(
        name="trips pipeline",
        parameters=[jobs.JobParameterDefinition(name="source", default=str(DEMO / "trips.csv"))],
        tasks=[
            sql_file("ingest", DEMO / "ingest.sql"),
            sql_file("city_daily", DEMO / "city_daily.sql", depends_on=["ingest"]),
            jobs.Task(task_key="long_trips", depends_on=[jobs.TaskDependency(task_key="ingest")],
                      sql_task=jobs.SqlTask(warehouse_id="local", query=jobs.SqlTaskQuery(query_id=query.id))),
        ],
    )
    started = time.monotonic()
    run = w.jobs.run_now(job_id=job.job_id).result(timeout=WAIT)
    elapsed = time.monotonic() - started
    print(f"run_now(...).result() took {elapsed:.2f}s")
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message
    assert run.status.state == jobs.RunLifecycleStateV2State.TERMINATED

    got = w.jobs.get_run(run.run_id)
    tasks = {t.task_key: t for t in got.tasks}
    assert set(tasks) == {"ingest", "city_daily", "long_trips"}
    for t in tasks.values():
        assert t.state.result_state == jobs.RunResultState.SUCCESS
        assert t.start_time > 0 and t.end_time >= t.start_time
        assert t.execution_duration == t.end_time - t.start_time
        assert t.run_id not in (None, run.run_id)
    ingest, a, b = tasks["ingest"], tasks["city_daily"], tasks["long_trips"]
    assert a.start_time >= ingest.end_time and b.start_time >= ingest.end_time, "transforms wait for ingest"
    assert a.start_time < b.end_time and b.start_time < a.end_time, "the two transforms ran in parallel"

    trips = table(platform, "demo.trips", w).to_pyarrow_table()
    assert trips.num_rows == 10
    daily = {(r["city"], str(r["pickup_date"])): r for r in table(platform, "demo.city_daily", w).to_pyarrow_table().to_pylist()}
    assert daily[("Seattle", "2024-05-01")]["trips"] == 2
    assert daily[("Seattle", "2024-05-01")]["fares_usd"] == pytest.approx(36.6)
    assert sum(r["trips"] for r in daily.values()) == 10
    long = table(platform, "demo.long_trips", w).to_pyarrow_table().to_pylist()
    assert sorted(r["trip_id"] for r in long) == [2, 4, 5, 8, 10]

    out = w.jobs.get_run_output(ingest.run_id)
    assert out.metadata.run_id == ingest.run_id
    assert "10 row(s)" in out.logs


def test_sixty_jobs_list_across_pages(w):
    tag = uuid.uuid4().hex[:8]
    ids = {w.jobs.create(name=f"page-{tag}-{i}").job_id for i in range(60)}
    listed = [j.job_id for j in w.jobs.list(limit=25) if j.settings.name.startswith(f"page-{tag}-")]
    assert sorted(listed) == sorted(ids)
    first = w.api_client.do("GET", "/api/2.2/jobs/list", query={"limit": 25})
    assert len(first["jobs"]) == 25 and first["has_more"] and first["next_page_token"]
    by_name = list(w.jobs.list(name=f"page-{tag}-7"))
    assert [j.settings.name for j in by_name] == [f"page-{tag}-7"]


def test_errors_are_databricks_errors(platform, w):
    with pytest.raises(ResourceDoesNotExist):
        w.jobs.get(job_id=987654321)
    with pytest.raises(ResourceDoesNotExist):
        w.jobs.get_run(run_id=987654321)
    with pytest.raises(ResourceDoesNotExist):
        w.jobs.run_now(job_id=987654321)
    with pytest.raises(InvalidParameterValue, match="cycle"):
        w.jobs.create(name="cyclic", tasks=[sql_file("a", "/a.sql", depends_on=["b"]),
                                            sql_file("b", "/b.sql", depends_on=["a"])])
    with pytest.raises(InvalidParameterValue, match="not a task of this job"):
        w.jobs.create(name="dangling", tasks=[sql_file("a", "/a.sql", depends_on=["nope"])])
    with pytest.raises(InvalidParameterValue, match="notebook_task is not supported"):
        w.jobs.create(name="nb", tasks=[jobs.Task(task_key="n", notebook_task=jobs.NotebookTask(notebook_path="/n"))])
    with pytest.raises(PermissionDenied):
        platform.client(token="wrong").jobs.get(job_id=1)
    resp = requests.get(f"{platform.url}/api/2.2/jobs/list", timeout=10)
    assert resp.status_code == 401 and resp.json()["error_code"] == "UNAUTHENTICATED"
    basic = requests.get(f"{platform.url}/api/2.2/jobs/list", headers={"Authorization": "Basic eA=="}, timeout=10)
    assert basic.status_code == 401 and basic.json()["error_code"] == "UNAUTHENTICATED"


def test_failing_sql_fails_the_run_naming_the_task(platform, w):
    bad = platform.data_dir / "bad.sql"
    bad.write_text("SELECT * FROM main.default.no_such_table")
    job = w.jobs.create(name="failing", tasks=[
        sql_file("load", bad),
        sql_file("after", DEMO / "city_daily.sql", depends_on=["load"]),
    ])
    run = w.jobs.run_now(job_id=job.job_id).result(timeout=WAIT)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert "Task load failed" in run.state.state_message
    assert "no_such_table" in run.state.state_message
    tasks = {t.task_key: t for t in w.jobs.get_run(run.run_id).tasks}
    assert tasks["after"].state.result_state == jobs.RunResultState.UPSTREAM_FAILED
    out = w.jobs.get_run_output(tasks["load"].run_id)
    assert "no_such_table" in out.error
    # The platform keeps serving.
    assert w.jobs.get(job_id=job.job_id).settings.name == "failing"
    fine = platform.data_dir / "fine.sql"
    fine.write_text("SELECT 1 AS ok")
    ok = w.jobs.submit(run_name="still fine", tasks=[jobs.SubmitTask(
        task_key="q", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(fine)))
    )]).result(timeout=WAIT)
    assert ok.state.result_state == jobs.RunResultState.SUCCESS, ok.state.state_message


def test_update_reset_delete_and_runs_api(platform, w):
    job = w.jobs.create(name="editable", tasks=[sql_file("a", DEMO / "ingest.sql")],
                        parameters=[jobs.JobParameterDefinition(name="source", default=str(DEMO / "trips.csv"))])
    w.jobs.update(job_id=job.job_id, new_settings=jobs.JobSettings(name="edited"))
    assert w.jobs.get(job.job_id).settings.name == "edited"
    w.jobs.reset(job_id=job.job_id, new_settings=jobs.JobSettings(
        name="reset", tasks=[sql_file("b", DEMO / "ingest.sql")],
        parameters=[jobs.JobParameterDefinition(name="source", default=str(DEMO / "trips.csv"))]))
    got = w.jobs.get(job.job_id)
    assert got.settings.name == "reset" and [t.task_key for t in got.settings.tasks] == ["b"]
    run = w.jobs.run_now(job_id=job.job_id, job_parameters={"source": str(DEMO / "trips.csv")}).result(timeout=WAIT)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    runs = list(w.jobs.list_runs(job_id=job.job_id))
    assert [r.run_id for r in runs] == [run.run_id]
    assert any(r.run_id == run.run_id for r in w.jobs.list_runs(completed_only=True))
    w.jobs.delete_run(run.run_id)
    with pytest.raises(ResourceDoesNotExist):
        w.jobs.get_run(run.run_id)
    w.jobs.delete(job.job_id)
    with pytest.raises(ResourceDoesNotExist):
        w.jobs.get(job.job_id)


def test_cancel_stops_a_running_task(platform, w):
    slow = platform.data_dir / "slow_cancel.sql"
    slow.write_text("SELECT count(*) FROM range(200000) a CROSS JOIN range(10000) b")
    waiter = w.jobs.submit(run_name="to cancel", tasks=[sql_file("slow", slow)])
    deadline = time.time() + 30
    while w.jobs.get_run(waiter.run_id).tasks[0].state.life_cycle_state != jobs.RunLifeCycleState.RUNNING:
        assert time.time() < deadline
        time.sleep(0.05)
    run = w.jobs.cancel_run(waiter.run_id).result(timeout=WAIT)
    assert run.state.result_state == jobs.RunResultState.CANCELED
    assert run.tasks[0].state.result_state == jobs.RunResultState.CANCELED


def test_sql_file_from_s3(platform, w):
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    assert endpoint.startswith("http://127.0.0.1:"), "run through scripts/test, which starts moto"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"sql-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="jobs/from_s3.sql",
                  Body=b"CREATE SCHEMA IF NOT EXISTS s3demo; "
                       b"CREATE OR REPLACE TABLE s3demo.answer AS SELECT 42 AS answer")
    run = w.jobs.submit(run_name="from s3", tasks=[jobs.SubmitTask(
        task_key="s3", sql_task=jobs.SqlTask(warehouse_id="local",
                                             file=jobs.SqlTaskFile(path=f"s3://{bucket}/jobs/from_s3.sql")))
    ]).result(timeout=WAIT)
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message
    assert table(platform, "s3demo.answer", w).to_pyarrow_table().to_pylist() == [{"answer": 42}]


def test_killed_worker_does_not_lose_the_run():
    """A worker dies mid-task; after its lease expires another worker runs the task again."""
    p = Platform("--workers", "0")
    try:
        w = p.client()
        slow = p.data_dir / "slow.sql"
        slow.write_text("CREATE SCHEMA IF NOT EXISTS crash; CREATE TABLE crash.result AS "
                        "SELECT count(*) AS n FROM range(10000) a CROSS JOIN range(3000) b")
        lease = ["--lease-seconds", "2", "--heartbeat-ms", "300"]
        first = p.worker("--id", "doomed", *lease)
        waiter = w.jobs.submit(run_name="survives a crash", tasks=[sql_file("slow", slow)])
        deadline = time.time() + 60
        while w.jobs.get_run(waiter.run_id).tasks[0].state.life_cycle_state != jobs.RunLifeCycleState.RUNNING:
            assert time.time() < deadline, "the task never started"
            time.sleep(0.02)
        first.kill()
        first.wait()
        assert w.jobs.get_run(waiter.run_id).state.life_cycle_state == jobs.RunLifeCycleState.RUNNING
        second = p.worker("--id", "rescuer", *lease)
        try:
            run = waiter.result(timeout=WAIT)
            # Read while the rescuer still serves: finding the table's files is a job too.
            rows = table(p, "crash.result", w).to_pyarrow_table().to_pylist()
        finally:
            second.terminate()
            second.wait()
        assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message
        # Both attempts are in runs/get: the lost one, then the rescuer's, each with its own run id.
        lost, rescued = run.tasks
        assert (lost.attempt_number, rescued.attempt_number) == (0, 1)
        assert lost.run_id != rescued.run_id
        assert lost.state.result_state == jobs.RunResultState.FAILED
        assert "stopped renewing its lease" in lost.state.state_message
        assert rescued.state.result_state == jobs.RunResultState.SUCCESS
        assert rescued.start_time - lost.start_time >= 2000, "the rescue began after the lease expired"
        logs = "".join(f.read_text() for f in p.data_dir.glob("worker-*.log"))
        assert "stopped renewing its lease" in logs
        assert rows == [{"n": 30_000_000}]
    finally:
        p.close()


def test_workers_exit_when_dev_is_killed():
    """Worker processes that `lakeplane dev` started do not outlive it, even after a SIGKILL."""
    p = Platform("--workers", "2")
    try:
        def workers():
            found = []
            for d in Path("/proc").iterdir():
                if not d.name.isdigit():
                    continue
                try:
                    argv = (d / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"worker" in argv and str(p.data_dir).encode() in argv:
                    found.append(int(d.name))
            return found

        deadline = time.time() + 30
        while len(workers()) < 2:
            assert time.time() < deadline, "the workers never started"
            time.sleep(0.05)
        os.kill(p.proc.pid, signal.SIGKILL)
        p.proc.wait()
        deadline = time.time() + 10
        while workers():
            assert time.time() < deadline, f"workers outlived lakeplane dev: {workers()}"
            time.sleep(0.1)
    finally:
        p.close()
