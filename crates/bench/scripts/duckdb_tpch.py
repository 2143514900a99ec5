"""DuckDB's side of the TPC-H benchmark: the same queries over the same Parquet files.

    python duckdb_tpch.py DATA_DIR QUERIES_DIR RUNS THREADS

Prints one JSON object: {"q01": [ms, ms, ...], ...}. Views over the Parquet files, as lakeplane's
tables are over Delta's Parquet files; the first run of each query warms the OS cache like
lakeplane's first run does.
"""

import json
import pathlib
import sys
import time

import duckdb

TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def main(data: str, queries: str, runs: int, threads: int) -> None:
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}.parquet')")
    out = {}
    for q in sorted(pathlib.Path(queries).glob("q*.sql")):
        sql = q.read_text()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            times.append((time.perf_counter() - start) * 1000.0)
        out[q.stem] = times
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
