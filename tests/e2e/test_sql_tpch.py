"""TPC-H at scale factor 0.1 through the Statement Execution API: the tables loaded with CTAS
statements, the 22 queries (tests/tpch/queries) answered through the unmodified databricks-sdk as
DuckDB answered them (tests/tpch/answers/sf0.1), every chunk of every result read."""
import csv
import math
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from databricks.sdk.service.sql import StatementState

from conftest import REPO

TPCH = REPO / "tests" / "tpch"
TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def same(ours, theirs):
    if ours == theirs:
        return True
    try:
        a, b = float(ours), float(theirs)
    except (TypeError, ValueError):
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=5e-5)


def rows_of(w, r):
    rows = list(r.result.data_array or [])
    chunk = r.result
    while chunk.next_chunk_index is not None:
        chunk = w.statement_execution.get_statement_result_chunk_n(r.statement_id, chunk.next_chunk_index)
        rows.extend(chunk.data_array or [])
    return rows


def test_tpch_sf_0_1_answers_as_duckdb_does(platform, w):
    data = platform.data_dir / "tpch"
    tpchgen = Path(sys.executable).with_name("tpchgen-cli")
    subprocess.run([str(tpchgen), "parquet", "-s", "0.1", "--output-dir", str(data)], check=True)
    wh = w.warehouses.create_and_wait(name="tpch", cluster_size="Small", timeout=timedelta(seconds=60)).id

    def execute(sql):
        r = w.statement_execution.execute_statement(statement=sql, warehouse_id=wh, wait_timeout="50s")
        while r.status.state in (StatementState.PENDING, StatementState.RUNNING):
            r = w.statement_execution.get_statement(r.statement_id)
        return r

    w.statement_execution.execute_statement(statement="CREATE SCHEMA IF NOT EXISTS tpch", warehouse_id=wh,
                                            wait_timeout="30s")
    for t in TABLES:
        r = execute(f"CREATE TABLE main.tpch.{t} AS SELECT * FROM read_files('{data / (t + '.parquet')}')")
        assert r.status.state == StatementState.SUCCEEDED, (t, r.status)

    failures = []
    for q in range(1, 23):
        name = f"q{q:02}"
        sql = (TPCH / "queries" / f"{name}.sql").read_text()
        r = w.statement_execution.execute_statement(statement=sql, warehouse_id=wh, catalog="main",
                                                    schema="tpch", wait_timeout="50s")
        while r.status.state in (StatementState.PENDING, StatementState.RUNNING):
            r = w.statement_execution.get_statement(r.statement_id)
        if r.status.state != StatementState.SUCCEEDED:
            failures.append(f"{name}: {r.status}")
            continue
        with open(TPCH / "answers" / "sf0.1" / f"{name}.csv", newline="") as f:
            expected = list(csv.reader(f))[1:]
        ours = rows_of(w, r)
        if len(ours) != len(expected):
            failures.append(f"{name}: {len(ours)} rows, DuckDB {len(expected)}")
            continue
        for i, (a, b) in enumerate(zip(ours, expected)):
            if len(a) != len(b) or not all(same(x, y) for x, y in zip(a, b)):
                failures.append(f"{name} row {i}: ours {a}, DuckDB {b}")
                break
    assert not failures, "\n".join(failures)
