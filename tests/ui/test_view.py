"""The Dativo view on Airflow's own api-server app: auth, per-user DAGs, the numbers, no secrets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from airflow_provider_dativo.dag_factory import build_dags
from tests.support.history import Run, insert_runs, sync_dags, write_runner

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SECRET = "pw-Zq81-never-show-me"
SCHEDULES = [
    {
        "name": "zeta_orders",
        "tenant": "zeta",
        "table": "orders",
        "cron": "0 * * * *",
        "freshness_minutes": 30,
        "maintenance": {"cron": "0 4 * * *"},
    },
    {"name": "zeta_returns", "tenant": "zeta", "table": "returns", "cron": "0 3 * * *"},
    {"name": "omega_events", "tenant": "omega", "table": "events", "interval_seconds": 900},
]


def history() -> list[Run]:
    hour = timedelta(hours=1)
    return [
        # zeta_orders: three runs in the last day (one failed), one 3 days ago
        Run("zeta_orders", NOW - 1 * hour, "success", 10.0, 100, 2, "zeta.orders"),
        Run("zeta_orders", NOW - 2 * hour, "failed", 4.0, 0, 0, "zeta.orders"),
        Run("zeta_orders", NOW - 3 * hour, "success", 16.0, 50, 0, "zeta.orders"),
        Run("zeta_orders", NOW - 72 * hour, "success", 20.0, 1000, 0, "zeta.orders"),
        # zeta_orders__maintenance: a failed maintenance run, which is no ingestion run
        Run("zeta_orders__maintenance", NOW - 2 * hour, "failed", 60.0, 0, 0, "zeta.orders"),
        # zeta_returns: one run 5 hours ago whose metrics carry free text with a secret
        Run("zeta_returns", NOW - 5 * hour, "success", 30.0, 7, 1, "zeta.returns", {"error": f"pw={SECRET}"}),
        # omega_events: two runs, both fine
        Run("omega_events", NOW - 1 * hour, "success", 2.0, 40, 0, "omega.events"),
        Run("omega_events", NOW - 4 * hour, "success", 4.0, 60, 5, "omega.events"),
    ]


@pytest.fixture(scope="module")
def api(airflow_db, tmp_path_factory: pytest.TempPathFactory):
    """Airflow's api-server app (with the plugin mounted) on the session's database."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", "tests.support.tenant_auth_manager.TenantAuthManager")
    monkeypatch.setenv(
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,zeta_viewer:viewer,zeta+omega_viewer:viewer"
    )
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "dativo-view-test-secret-0123456789abcdef")
    root = tmp_path_factory.mktemp("view")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(root / "passwords.json"))
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    dags = build_dags(write_runner(root, SCHEDULES), cache_dir="off")
    with create_session() as session:
        sync_dags(dags.values(), session)
        insert_runs(session, history())
        session.add(Connection(conn_id="dativo_zeta_stripe_api_key", conn_type="generic", password=SECRET))
    app = create_app()
    manager = get_auth_manager()

    def token(username: str, role: str) -> str:
        return manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))

    with TestClient(app) as client:
        yield client, token
    monkeypatch.undo()


ALL_MINE = ("zeta+omega_viewer", "viewer")
"""A user who reads exactly this module's DAGs (the session's database holds other tests' runs)."""


