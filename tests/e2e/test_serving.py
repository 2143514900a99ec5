"""Serving endpoints with the unmodified databricks-sdk against `lakeplane dev`: an MLflow model
from the registry served by its own scoring server, queried in every input format, switched
blue/green to version 2 while a client keeps querying (no request fails), a failed update that
leaves version 2 serving, and delete stopping the processes."""
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

mlflow = pytest.importorskip("mlflow")
from databricks.sdk.errors import OperationFailed  # noqa: E402
from databricks.sdk.service.serving import (  # noqa: E402
    DataframeSplitInput,
    EndpointCoreConfigInput,
    ServedEntityInput,
)
from databricks.sdk.service import jobs  # noqa: E402
from databricks.sdk.service.sql import StatementState  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from conftest import TOKEN, Platform  # noqa: E402

MODEL = "serving_model"
ENDPOINT = "forecast"
X = [[1.0], [2.0], [10.0]]


@pytest.fixture(scope="module")
def served():
    # The scoring servers run from this Python environment (it has mlflow and scikit-learn).
    os.environ["LAKEPLANE_MODEL_PYTHON"] = sys.executable
    p = Platform("--workers", "1")
    mlflow.set_tracking_uri(p.url)
    mlflow.set_registry_uri(p.url)
    os.environ["MLFLOW_TRACKING_TOKEN"] = TOKEN
    mlflow.set_experiment("serving")
    models = {}
    for slope in (2.0, 5.0):
        x = np.arange(10, dtype=float).reshape(-1, 1)
        m = LinearRegression().fit(x, slope * x.ravel() + 1.0)
        with mlflow.start_run():
            mlflow.sklearn.log_model(m, name="model", registered_model_name=MODEL)
        models[len(models) + 1] = m
    yield p, models
    p.close()


