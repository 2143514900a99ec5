"""SQL warehouses on clusters of their own (what `WarehouseCompute=clusters` does on AWS), in
`lakeplane dev --warehouses-on-clusters`: the platform's workers serve no warehouse; each warehouse
starts a cluster whose nodes run its statements, and stopping the warehouse terminates it."""
from datetime import timedelta

import pytest
from databricks.sdk.service import compute, sql

from conftest import Platform
from test_clusters_sdk import exactly, node_processes, wait_for


@pytest.fixture(scope="module")
def platform():
    p = Platform("--workers", "1", "--slots", "2", "--reconcile-ms", "300", "--warehouses-on-clusters")
    yield p
    p.close()


@pytest.fixture(scope="module")
def w(platform):
    return platform.client()


def test_a_warehouse_runs_on_its_own_cluster(w):
    wh = w.warehouses.create(name="on a cluster", cluster_size="X-Small", max_num_clusters=1,
                             auto_stop_mins=10).result(timeout=timedelta(seconds=60))
    assert wh.state == sql.State.RUNNING
    clusters = [c for c in w.clusters.list() if c.cluster_source == compute.ClusterSource.SQL]
    assert len(clusters) == 1
    c = clusters[0]
    assert c.state == compute.State.RUNNING and c.num_workers == 1  # X-Small: a driver and a worker
    nodes = wait_for("the warehouse's nodes", lambda: exactly(c.cluster_id, 2))
    r = w.statement_execution.execute_statement(warehouse_id=wh.id, statement="SELECT 6 * 7 AS answer",
                                                wait_timeout="30s")
    assert r.status.state == sql.StatementState.SUCCEEDED, r.status
    assert r.result.data_array == [["42"]]
    w.warehouses.stop(wh.id).result(timeout=timedelta(seconds=60))
    ended = wait_for("the cluster to end", lambda: (x := w.clusters.get(c.cluster_id)).state == compute.State.TERMINATED and x)
    assert ended.termination_reason.code == compute.TerminationReasonCode.USER_REQUEST
    wait_for("its nodes to go", lambda: not any(p in node_processes(c.cluster_id) for p in nodes))
    # Starting it again makes its next cluster.
    w.warehouses.start(wh.id).result(timeout=timedelta(seconds=60))
    again = [x for x in w.clusters.list() if x.cluster_source == compute.ClusterSource.SQL and x.state == compute.State.RUNNING]
    assert len(again) == 1 and again[0].cluster_id != c.cluster_id
    w.warehouses.delete(wh.id)
    wait_for("the second cluster to end",
             lambda: w.clusters.get(again[0].cluster_id).state == compute.State.TERMINATED)
