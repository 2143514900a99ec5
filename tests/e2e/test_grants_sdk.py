"""Grants enforced on every path, through the unmodified databricks-sdk: a service principal made
with SCIM and given a token by an admin can neither see nor read a table until it is granted
USE CATALOG, USE SCHEMA and SELECT (by SQL GRANT or the permissions API); then it can, through the
Statement Execution API and through a job task it owns; after REVOKE it cannot again. Writes need
MODIFY."""
from datetime import timedelta

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service import jobs
from databricks.sdk.service.catalog import PermissionsChange, Privilege
from databricks.sdk.service.sql import StatementState


@pytest.fixture(scope="module")
def setup(platform, w):
    wh = w.warehouses.create_and_wait(name="grants", cluster_size="2X-Small", timeout=timedelta(seconds=60)).id

    def admin_sql(sql):
        r = w.statement_execution.execute_statement(statement=sql, warehouse_id=wh, wait_timeout="30s")
        assert r.status.state == StatementState.SUCCEEDED, (sql, r.status)
        return r

    admin_sql("CREATE CATALOG IF NOT EXISTS sec")
    admin_sql("CREATE SCHEMA IF NOT EXISTS sec.hr")
    admin_sql("CREATE OR REPLACE TABLE sec.hr.salaries AS SELECT 'ann' AS name, 100 AS pay")
    sp = w.service_principals.create(display_name="etl-bot")
    token = w.token_management.create_obo_token(application_id=sp.application_id, lifetime_seconds=3600)
    bot = WorkspaceClient(host=platform.url, token=token.token_value, auth_type="pat")
    return wh, sp, bot, admin_sql


def denied(r):
    """A statement that failed for want of a privilege. (The SDK's ServiceErrorCode enum has no
    PERMISSION_DENIED, so it reads the code as None; the SQLSTATE and message say it.)"""
    return (r.status.state == StatementState.FAILED and r.status.sql_state == "42501"
            and "Insufficient privileges: User does not have" in r.status.error.message)


def bot_sql(bot, wh, sql):
    return bot.statement_execution.execute_statement(statement=sql, warehouse_id=wh, wait_timeout="30s")


def test_who_am_i(setup, w):
    wh, sp, bot, _ = setup
    assert bot.current_user.me().user_name == sp.application_id
    assert "admins" in [g.display for g in w.current_user.me().groups]


def test_no_select_is_permission_denied_and_reveals_nothing(setup, w):
    wh, sp, bot, admin_sql = setup
    r = bot_sql(bot, wh, "SELECT * FROM sec.hr.salaries")
    assert denied(r)
    assert "100" not in r.status.error.message and "ann" not in r.status.error.message
    assert "sec" not in [c.name for c in bot.catalogs.list()]
    with pytest.raises(PermissionDenied):
        bot.tables.get("sec.hr.salaries")
    r = bot_sql(bot, wh, "SHOW TABLES IN sec.hr")
    assert r.status.state == StatementState.FAILED or not (r.result and r.result.data_array)


def test_grant_then_read_then_revoke(setup, w):
    wh, sp, bot, admin_sql = setup
    me = sp.application_id
    admin_sql(f"GRANT USE CATALOG ON CATALOG sec TO `{me}`")
    w.grants.update("schema", "sec.hr", changes=[PermissionsChange(principal=me, add=[Privilege.USE_SCHEMA])])
    w.grants.update("table", "sec.hr.salaries", changes=[PermissionsChange(principal=me, add=[Privilege.SELECT])])
    got = w.grants.get("table", "sec.hr.salaries")
    assert [(a.principal, [p.value for p in a.privileges]) for a in got.privilege_assignments] == [(me, ["SELECT"])]
    eff = w.grants.get_effective("table", "sec.hr.salaries", principal=me)
    names = sorted(p.privilege.value for a in eff.privilege_assignments for p in a.privileges)
    assert names == ["SELECT", "USE_CATALOG", "USE_SCHEMA"]

    r = bot_sql(bot, wh, "SELECT pay FROM sec.hr.salaries")
    assert r.status.state == StatementState.SUCCEEDED and r.result.data_array == [["100"]]
    assert [t.name for t in bot.tables.list(catalog_name="sec", schema_name="hr")] == ["salaries"]
    # Reading is not writing.
    r = bot_sql(bot, wh, "INSERT INTO sec.hr.salaries VALUES ('bob', 1)")
    assert denied(r) and "MODIFY" in r.status.error.message
    r = bot_sql(bot, wh, "SHOW GRANTS ON TABLE sec.hr.salaries")
    assert r.status.state == StatementState.SUCCEEDED
    assert [me, "SELECT", "TABLE", "sec.hr.salaries"] in r.result.data_array

    admin_sql(f"REVOKE SELECT ON TABLE sec.hr.salaries FROM `{me}`")
    r = bot_sql(bot, wh, "SELECT pay FROM sec.hr.salaries")
    assert denied(r) and "SELECT" in r.status.error.message


def test_a_job_task_runs_as_its_owner(setup, w, platform):
    wh, sp, bot, admin_sql = setup
    me = sp.application_id
    sql = platform.data_dir / "read_salaries.sql"
    sql.write_text("SELECT count(*) FROM sec.hr.salaries")
    job = bot.jobs.create(name="bot job", tasks=[jobs.Task(task_key="read", sql_task=jobs.SqlTask(
        warehouse_id=wh, file=jobs.SqlTaskFile(path=str(sql))))])
    run = bot.jobs.run_now(job.job_id).result(timeout=timedelta(seconds=120))
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert "Insufficient privileges: User does not have" in run.tasks[0].state.state_message
    admin_sql(f"GRANT SELECT ON TABLE sec.hr.salaries TO `{me}`")
    # Even when an admin triggers it, the job runs as its owner, who now may read.
    run = w.jobs.run_now(job.job_id).result(timeout=timedelta(seconds=120))
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.tasks[0].state.state_message


def test_jobs_are_their_owners_and_run_as_is_an_admins_to_give(setup, w, platform):
    wh, sp, bot, admin_sql = setup
    sql = platform.data_dir / "count_salaries.sql"
    sql.write_text("SELECT count(*) FROM sec.hr.salaries")
    task = [jobs.Task(task_key="t", sql_task=jobs.SqlTask(warehouse_id=wh, file=jobs.SqlTaskFile(path=str(sql))))]
    mine = w.jobs.create(name="admin's job", tasks=task)
    # The admin's job runs as the admin: others may neither run nor change it.
    with pytest.raises(PermissionDenied):
        bot.jobs.run_now(mine.job_id)
    with pytest.raises(PermissionDenied):
        bot.jobs.update(mine.job_id, new_settings=jobs.JobSettings(name="taken"))
    with pytest.raises(PermissionDenied):
        bot.jobs.create(name="escalate", tasks=task, run_as=jobs.JobRunAs(user_name="dev@lakeplane.local"))
    # An admin may make a job run as the bot; it then reads what the bot may, no more.
    as_bot = w.jobs.create(name="as bot", tasks=task,
                           run_as=jobs.JobRunAs(service_principal_name=sp.application_id))
    assert w.jobs.get(as_bot.job_id).run_as_user_name == sp.application_id
    admin_sql(f"REVOKE SELECT ON TABLE sec.hr.salaries FROM `{sp.application_id}`")
    run = w.jobs.run_now(as_bot.job_id).result(timeout=timedelta(seconds=120))
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert "Insufficient privileges" in run.tasks[0].state.state_message
