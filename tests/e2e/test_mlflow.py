"""The real `mlflow` client (PyPI, 3.x) against `lakeplane dev`: experiments, runs, params, metrics,
a scikit-learn model logged through the artifact proxy, two registered versions, an alias, and the
model loaded back by alias, predicting what the trained model predicts."""
import os

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from conftest import TOKEN  # noqa: E402

MODEL = "sales_forecast"


@pytest.fixture(scope="module")
def tracking(platform):
    os.environ["MLFLOW_TRACKING_URI"] = platform.url
    os.environ["MLFLOW_TRACKING_TOKEN"] = TOKEN
    os.environ["MLFLOW_REGISTRY_URI"] = platform.url
    mlflow.set_tracking_uri(platform.url)
    mlflow.set_registry_uri(platform.url)
    yield MlflowClient(platform.url, platform.url)


def training_data(slope):
    x = np.arange(20, dtype=float).reshape(-1, 1)
    return x, slope * x.ravel() + 3.0


def train_and_log(slope, alpha):
    x, y = training_data(slope)
    model = LinearRegression().fit(x, y)
    with mlflow.start_run(run_name=f"slope-{slope}") as run:
        mlflow.log_param("alpha", alpha)
        mlflow.log_params({"slope": slope, "fit_intercept": True})
        for step, loss in enumerate([0.9, 0.5, 0.1]):
            mlflow.log_metric("loss", loss * slope, step=step)
        mlflow.log_metrics({"r2": model.score(x, y)})
        mlflow.set_tag("team", "forecasting")
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL,
                                        input_example=x[:2])
    return model, run, info


def test_log_register_alias_and_load_back(tracking):
    client = tracking
    experiment = mlflow.set_experiment("forecasting")
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}"
    assert mlflow.get_experiment_by_name("forecasting").experiment_id == experiment.experiment_id

    model1, run1, info1 = train_and_log(2.0, 0.5)
    model2, run2, info2 = train_and_log(5.0, 0.1)

    # Params, metrics (with history), tags as logged.
    got = client.get_run(run1.info.run_id)
    assert got.data.params == {"alpha": "0.5", "slope": "2.0", "fit_intercept": "True"}
    assert got.data.metrics["loss"] == pytest.approx(0.2)
    assert got.data.tags["team"] == "forecasting"
    assert got.info.status == "FINISHED"
    history = client.get_metric_history(run1.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    assert [m.value for m in history] == pytest.approx([1.8, 1.0, 0.2])

    # Search runs by metric and param.
    found = mlflow.search_runs([experiment.experiment_id], filter_string="params.alpha = '0.1'",
                               output_format="list")
    assert [r.info.run_id for r in found] == [run2.info.run_id]
    ordered = client.search_runs([experiment.experiment_id], order_by=["metrics.loss DESC"])
    assert [r.info.run_id for r in ordered] == [run2.info.run_id, run1.info.run_id]

    # Two versions of one registered model; an alias on the first.
    versions = sorted(client.search_model_versions(f"name='{MODEL}'"), key=lambda v: int(v.version))
    assert [v.version for v in versions] == ["1", "2"]
    assert versions[0].source == f"models:/{info1.model_id}"
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "challenger", "2")
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"
    assert client.get_registered_model(MODEL).aliases == {"champion": "1", "challenger": "2"}

    x, _ = training_data(1.0)
    champion = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    np.testing.assert_allclose(champion.predict(x), model1.predict(x))
    challenger = mlflow.pyfunc.load_model(f"models:/{MODEL}@challenger")
    np.testing.assert_allclose(challenger.predict(x), model2.predict(x))
    by_number = mlflow.sklearn.load_model(f"models:/{MODEL}/2")
    np.testing.assert_allclose(by_number.predict(x), model2.predict(x))

    # Moving the alias moves what loads.
    client.set_registered_model_alias(MODEL, "champion", "2")
    moved = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    np.testing.assert_allclose(moved.predict(x), model2.predict(x))


def test_registry_edits_and_errors(tracking):
    client = tracking
    name = "registry_edits"
    client.create_registered_model(name, tags={"owner": "ann"}, description="first")
    with pytest.raises(MlflowException) as exists:
        client.create_registered_model(name)
    assert exists.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.update_registered_model(name, description="second")
    assert client.get_registered_model(name).description == "second"
    v = client.create_model_version(name, "mlflow-artifacts:/somewhere/model", description="raw uri")
    assert v.version == "1" and v.status == "READY"
    client.set_model_version_tag(name, "1", "validated", "yes")
    assert client.get_model_version(name, "1").tags == {"validated": "yes"}
    client.delete_model_version_tag(name, "1", "validated")
    assert client.get_model_version(name, "1").tags == {}
    staged = client.transition_model_version_stage(name, "1", "Staging")
    assert staged.current_stage == "Staging"
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'registry_%'")] == [name]
    with pytest.raises(MlflowException) as bad_alias:
        client.set_registered_model_alias(name, "latest", "1")
    assert bad_alias.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as missing:
        client.get_model_version(name, "9")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model(name)
    with pytest.raises(MlflowException):
        client.get_registered_model(name)


def test_bad_input_is_refused_clearly(tracking):
    client = tracking
    run = client.create_run(mlflow.set_experiment("bounds").experiment_id)
    rid = run.info.run_id
    client.log_param(rid, "p", "1")
    with pytest.raises(MlflowException) as changed:
        client.log_param(rid, "p", "2")
    assert "Changing param values is not allowed" in str(changed.value)
    with pytest.raises(MlflowException) as long_value:
        client.log_param(rid, "big", "x" * 6001)
    assert long_value.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as bad_key:
        client.set_tag(rid, "../escape", "v")
    assert bad_key.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as bad_filter:
        client.search_runs([run.info.experiment_id], filter_string="metrics.loss >")
    assert bad_filter.value.error_code == "INVALID_PARAMETER_VALUE"
    # NaN travels as MLflow sends it.
    client.log_metric(rid, "nan_metric", float("nan"))
    assert np.isnan(client.get_run(rid).data.metrics["nan_metric"])
    client.set_terminated(rid)
    assert client.get_run(rid).info.status == "FINISHED"
