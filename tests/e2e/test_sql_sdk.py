"""The unmodified databricks-sdk against `lakeplane dev`: SQL warehouses and the Statement Execution
API (parameters, multi-chunk results inline and as ARROW_STREAM links, cancel, errors), and a
statement surviving the SIGKILL of the worker running it."""
import io
import time
from datetime import timedelta

import pyarrow as pa
import pytest
import requests
from databricks.sdk.errors import NotFound, InvalidParameterValue
from databricks.sdk.service.sql import (Disposition, Format, State, StatementParameterListItem,
                                        StatementState)

from conftest import Platform


@pytest.fixture(scope="module")
def platform():
    # Small chunks, so that modest results span many of them.
    p = Platform("--workers", "1", "--slots", "4", "--result-chunk-kib", "64")
    yield p
    p.close()


@pytest.fixture(scope="module")
def warehouse(w):
    wh = w.warehouses.create_and_wait(name="e2e", cluster_size="2X-Small", auto_stop_mins=10,
                                      timeout=timedelta(seconds=60))
    assert wh.state == State.RUNNING
    return wh.id


def run(w, warehouse, sql, **kw):
    r = w.statement_execution.execute_statement(statement=sql, warehouse_id=warehouse, wait_timeout="30s", **kw)
    assert r.status.state == StatementState.SUCCEEDED, r.status
    return r


def test_warehouse_lifecycle(w):
    wh = w.warehouses.create_and_wait(name="lifecycle", cluster_size="Small", auto_stop_mins=0,
                                      timeout=timedelta(seconds=60))
    got = w.warehouses.get(wh.id)
    assert (got.name, got.cluster_size, got.state) == ("lifecycle", "Small", State.RUNNING)
    assert got.odbc_params.path == f"/sql/1.0/warehouses/{wh.id}"
    assert wh.id in [x.id for x in w.warehouses.list()]
    w.warehouses.edit_and_wait(wh.id, name="renamed", cluster_size="Medium", timeout=timedelta(seconds=60))
    assert w.warehouses.get(wh.id).name == "renamed"
    w.warehouses.stop_and_wait(wh.id, timeout=timedelta(seconds=60))
    assert w.warehouses.get(wh.id).state == State.STOPPED
    # A statement on a stopped warehouse starts it.
    r = w.statement_execution.execute_statement(statement="SELECT 1 AS one", warehouse_id=wh.id, wait_timeout="30s")
    assert r.status.state == StatementState.SUCCEEDED and r.result.data_array == [["1"]]
    assert w.warehouses.get(wh.id).state == State.RUNNING
    w.warehouses.delete(wh.id)
    assert wh.id not in [x.id for x in w.warehouses.list()]
    with pytest.raises(NotFound):
        w.statement_execution.execute_statement(statement="SELECT 1", warehouse_id=wh.id)
    with pytest.raises(InvalidParameterValue):
        w.warehouses.create(name="bad", cluster_size="Enormous")


def test_parameters_are_bound_as_typed_values(w, warehouse):
    r = run(w, warehouse, "SELECT :n AS n, :s AS s, :d AS d, :missing_is_null AS x",
            parameters=[StatementParameterListItem(name="n", value="41", type="INT"),
                        StatementParameterListItem(name="s", value="it's; DROP TABLE t"),
                        StatementParameterListItem(name="d", value="2024-02-29", type="DATE"),
                        StatementParameterListItem(name="missing_is_null", value=None, type="STRING")])
    cols = r.manifest.schema.columns
    assert [(c.name, c.type_name.value) for c in cols] == [("n", "INT"), ("s", "STRING"), ("d", "DATE"), ("x", "STRING")]
    assert r.result.data_array == [["41", "it's; DROP TABLE t", "2024-02-29", None]]


def test_multi_chunk_inline_json(w, warehouse):
    r = run(w, warehouse, "SELECT value AS id, concat('row-', CAST(value AS STRING)) AS name FROM range(30000) ORDER BY id")
    m = r.manifest
    assert m.total_row_count == 30000 and m.total_chunk_count > 3 and not m.truncated
    rows = list(r.result.data_array)
    chunk = r.result
    while chunk.next_chunk_index is not None:
        chunk = w.statement_execution.get_statement_result_chunk_n(r.statement_id, chunk.next_chunk_index)
        rows.extend(chunk.data_array)
    assert len(rows) == 30000
    assert rows[0] == ["0", "row-0"] and rows[-1] == ["29999", "row-29999"]
    assert [c.row_offset for c in m.chunks] == sorted(c.row_offset for c in m.chunks)