def summary(api, username=ALL_MINE[0], role=ALL_MINE[1], **params) -> dict:
    client, token = api
    response = client.get(
        "/dativo/api/summary", params=params, headers={"Authorization": f"Bearer {token(username, role)}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_plugin_is_registered_through_the_entry_point() -> None:
    from airflow import plugins_manager

    plugins, _ = plugins_manager._get_plugins()
    dativo = next(p for p in plugins if p.name == "dativo")
    assert dativo.fastapi_apps[0]["url_prefix"] == "/dativo"
    (view,) = dativo.external_views
    assert (view["name"], view["destination"], view["href"]) == ("Dativo", "nav", "/dativo/")


def test_the_page_is_in_the_ui_navigation_and_served(api) -> None:
    client, token = api
    headers = {"Authorization": f"Bearer {token('admin', 'admin')}"}
    plugins = client.get("/api/v2/plugins", headers=headers).json()["plugins"]
    views = [v for p in plugins if p["name"] == "dativo" for v in p["external_views"]]
    assert views and views[0]["url_route"] == "dativo"
    page = client.get("/dativo/")
    assert page.status_code == 200 and "api/summary" in page.text and "<title>Dativo</title>" in page.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Cookie": "_token=forged.token.value"}],
    ids=["nothing", "bad-bearer", "bad-cookie"],
)
def test_the_api_refuses_anyone_who_is_not_an_airflow_user(api, headers) -> None:
    client, _ = api
    response = client.get("/dativo/api/summary", headers=headers)
    assert response.status_code == 401
    assert "tasks_ok" not in response.text


def test_the_ui_cookie_is_accepted(api) -> None:
    client, token = api
    response = client.get("/dativo/api/summary", cookies={"_token": token(*ALL_MINE)})
    assert response.status_code == 200 and response.json()["tasks_ok"] == 5


def test_kpis_count_the_window(api) -> None:
    day = summary(api)
    # last 24 h: zeta_orders 3 runs (1 failed), zeta_returns 1, omega_events 2
    assert (day["tasks_ok"], day["tasks_failed"]) == (5, 1)
    assert day["error_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert day["avg_duration_seconds"] == pytest.approx((10 + 4 + 16 + 30 + 2 + 4) / 6, abs=1e-3)
    assert (day["rows_loaded"], day["rows_rejected"]) == (100 + 50 + 7 + 40 + 60, 2 + 1 + 5)
    week = summary(api, hours=24 * 7)
    assert (week["tasks_ok"], week["rows_loaded"]) == (6, day["rows_loaded"] + 1000)
    assert summary(api, hours=0.5)["tasks_ok"] == 0


def test_tenants_recent_runs_schedules_and_tables(api) -> None:
    data = summary(api)
    tenants = {t["tenant"]: t for t in data["tenants"]}
    assert tenants["zeta"] == {
        "tenant": "zeta",
        "runs": 4,
        "tasks": 4,
        "error_rate": 0.25,
        "avg_latency_seconds": pytest.approx((10 + 4 + 16 + 30) / 4, abs=1e-3),
        "rows_loaded": 157,
        "rows_rejected": 3,
    }
    assert (tenants["omega"]["runs"], tenants["omega"]["error_rate"], tenants["omega"]["rows_loaded"]) == (
        2,
        0.0,
        100,
    )

    runs = data["recent_runs"]
    assert [r["dag_id"] for r in runs[:2]] == ["zeta_orders", "omega_events"] or [
        r["dag_id"] for r in runs[:2]
    ] == ["omega_events", "zeta_orders"]
    failed = next(r for r in runs if r["status"] == "failed")
    assert (failed["dag_id"], failed["duration_seconds"]) == ("zeta_orders", 4.0)
    assert (
        failed["url"] == f"/dags/zeta_orders/runs/{failed['run_id'].replace(':', '%3A').replace('+', '%2B')}"
    )

    schedules = {s["dag_id"]: s for s in data["schedules"]}
    assert (schedules["zeta_orders"]["success"], schedules["zeta_orders"]["failed"]) == (2, 1)
    assert (
        schedules["zeta_orders"]["last_status"] == "success"
        and schedules["zeta_orders"]["url"] == "/dags/zeta_orders"
    )

    tables = {t["table"]: t for t in data["tables"]}
    assert set(tables) == {"zeta.orders", "zeta.returns", "omega.events"}
    assert tables["zeta.orders"]["rows_added"] == 150 and tables["zeta.orders"]["freshness_minutes"] == 30
    assert tables["zeta.returns"]["freshness_minutes"] is None
    last = datetime.fromisoformat(tables["zeta.orders"]["last_snapshot_at"].replace("Z", "+00:00"))
    assert last == NOW - timedelta(hours=1) + timedelta(seconds=10)
    assert not any(t["late"] for t in data["tables"])

    days = {(d["day"], d["tenant"]): d for d in data["daily"]}
    assert sum(d["rows_loaded"] for d in days.values()) == data["rows_loaded"]


def test_a_user_counts_only_the_dags_they_may_read(api) -> None:
    data = summary(api, username="zeta_viewer", role="viewer")
    assert {s["dag_id"] for s in data["schedules"]} == {"zeta_orders", "zeta_returns"}, (
        "a maintenance DAG is not an ingestion schedule"
    )
    assert [t["tenant"] for t in data["tenants"]] == ["zeta"]
    assert (data["tasks_ok"], data["tasks_failed"], data["rows_loaded"]) == (3, 1, 157)
    assert {t["table"] for t in data["tables"]} == {"zeta.orders", "zeta.returns"}
    assert all(r["dag_id"].startswith("zeta_") for r in data["recent_runs"])


def test_no_secret_or_connection_value_appears(api) -> None:
    for hours in (24, 24 * 30):
        text = json.dumps(summary(api, hours=hours))
        assert SECRET not in text and "pw=" not in text


def test_a_missed_freshness_deadline_shows_the_table_late(api) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.models.deadline import Deadline
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        latest = session.scalars(
            select(DagRun).where(DagRun.dag_id == "zeta_orders").order_by(DagRun.run_after.desc()).limit(1)
        ).one()
        deadline = Deadline(
            deadline_time=latest.run_after + timedelta(minutes=30),
            callback=AsyncCallback("airflow_provider_dativo.freshness.callback.freshness_missed"),
            dagrun_id=latest.id,
            deadline_alert_id=None,
            dag_id="zeta_orders",
        )
        deadline.missed = True
        session.add(deadline)
    try:
        tables = {t["table"]: t for t in summary(api)["tables"]}
        assert tables["zeta.orders"]["late"] is True
        assert tables["zeta.returns"]["late"] is False and tables["omega.events"]["late"] is False
    finally:
        with create_session() as session:
            session.delete(session.get(Deadline, deadline.id))


def test_hours_must_be_a_positive_window(api) -> None:
    client, token = api
    headers = {"Authorization": f"Bearer {token('admin', 'admin')}"}
    assert client.get("/dativo/api/summary", params={"hours": 0}, headers=headers).status_code == 422
    assert client.get("/dativo/api/summary", params={"hours": "x"}, headers=headers).status_code == 422
