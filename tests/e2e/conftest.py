"""Fixtures: a real `lakeplane dev` process on a free loopback port, and SDK clients for it.

The binary comes from LAKEPLANE_BIN (scripts/test builds it). S3 tests use the moto server that
scripts/test starts (AWS_ENDPOINT_URL).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import deltalake
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

REPO = Path(__file__).resolve().parents[2]
TOKEN = "e2e-token"


def lakeplane_bin() -> str:
    path = os.environ.get("LAKEPLANE_BIN") or str(
        Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "lakeplane"
    )
    assert Path(path).exists(), f"{path} not found: build it with `cargo build -p lakeplane-cli` or run scripts/test"
    return path


def sql_file(task_key, path, depends_on=(), **kw):
    """A job task that runs the SQL file at `path`."""
    return jobs.Task(task_key=task_key, depends_on=[jobs.TaskDependency(task_key=d) for d in depends_on],
                     sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(path))), **kw)


def table_location(w, platform, name: str) -> str:
    """Where a table keeps its files, as `DESCRIBE DETAIL` says (run as a one-time job, read from
    its output)."""
    path = platform.data_dir / f"detail_{name.replace('.', '_')}.sql"
    path.write_text(f"DESCRIBE DETAIL {name}")
    run = w.jobs.submit(run_name=f"where is {name}", tasks=[jobs.SubmitTask(
        task_key="detail", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(path))))
    ]).result(timeout=timedelta(seconds=60))
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message
    out = w.jobs.get_run_output(run.tasks[0].run_id)
    return json.loads(out.logs.splitlines()[1])["location"]


def delta_table(w, platform, name: str):
    """A table as the Python deltalake package reads it (moto's S3 for s3:// locations)."""
    location = table_location(w, platform, name)
    options = None
    if location.startswith("s3://"):
        options = {k: os.environ[k] for k in
                   ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]}
        options["AWS_ALLOW_HTTP"] = "true"
    return deltalake.DeltaTable(location, storage_options=options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    """A running `lakeplane dev`, stopped by `close`."""

    def __init__(self, *extra: str):
        self.data_dir = Path(tempfile.mkdtemp(prefix="lakeplane-e2e-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.data_dir / "dev.log", "w")
        self.proc = subprocess.Popen(
            [lakeplane_bin(), "dev", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir),
             "--token", TOKEN, *extra],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/.well-known/databricks-config", timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"lakeplane dev did not start: {(self.data_dir / 'dev.log').read_text()}")
                time.sleep(0.05)

    def client(self, token: str = TOKEN) -> WorkspaceClient:
        return WorkspaceClient(host=self.url, token=token, auth_type="pat")

    def worker(self, *extra: str) -> subprocess.Popen:
        """Starts one more worker process on this platform's data directory."""
        log = open(self.data_dir / f"worker-{time.time_ns()}.log", "w")
        return subprocess.Popen([lakeplane_bin(), "worker", "--data-dir", str(self.data_dir), *extra],
                                stdout=log, stderr=subprocess.STDOUT)

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def platform():
    p = Platform("--workers", "1", "--slots", "4")
    yield p
    p.close()


@pytest.fixture(scope="module")
def w(platform):
    return platform.client()
