"""Reference answers for the TPC-H queries in queries/, computed by DuckDB over the Parquet files
tpchgen-cli writes, so that lakeplane's answers are checked against an independent engine.

    tpchgen-cli parquet -s 0.1 --output-dir /tmp/tpch-sf0.1
    python tests/tpch/answers.py /tmp/tpch-sf0.1 tests/tpch/answers/sf0.1

One CSV per query (a header, then the rows in the query's order). Numbers are written as DuckDB
returns them; the comparison in crates/engine/tests/it/tpch.rs allows for rounding in the last
places, since the engines compute averages and ratios at different precisions.
"""

import csv
import datetime
import decimal
import pathlib
import sys

import duckdb

TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def cell(v):
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (datetime.date, decimal.Decimal)):
        return str(v)
    return str(v)


def main(data: str, out: str) -> None:
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}.parquet')")
    queries = pathlib.Path(__file__).parent / "queries"
    target = pathlib.Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for q in sorted(queries.glob("q*.sql")):
        rel = con.execute(q.read_text())
        names = [d[0] for d in rel.description]
        rows = rel.fetchall()
        with open(target / (q.stem + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for r in rows:
                w.writerow([cell(v) for v in r])
        print(f"{q.stem}: {len(rows)} rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
