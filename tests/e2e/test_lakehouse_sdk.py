"""The lakehouse through the unmodified databricks-sdk: a job of SQL tasks that MERGEs, UPDATEs,
DELETEs, reads the past and RESTOREs, and the Python deltalake package reading what it left."""
from datetime import timedelta

from databricks.sdk.service import jobs

from conftest import delta_table, sql_file, table_location

WAIT = timedelta(seconds=120)


def test_a_job_merges_updates_deletes_time_travels_and_restores(platform, w):
    steps = {
        "setup": "CREATE SCHEMA IF NOT EXISTS shop; "
                 "CREATE OR REPLACE TABLE shop.stock (sku STRING NOT NULL, qty INT) "
                 "COMMENT 'what is on the shelves'; "
                 "INSERT INTO shop.stock VALUES ('apple', 10), ('pear', 5), ('plum', 0)",
        "merge": "MERGE INTO shop.stock t USING (SELECT * FROM VALUES ('apple', 3), ('kiwi', 7) AS d(sku, qty)) s "
                 "ON t.sku = s.sku WHEN MATCHED THEN UPDATE SET qty = t.qty + s.qty "
                 "WHEN NOT MATCHED THEN INSERT *",
        "update": "UPDATE shop.stock SET qty = qty - 1 WHERE sku = 'pear'",
        "delete": "DELETE FROM shop.stock WHERE qty = 0",
        "past": "CREATE OR REPLACE TABLE shop.stock_at_load AS SELECT * FROM shop.stock VERSION AS OF 1",
        "restore": "RESTORE TABLE shop.stock TO VERSION AS OF 2",
    }
    order = list(steps)
    tasks = []
    for i, key in enumerate(order):
        path = platform.data_dir / f"lake_{key}.sql"
        path.write_text(steps[key])
        tasks.append(sql_file(key, path, depends_on=[order[i - 1]] if i else []))
    job = w.jobs.create(name="lakehouse day", tasks=tasks)
    run = w.jobs.run_now(job_id=job.job_id).result(timeout=WAIT)
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message

    stock = delta_table(w, platform, "shop.stock")
    ops = [(h["version"], h["operation"]) for h in stock.history()]
    assert ops == [(5, "RESTORE"), (4, "DELETE"), (3, "UPDATE"), (2, "MERGE"), (1, "WRITE"),
                   (0, "CREATE OR REPLACE TABLE")], ops
    rows = sorted((r["sku"], r["qty"]) for r in stock.to_pyarrow_table().to_pylist())
    assert rows == [("apple", 13), ("kiwi", 7), ("pear", 5), ("plum", 0)], "as right after the MERGE"
    assert stock.metadata().description == "what is on the shelves"
    loaded = delta_table(w, platform, "shop.stock_at_load")
    assert sorted((r["sku"], r["qty"]) for r in loaded.to_pyarrow_table().to_pylist()) == [
        ("apple", 10), ("pear", 5), ("plum", 0)]
    # The versions in between are there for any reader.
    stock.load_as_version(4)
    assert sorted(r["sku"] for r in stock.to_pyarrow_table().to_pylist()) == ["apple", "kiwi", "pear"]
    assert table_location(w, platform, "shop.stock").startswith("file://")