def scoring_processes(data_dir: Path):
    """Pids of scoring servers serving models of this platform (from their environment)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"__pyfunc_model_path__=" + str(data_dir).encode() in env:
            pids.append(int(proc.name))
    return pids


def entity(version):
    return ServedEntityInput(entity_name=MODEL, entity_version=str(version), workload_size="Small",
                             scale_to_zero_enabled=True)


def predictions(w, **kw):
    return w.serving_endpoints.query(ENDPOINT, **kw).predictions


def test_serve_switch_blue_green_fail_and_delete(served):
    platform, models = served
    w = platform.client()
    x = np.array(X)

    ep = w.serving_endpoints.create_and_wait(
        ENDPOINT, config=EndpointCoreConfigInput(name=ENDPOINT, served_entities=[entity(1)]),
        timeout=timedelta(minutes=5))
    assert ep.state.ready.value == "READY"
    assert ep.config.served_entities[0].entity_version == "1"
    assert [e.name for e in w.serving_endpoints.list()] == [ENDPOINT]

    expected1 = models[1].predict(x).tolist()
    got = predictions(w, dataframe_split=DataframeSplitInput(columns=["0"], data=X))
    np.testing.assert_allclose(got, expected1)
    np.testing.assert_allclose(predictions(w, dataframe_records=[{"0": v[0]} for v in X]), expected1)
    np.testing.assert_allclose(predictions(w, instances=X), expected1)
    np.testing.assert_allclose(predictions(w, inputs=X), expected1)
    assert w.serving_endpoints.query(ENDPOINT, inputs=X).served_model_name == f"{MODEL}-1"

    # ai_query from SQL: a job's task and a statement, one prediction per row.
    path = platform.data_dir / "ai_task.sql"
    path.write_text("CREATE OR REPLACE TABLE main.default.scored AS SELECT x, "
                    f"ai_query('{ENDPOINT}', x) AS y FROM VALUES (1.0), (2.0), (10.0), (NULL) AS t(x)")
    run = w.jobs.submit(run_name="score", tasks=[jobs.SubmitTask(
        task_key="score", sql_task=jobs.SqlTask(warehouse_id="local", file=jobs.SqlTaskFile(path=str(path))))
    ]).result(timeout=timedelta(seconds=120))
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state.state_message
    warehouse = w.warehouses.create_and_wait(name="ai", cluster_size="2X-Small", timeout=timedelta(seconds=60)).id
    rows = w.statement_execution.execute_statement(
        statement="SELECT x, y FROM main.default.scored WHERE x IS NOT NULL ORDER BY x",
        warehouse_id=warehouse, wait_timeout="30s").result.data_array
    np.testing.assert_allclose([float(y) for _, y in rows], expected1)
    bad = w.statement_execution.execute_statement(
        statement="SELECT ai_query('no_such_endpoint', 1.0)", warehouse_id=warehouse, wait_timeout="30s")
    assert bad.status.state == StatementState.FAILED
    assert "no_such_endpoint" in bad.status.error.message

    # Blue/green: a client keeps querying while version 2 comes up and version 1 goes.
    answers, failures, stop = [], [], threading.Event()

    def client():
        session = requests.Session()
        while not stop.is_set():
            r = session.post(f"{platform.url}/serving-endpoints/{ENDPOINT}/invocations",
                             json={"inputs": X}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            if r.status_code != 200:
                failures.append((r.status_code, r.text))
            else:
                answers.append(r.json()["predictions"])

    t = threading.Thread(target=client)
    t.start()
    try:
        updated = w.serving_endpoints.update_config_and_wait(ENDPOINT, served_entities=[entity(2)],
                                                             timeout=timedelta(minutes=5))
        time.sleep(4)  # past the old server's drain
    finally:
        stop.set()
        t.join()
    assert failures == []
    expected2 = models[2].predict(x).tolist()
    assert updated.config.served_entities[0].entity_version == "2"
    assert updated.config.config_version == 2
    assert any(np.allclose(a, expected1) for a in answers), "version 1 answered during the switch"
    assert np.allclose(answers[-1], expected2)
    np.testing.assert_allclose(predictions(w, inputs=X), expected2)

    # A version that cannot start: the update fails and version 2 keeps serving.
    client_ = mlflow.MlflowClient(platform.url, platform.url)
    requests.put(f"{platform.url}/api/2.0/mlflow-artifacts/artifacts/broken/model/MLmodel",
                 data=b"flavors: {python_function: {loader_module: no_such_module}}\n",
                 headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
    client_.create_model_version(MODEL, "mlflow-artifacts:/broken/model")
    with pytest.raises(OperationFailed):
        w.serving_endpoints.update_config_and_wait(ENDPOINT, served_entities=[entity(3)],
                                                   timeout=timedelta(minutes=5))
    after = w.serving_endpoints.get(ENDPOINT)
    assert after.state.config_update.value == "UPDATE_FAILED"
    assert after.state.ready.value == "READY"
    assert after.config.served_entities[0].entity_version == "2"
    message = w.api_client.do("GET", f"/api/2.0/serving-endpoints/{ENDPOINT}")["state"]["message"]
    assert "no_such_module" in message, message
    np.testing.assert_allclose(predictions(w, inputs=X), expected2)

    # Delete stops the model server.
    assert scoring_processes(platform.data_dir)
    w.serving_endpoints.delete(ENDPOINT)
    deadline = time.time() + 30
    while scoring_processes(platform.data_dir) and time.time() < deadline:
        time.sleep(0.5)
    assert scoring_processes(platform.data_dir) == []
    with pytest.raises(Exception):
        w.serving_endpoints.get(ENDPOINT)


def test_bad_requests_are_refused_clearly(served):
    platform, _ = served
    w = platform.client()
    h = {"Authorization": f"Bearer {TOKEN}"}
    bad = [
        {"name": "bad name", "config": {"served_entities": [{"entity_name": MODEL, "entity_version": "1"}]}},
        {"name": "e1", "config": {"served_entities": []}},
        {"name": "e2", "config": {"served_entities": [{"entity_name": MODEL, "entity_version": "99"}]}},
        {"name": "e3", "config": {"served_entities": [{"entity_name": MODEL, "entity_version": "1"}],
                                  "traffic_config": {"routes": [{"served_model_name": "other", "traffic_percentage": 100}]}}},
        {"name": "e4", "config": {"served_entities": [{"entity_name": MODEL, "entity_version": "1",
                                                        "workload_size": "Huge"}]}},
    ]
    for body in bad:
        r = requests.post(f"{platform.url}/api/2.0/serving-endpoints", json=body, headers=h)
        assert r.status_code in (400, 404), (body, r.status_code, r.text)
        assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"), r.text
    r = requests.post(f"{platform.url}/serving-endpoints/nope/invocations", json={"inputs": X}, headers=h)
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert [e.name for e in w.serving_endpoints.list()] == []
