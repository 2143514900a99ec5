"""The SQL Statement Execution API, measured as a client sees it, through the unmodified
databricks-sdk against a release `lakeplane dev`:

  1. round trip of `SELECT 1` (submit with the default wait, answer inline), p50 and p99;
  2. throughput of one 10M-row result fetched two ways in the same run: ARROW_STREAM chunks behind
     EXTERNAL_LINKS (downloaded 4 at a time, as the SQL connector does, and read with pyarrow) vs
     JSON_ARRAY chunks INLINE (fetched one after another through the SDK). Time runs from submit to
     the last row in hand, so it includes running the query and writing the chunks.

    python crates/bench/scripts/sql_api.py LAKEPLANE_BIN [ROUND_TRIPS] [ROWS]

Prints a JSON object of figures.
"""

import concurrent.futures
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import pyarrow as pa
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import Disposition, Format, StatementState

TOKEN = "bench-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(w, r):
    while r.status.state in (StatementState.PENDING, StatementState.RUNNING):
        time.sleep(0.05)
        r = w.statement_execution.get_statement(r.statement_id)
    assert r.status.state == StatementState.SUCCEEDED, r.status
    return r


def main(binary, round_trips=300, rows=10_000_000):
    data = tempfile.mkdtemp(prefix="lakeplane-bench-sql-")
    port = free_port()
    dev = subprocess.Popen([binary, "dev", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                            "--token", TOKEN, "--workers", "1", "--slots", "4"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/.well-known/databricks-config", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        w = WorkspaceClient(host=url, token=TOKEN, auth_type="pat")
        wh = w.warehouses.create_and_wait(name="bench", cluster_size="Small").id
        out = {}

        lat = []
        for i in range(round_trips + 20):
            start = time.perf_counter()
            r = w.statement_execution.execute_statement(statement="SELECT 1", warehouse_id=wh)
            took = time.perf_counter() - start
            assert r.status.state == StatementState.SUCCEEDED and r.result.data_array == [["1"]]
            if i >= 20:
                lat.append(took * 1000)
        lat.sort()
        out["select1_ms"] = {"p50": round(statistics.median(lat), 2),
                             "p99": round(lat[int(len(lat) * 0.99) - 1], 2), "n": len(lat)}

        sql = f"SELECT value AS id, value * 2 AS twice, value % 1000 AS bucket FROM range({rows})"

        start = time.perf_counter()
        r = wait(w, w.statement_execution.execute_statement(
            statement=sql, warehouse_id=wh, wait_timeout="50s",
            disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM))
        links, chunk = [], r.result
        links.extend(chunk.external_links)
        while links[-1].next_chunk_index is not None:
            more = w.statement_execution.get_statement_result_chunk_n(r.statement_id, links[-1].next_chunk_index)
            links.extend(more.external_links)

        def fetch(link):
            body = urllib.request.urlopen(link.external_link, timeout=120).read()
            return pa.ipc.open_stream(io.BytesIO(body)).read_all().num_rows, len(body)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            got = list(pool.map(fetch, links))
        took = time.perf_counter() - start
        n, size = sum(g[0] for g in got), sum(g[1] for g in got)
        assert n == rows, n
        out["arrow_links"] = {"seconds": round(took, 2), "MB": round(size / 1e6, 1),
                              "MB_per_s": round(size / 1e6 / took, 1), "rows_per_s": round(rows / took),
                              "chunks": len(links)}

        start = time.perf_counter()
        r = wait(w, w.statement_execution.execute_statement(
            statement=sql, warehouse_id=wh, wait_timeout="50s",
            disposition=Disposition.INLINE, format=Format.JSON_ARRAY))
        n, chunk = len(r.result.data_array), r.result
        while chunk.next_chunk_index is not None:
            chunk = w.statement_execution.get_statement_result_chunk_n(r.statement_id, chunk.next_chunk_index)
            n += len(chunk.data_array)
        took = time.perf_counter() - start
        assert n == rows, n
        size = r.manifest.total_byte_count
        out["json_inline"] = {"seconds": round(took, 2), "MB": round(size / 1e6, 1),
                              "MB_per_s": round(size / 1e6 / took, 1), "rows_per_s": round(rows / took),
                              "chunks": r.manifest.total_chunk_count}
        out["arrow_vs_json_rows_per_s"] = round(out["arrow_links"]["rows_per_s"] / out["json_inline"]["rows_per_s"], 2)
        print(json.dumps(out, indent=2))
    finally:
        dev.terminate()
        dev.wait(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
