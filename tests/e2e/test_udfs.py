"""WebAssembly UDFs end to end: `lakeplane udf build` builds an example, SQL registers it through
the Statement Execution API, a job task and the SQL connector call it, Unity Catalog's functions API
lists, gets and deletes it, and a hostile function fails its statement while the warehouse keeps
serving — all with the unmodified databricks-sdk and databricks-sql-connector."""
import os
import shutil
import subprocess
from datetime import timedelta

import pytest
from databricks import sql
from databricks.sdk.service import jobs
from databricks.sdk.service.sql import StatementState

from conftest import REPO, TOKEN, Platform, lakeplane_bin


@pytest.fixture(scope="module")
def platform():
    p = Platform("--workers", "1", "--slots", "4")
    yield p
    p.close()


@pytest.fixture(scope="module")
def w(platform):
    return platform.client()


@pytest.fixture(scope="module")
def warehouse(w):
    return w.warehouses.create_and_wait(name="udfs", cluster_size="2X-Small",
                                        timeout=timedelta(seconds=60)).id


def build(platform, example: str):
    """Builds a UDF example with the CLI, into the data directory (which SQL may read)."""
    rustc = os.environ.get("LAKEPLANE_WASM_RUSTC", "/usr/bin/rustc")
    out = platform.data_dir / "udfs"
    r = subprocess.run([lakeplane_bin(), "udf", "build", str(REPO / "udfs/examples" / example),
                        "--rustc", rustc, "--out-dir", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout, out / f"{example}.wasm"


def run(w, warehouse, statement, ok=True):
    resp = w.statement_execution.execute_statement(statement=statement, warehouse_id=warehouse,
                                                   wait_timeout="30s")
    if ok:
        assert resp.status.state == StatementState.SUCCEEDED, resp.status.error
    return resp


@pytest.fixture(scope="module")
def haversine(platform, w, warehouse):
    said, module = build(platform, "haversine")
    assert "entry points: haversine" in said and "sha256" in said
    run(w, warehouse, "CREATE FUNCTION main.default.haversine(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, "
                      f"lon2 DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{module}' COMMENT 'km'")
    return "main.default.haversine"


def test_the_statements_api_creates_and_calls_a_function(w, warehouse, haversine):
    resp = run(w, warehouse, f"SELECT round({haversine}(52.52, 13.405, 48.8566, 2.3522), 1) AS km")
    assert resp.result.data_array == [["877.5"]]
    # Unqualified, over a table.
    run(w, warehouse, "CREATE TABLE main.default.legs AS SELECT * FROM VALUES "
                      "(1, 0.0, 0.0, 0.0, 1.0), (2, 0.0, 0.0, NULL, 1.0) AS t(id, a, b, c, d)")
    resp = run(w, warehouse, "SELECT id, round(haversine(a, b, c, d)) FROM main.default.legs ORDER BY id")
    assert resp.result.data_array == [["1", "111.0"], ["2", None]]


def test_a_job_task_calls_a_function(w, platform, warehouse, haversine):
    path = platform.data_dir / "udf_task.sql"
    path.write_text(f"CREATE OR REPLACE TABLE main.default.flights AS SELECT city, round({haversine}"
                    "(52.52, 13.405, lat, lon)) AS km FROM VALUES ('paris', 48.8566, 2.3522), "
                    "('rome', 41.9028, 12.4964) AS t(city, lat, lon)")
    run_ = w.jobs.submit(run_name="udf in a job", tasks=[jobs.SubmitTask(
        task_key="distances", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(path))))
    ]).result(timeout=timedelta(seconds=120))
    assert run_.state.result_state == jobs.RunResultState.SUCCESS, run_.state.state_message
    resp = run(w, warehouse, "SELECT city, km FROM main.default.flights ORDER BY city")
    assert resp.result.data_array == [["paris", "877.0"], ["rome", "1183.0"]]


@pytest.mark.parametrize("backend", ["sea", "kernel"])
def test_the_sql_connector_calls_a_function(platform, warehouse, haversine, backend):
    if backend == "sea":
        kw = dict(server_hostname="http://127.0.0.1", port=platform.port, use_sea=True)
    else:
        kw = dict(server_hostname=f"http://127.0.0.1:{platform.port}", use_kernel=True)
    with sql.connect(http_path=f"/sql/1.0/warehouses/{warehouse}", access_token=TOKEN,
                     enable_telemetry=False, **kw) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT round(haversine(:lat, 0, 0, 0), 3) AS km", {"lat": 1.0})
            assert [tuple(r) for r in cur.fetchall()] == [(111.195,)]


def test_unity_catalog_lists_gets_and_deletes_functions(platform, w, warehouse, haversine):
    said, module = build(platform, "mask_email")
    run(w, warehouse, f"CREATE FUNCTION main.default.mask_email(email STRING) RETURNS STRING "
                      f"LANGUAGE WASM AS '{module}'")
    names = [f.full_name for f in w.functions.list(catalog_name="main", schema_name="default")]
    assert names == ["main.default.haversine", "main.default.mask_email"]
    f = w.functions.get(haversine)
    assert f.external_language == "WASM" and f.routine_body.value == "EXTERNAL" and f.comment == "km"
    assert [(p.name, p.type_text) for p in f.input_params.parameters] == [
        ("lat1", "double"), ("lon1", "double"), ("lat2", "double"), ("lon2", "double")]
    assert f.data_type.value == "DOUBLE"
    w.functions.delete("main.default.mask_email")
    resp = run(w, warehouse, "SELECT main.default.mask_email('a@b.c')", ok=False)
    assert resp.status.state == StatementState.FAILED
    assert "does not exist" in resp.status.error.message


def test_a_hostile_function_fails_its_statement_and_the_warehouse_keeps_serving(platform, w, warehouse):
    module = platform.data_dir / "spin.wat"
    shutil.copy(REPO / "udfs/fixtures/hostile/infinite_loop.wat", module)
    run(w, warehouse, f"CREATE FUNCTION main.default.spin(s STRING) RETURNS STRING LANGUAGE WASM "
                      f"AS '{module}'")
    resp = run(w, warehouse, "SELECT main.default.spin('x')", ok=False)
    assert resp.status.state == StatementState.FAILED, resp.status
    assert "function main.default.spin failed" in resp.status.error.message
    assert "CPU limit" in resp.status.error.message
    resp = run(w, warehouse, "SELECT 40 + 2")
    assert resp.result.data_array == [["42"]]
