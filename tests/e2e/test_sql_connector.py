"""The real `databricks-sql-connector` (DB-API) against `lakeplane dev`, through both of its REST
backends: the Statement Execution API client (`use_sea=True`) and the Rust kernel
(`use_kernel=True`). Telemetry is off: it posts to the host's port 443/80, which a local server
does not have."""
import decimal
from datetime import date, timedelta

import pytest
from databricks import sql

from conftest import TOKEN, Platform


@pytest.fixture(scope="module")
def platform():
    p = Platform("--workers", "1", "--slots", "4", "--result-chunk-kib", "64")
    yield p
    p.close()


@pytest.fixture(scope="module")
def warehouse(platform):
    w = platform.client()
    wh = w.warehouses.create_and_wait(name="connector", cluster_size="2X-Small", timeout=timedelta(seconds=60))
    w.statement_execution.execute_statement(
        statement="CREATE TABLE IF NOT EXISTS main.default.people AS "
                  "SELECT * FROM (VALUES (1, 'ada', 36.5), (2, 'grace', 45.0)) AS t(id, name, score)",
        warehouse_id=wh.id, wait_timeout="30s")
    return wh.id


@pytest.fixture(params=["sea", "kernel"])
def conn(request, platform, warehouse):
    if request.param == "sea":
        # The SEA client joins host and port itself.
        kw = dict(server_hostname="http://127.0.0.1", port=platform.port, use_sea=True)
    else:
        # The kernel takes the whole address as the host.
        kw = dict(server_hostname=f"http://127.0.0.1:{platform.port}", use_kernel=True)
    with sql.connect(http_path=f"/sql/1.0/warehouses/{warehouse}", access_token=TOKEN,
                     enable_telemetry=False, **kw) as c:
        yield c


def test_execute_with_parameters(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT :n + 1 AS n, :s AS s", {"n": 41, "s": "x'; --"})
        assert [tuple(r) for r in cur.fetchall()] == [(42, "x'; --")]
        assert [d[0] for d in cur.description] == ["n", "s"]


def test_fetchmany_over_a_large_result(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT value AS id, value * 2 AS twice FROM range(100000) ORDER BY id")
        first = cur.fetchmany(1000)
        rest = cur.fetchall()
        assert len(first) == 1000 and len(rest) == 99000
        assert tuple(first[0]) == (0, 0) and tuple(rest[-1]) == (99999, 199998)


def test_fetchall_arrow(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT id, name, score FROM main.default.people ORDER BY id")
        table = cur.fetchall_arrow()
        assert table.num_rows == 2
        assert table.column("name").to_pylist() == ["ada", "grace"]


def test_types_come_back_as_python_values(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CAST(1.25 AS DECIMAL(5,2)) AS d, DATE '2024-02-29' AS day, true AS b, "
                    "CAST(NULL AS STRING) AS nothing")
        row = cur.fetchone()
        assert row.d == decimal.Decimal("1.25") and row.day == date(2024, 2, 29)
        assert row.b is True and row.nothing is None


def test_errors_raise(conn):
    with conn.cursor() as cur:
        with pytest.raises(sql.exc.Error) as e:
            cur.execute("SELECT * FROM main.default.no_such_table")
        assert "no_such_table" in str(e.value)


def test_metadata_calls(conn):
    with conn.cursor() as cur:
        cur.catalogs()
        assert "main" in [r[0] for r in cur.fetchall()]
        cur.schemas(catalog_name="main")
        assert "default" in [r[0] for r in cur.fetchall()]
        cur.tables(catalog_name="main", schema_name="default")
        names = [r.TABLE_NAME if hasattr(r, "TABLE_NAME") else r[2] for r in cur.fetchall()]
        assert "people" in names
        cur.columns(catalog_name="main", schema_name="default", table_name="people")
        cols = cur.fetchall()
        assert len(cols) == 3
