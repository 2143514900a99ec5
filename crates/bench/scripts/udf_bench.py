#!/usr/bin/env python3
"""WebAssembly UDFs against native DataFusion UDFs and DuckDB Python UDFs, in one run.

Usage: udf_bench.py <release lakeplane> <release lakeplane-bench-udf> [rows]

1. builds the example UDFs (`lakeplane udf build … --rustc /usr/bin/rustc`, `--clang` for the C one),
2. runs lakeplane-bench-udf: each function as WebAssembly and as a native DataFusion UDF over the
   same in-memory table, one partition (one core), best of 3, plus cold-start costs,
3. runs the same functions as DuckDB Python UDFs (PyPI duckdb, one thread): row-at-a-time
   (`type='native'`) and Arrow-vectorized (`type='arrow'`: pyarrow.compute where it has the
   operations, a comprehension over the batch where it does not, as a Python user writes it),
4. prints rows/s with the ratios (the table in BENCHMARKS.md).
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[3]


def build(lakeplane: str, out: Path):
    rustc = os.environ.get("LAKEPLANE_WASM_RUSTC", "/usr/bin/rustc")
    for ex in ["haversine", "mask_email", "null_aware"]:
        subprocess.run([lakeplane, "udf", "build", str(REPO / "udfs/examples" / ex), "--rustc", rustc,
                        "--out-dir", str(out)], check=True, stdout=subprocess.DEVNULL)
    clang = os.environ.get("LAKEPLANE_WASM_CLANG", "clang-14")
    subprocess.run([lakeplane, "udf", "build", str(REPO / "udfs/examples/c/fahrenheit.c"), "--clang", clang,
                    "--out-dir", str(out)], check=True, stdout=subprocess.DEVNULL)


def table(rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    ids = np.arange(rows)
    return pa.table({
        "lat1": (rng.random(rows) - 0.5) * 180, "lon1": (rng.random(rows) - 0.5) * 360,
        "lat2": (rng.random(rows) - 0.5) * 180, "lon2": (rng.random(rows) - 0.5) * 360,
        "email": pa.array([f"User.{i}@Example{i % 97}.com" for i in ids]),
        "name": pa.array([None if i % 10 == 0 else f"customer {i}" for i in ids]),
        "score": pa.array([None if i % 7 == 0 else int(i * 37 % 1000) for i in ids], pa.int64()),
    })


R = 6371.0088


def haversine_row(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(a))


def haversine_arrow(lat1, lon1, lat2, lon2):
    rad = math.pi / 180
    p1, p2 = pc.multiply(lat1, rad), pc.multiply(lat2, rad)
    dp = pc.subtract(p2, p1)
    dl = pc.multiply(pc.subtract(lon2, lon1), rad)
    s1 = pc.power(pc.sin(pc.divide(dp, 2)), 2)
    s2 = pc.power(pc.sin(pc.divide(dl, 2)), 2)
    a = pc.add(s1, pc.multiply(pc.multiply(pc.cos(p1), pc.cos(p2)), s2))
    return pc.multiply(pc.asin(pc.sqrt(a)), 2 * R)


def mask_row(email):
    user, sep, domain = email.strip().rpartition("@")
    if not sep or not user:
        return None
    return user[0].lower() + "*" * (len(user) - 1) + "@" + domain.lower()


def mask_arrow(emails):
    return pa.array([None if e is None else mask_row(e) for e in emails.to_pylist()], pa.string())


def label_row(name, score):
    tier = None if score is None else ("gold" if score >= 900 else "silver" if score >= 500 else "bronze")
    if name is not None:
        return f"{name} ({tier or 'unscored'})"
    return None if tier is None else f"anonymous ({tier})"


def label_arrow(names, scores):
    return pa.array([label_row(n, s) for n, s in zip(names.to_pylist(), scores.to_pylist())], pa.string())


def fahrenheit_row(c):
    return c * 9 / 5 + 32


def fahrenheit_arrow(c):
    return pc.add(pc.multiply(c, 1.8), 32)


_types = getattr(duckdb, "sqltypes", None) or duckdb.typing
D, S, I = _types.DOUBLE, _types.VARCHAR, _types.BIGINT
CASES = {
    "haversine": ([D, D, D, D], D, haversine_row, haversine_arrow, "sum({f}(lat1, lon1, lat2, lon2))", "default"),
    "mask_email": ([S], S, mask_row, mask_arrow, "count({f}(email))", "default"),
    "customer_label": ([S, I], S, label_row, label_arrow, "count({f}(name, score))", "special"),
    "fahrenheit": ([D], D, fahrenheit_row, fahrenheit_arrow, "sum({f}(lat1))", "default"),
}


def duck(t: pa.Table, udf: str, kind: str) -> float:
    params, ret, row, arrow, expr, nulls = CASES[udf]
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.register("t", t)
    fn = row if kind == "native" else arrow
    con.create_function("f", fn, params, ret, type=kind, null_handling=nulls)
    start = time.perf_counter()
    con.execute(f"SELECT {expr.format(f='f')} FROM t").fetchall()
    return time.perf_counter() - start


def main():
    lakeplane, bench = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
    out = Path(tempfile.mkdtemp(prefix="udf-bench-"))
    build(lakeplane, out)
    lines = subprocess.run([bench, "--rows", str(rows), "--modules", str(out)], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    results = [json.loads(l) for l in lines]
    speed = {(r["udf"], r["impl"]): r["rows_per_s"] for r in results if "impl" in r}
    cold = {r["udf"]: r["cold"] for r in results if "cold" in r}
    t = table(rows)
    for udf in CASES:
        for kind in ["native", "arrow"]:
            secs = duck(t, udf, kind)
            speed[(udf, f"duckdb-{kind}")] = rows / secs
    print(f"{rows:,} rows, one core\n")
    print("| UDF | WebAssembly (rows/s) | native DataFusion UDF | wasm / native | DuckDB Python, row-at-a-time "
          "| DuckDB Python, Arrow-vectorized | wasm / Python row | wasm / Python Arrow |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    m = lambda v: f"{v / 1e6:,.1f} M"
    for udf in CASES:
        w, n = speed[(udf, "wasm")], speed[(udf, "native")]
        pr, pa_ = speed[(udf, "duckdb-native")], speed[(udf, "duckdb-arrow")]
        print(f"| {udf} | {m(w)} | {m(n)} | {w / n:.2f}× | {m(pr)} | {m(pa_)} | {w / pr:.0f}× | {w / pa_:.1f}× |")
    print("\n| UDF | module bytes | first call, never compiled (ms) | first call, compiled code on disk (ms) "
          "| first call, already loaded (ms) |")
    print("|---|---:|---:|---:|---:|")
    for udf, c in cold.items():
        print(f"| {udf} | {c['module_bytes']:,} | {c['compile_ms']:.1f} | {c['disk_cache_ms']:.1f} | {c['loaded_ms']:.2f} |")


if __name__ == "__main__":
    main()