def test_multi_chunk_external_links_arrow(w, warehouse):
    r = run(w, warehouse, "SELECT value AS id, value * 0.5 AS half FROM range(200000) ORDER BY id",
            disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    m = r.manifest
    assert m.format == Format.ARROW_STREAM and m.total_chunk_count > 1
    tables, link = [], r.result.external_links[0]
    while True:
        # Fetched without credentials, as clients do.
        body = requests.get(link.external_link, timeout=30)
        assert body.status_code == 200
        tables.append(pa.ipc.open_stream(io.BytesIO(body.content)).read_all())
        if link.next_chunk_index is None:
            break
        link = w.statement_execution.get_statement_result_chunk_n(r.statement_id, link.next_chunk_index).external_links[0]
    table = pa.concat_tables(tables)
    assert table.num_rows == 200000 and table.column_names == ["id", "half"]
    assert table.column("id").to_pylist()[-1] == 199999
    # A tampered or expired link is refused.
    bad = r.result.external_links[0].external_link.replace("signature=", "signature=00")
    assert requests.get(bad, timeout=30).status_code == 403


def test_csv_links_and_row_limit(w, warehouse):
    r = run(w, warehouse, "SELECT value AS id FROM range(1000) ORDER BY id", disposition=Disposition.EXTERNAL_LINKS,
            format=Format.CSV, row_limit=10)
    assert r.manifest.truncated and r.manifest.total_row_count == 10
    text = requests.get(r.result.external_links[0].external_link, timeout=30).text
    assert text.splitlines() == ["id"] + [str(i) for i in range(10)]


def test_execution_errors_are_failed_statements(w, warehouse):
    r = w.statement_execution.execute_statement(statement="SELECT * FROM no_such_table", warehouse_id=warehouse)
    assert r.status.state == StatementState.FAILED
    assert r.status.error.error_code.value == "NOT_FOUND" and "no_such_table" in r.status.error.message
    r = w.statement_execution.execute_statement(statement="SELEC 1", warehouse_id=warehouse)
    assert r.status.state == StatementState.FAILED and r.status.error.error_code.value == "BAD_REQUEST"
    with pytest.raises(InvalidParameterValue):
        w.statement_execution.execute_statement(statement="SELECT 1", warehouse_id=warehouse, wait_timeout="3s")


def test_cancel_a_long_statement(w, warehouse):
    r = w.statement_execution.execute_statement(statement="SELECT count(*) FROM range(100000000000)",
                                                warehouse_id=warehouse, wait_timeout="0s")
    assert r.status.state in (StatementState.PENDING, StatementState.RUNNING)
    time.sleep(0.5)
    w.statement_execution.cancel_execution(r.statement_id)
    assert w.statement_execution.get_statement(r.statement_id).status.state == StatementState.CANCELED
    # The slot is free again: the next statement runs at once.
    assert run(w, warehouse, "SELECT 2 AS two").result.data_array == [["2"]]


def test_ddl_and_dml_in_catalog_and_schema(w, warehouse):
    run(w, warehouse, "CREATE SCHEMA IF NOT EXISTS sqlapi")
    run(w, warehouse, "CREATE OR REPLACE TABLE t (id INT, name STRING)", schema="sqlapi")
    r = run(w, warehouse, "INSERT INTO t VALUES (1, 'a'), (2, 'b')", schema="sqlapi")
    assert r.result.data_array == [["2", "2"]]
    r = run(w, warehouse, "SELECT name FROM main.sqlapi.t ORDER BY id")
    assert r.result.data_array == [["a"], ["b"]]


def test_a_statement_survives_the_sigkill_of_its_worker():
    p = Platform("--workers", "0")
    try:
        w = p.client()
        wh = w.warehouses.create(name="chaos", cluster_size="2X-Small").id
        first = p.worker("--id", "doomed", "--lease-seconds", "2", "--heartbeat-ms", "300")
        r = w.statement_execution.execute_statement(
            statement="SELECT count(*) AS n FROM (SELECT value FROM range(60000000)) WHERE value % 7 = 0",
            warehouse_id=wh, wait_timeout="0s")
        deadline = time.time() + 60
        while w.statement_execution.get_statement(r.statement_id).status.state != StatementState.RUNNING:
            assert time.time() < deadline
            time.sleep(0.05)
        first.kill()
        first.wait()
        second = p.worker("--id", "survivor", "--lease-seconds", "2", "--heartbeat-ms", "300")
        try:
            while True:
                s = w.statement_execution.get_statement(r.statement_id)
                if s.status.state not in (StatementState.PENDING, StatementState.RUNNING):
                    break
                assert time.time() < deadline + 120
                time.sleep(0.2)
            assert s.status.state == StatementState.SUCCEEDED, s.status
            assert s.result.data_array == [[str(len(range(0, 60000000, 7)))]]
        finally:
            second.kill()
    finally:
        p.close()


def test_unity_catalog_lists_what_sql_created(w, warehouse):
    run(w, warehouse, "CREATE CATALOG IF NOT EXISTS uc_e2e")
    run(w, warehouse, "CREATE SCHEMA IF NOT EXISTS uc_e2e.s1")
    run(w, warehouse, "CREATE TABLE uc_e2e.s1.t (id BIGINT, name STRING) COMMENT 'people'")
    assert "uc_e2e" in [c.name for c in w.catalogs.list()]
    assert [s.name for s in w.schemas.list(catalog_name="uc_e2e")] == ["default", "s1"]
    tables = list(w.tables.list(catalog_name="uc_e2e", schema_name="s1"))
    assert [(t.name, t.table_type.value, t.comment) for t in tables] == [("t", "MANAGED", "people")]
    t = w.tables.get("uc_e2e.s1.t")
    assert [(c.name, c.type_name.value) for c in t.columns] == [("id", "LONG"), ("name", "STRING")]
    assert w.tables.exists("uc_e2e.s1.t").table_exists
    # And the other way round: what the API makes and deletes, SQL sees.
    w.schemas.create(name="s2", catalog_name="uc_e2e", comment="made by the API")
    run(w, warehouse, "CREATE TABLE uc_e2e.s2.x AS SELECT 1 AS one")
    w.tables.delete("uc_e2e.s2.x")
    r = w.statement_execution.execute_statement(statement="SELECT * FROM uc_e2e.s2.x", warehouse_id=warehouse)
    assert r.status.state == StatementState.FAILED and r.status.error.error_code.value == "NOT_FOUND"
    w.catalogs.delete("uc_e2e", force=True)
    assert "uc_e2e" not in [c.name for c in w.catalogs.list()]
