"""The stripe connector against a local server that speaks Stripe's wire format."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.support.connector_deployment import api_job, everything_said
from tests.support.fake_stripe import API_KEY, FakeStripe, customer

CUSTOMER_FIELDS = [
    {"name": "id", "type": "string", "required": True, "pattern": "^cus_"},
    {"name": "email", "type": "string"},
    {"name": "created", "type": "timestamp", "required": True},
    {"name": "delinquent", "type": "boolean"},
    {"name": "balance", "type": "long"},
    {"name": "address_country", "type": "string"},
]
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


@pytest.fixture
def stripe():
    with FakeStripe({"customers": [customer(i, T0 + i) for i in range(1, 6)]}) as api:
        yield api


def stripe_job(deployment, api, **source):
    fields = {"address_country": "address.country"}
    source = {"object": "customers", "fields": fields, **source}
    return api_job(deployment, "stripe", api, "stripe_customers", CUSTOMER_FIELDS, **source)


def list_calls(api):
    return [r for r in api.requests if r.path == "/v1/customers"]


def test_full_load_pages_with_limit_and_starting_after(deployment, stripe) -> None:
    run = deployment.run(stripe_job(deployment, stripe))
    assert run.result.exit_code == 0, run.result.error
    rows = deployment.rows("acme.customers", "id")
    assert [r["id"] for r in rows] == [f"cus_{i:06d}" for i in range(1, 6)]
    assert rows[0]["created"] == datetime.fromtimestamp(T0 + 1, timezone.utc)
    assert rows[0]["address_country"] == "DE" and rows[0]["balance"] == 10
    assert rows[4]["delinquent"] is True and rows[0]["delinquent"] is False

    calls = list_calls(stripe)
    assert [c.query.get("starting_after") for c in calls] == [None, "cus_000004", "cus_000002"]
    assert all(c.query["limit"] == "2" and c.headers["authorization"] == f"Bearer {API_KEY}" for c in calls)
    assert all(c.headers["user-agent"].startswith("airflow-provider-dativo/") for c in calls)
    metrics = run.result.metrics
    assert metrics["api_calls"] == 3 and metrics["api_pages"] == 3 and metrics["api_retries"] == 0
    assert len(metrics["api_page_timings"]) == 3
    assert set(metrics["api_page_seconds"]) == {"total", "mean", "p50", "p95", "max"}
    assert list(metrics)[:10][-1] == "records_per_second"  # the contract's keys come first
    assert API_KEY not in everything_said(run)


def test_incremental_asks_for_created_beyond_the_cursor(deployment, stripe) -> None:
    job = stripe_job(deployment, stripe, incremental={"cursor_field": "created"})
    first = deployment.run(job)
    assert first.result.exit_code == 0, first.result.error
    assert first.result.metrics["records_valid"] == 5
    assert first.result.metrics["cursor_after"] == datetime.fromtimestamp(T0 + 5, timezone.utc).isoformat()

    stripe.objects["customers"] += [customer(6, T0 + 100), customer(7, T0 + 101)]
    started = int(time.time())
    second = deployment.run(job)
    assert second.result.exit_code == 0, second.result.error
    assert second.result.metrics["records_extracted"] == 2
    query = list_calls(stripe)[-1].query
    assert query["created[gte]"] == str(T0 + 5)  # the boundary second is re-read (issue 16)
    assert started <= int(query["created[lt]"]) <= int(time.time())
    assert len(deployment.rows("acme.customers", "id")) == 7


def test_rate_limit_storm_is_ridden_out(deployment, stripe) -> None:
    stripe.fail(429, times=4, retry_after="0")
    run = deployment.run(stripe_job(deployment, stripe))
    assert run.result.exit_code == 0, run.result.error
    metrics = run.result.metrics
    assert metrics["api_rate_limited"] == 4 and metrics["api_retries"] == 4
    assert metrics["api_calls"] == 7 and metrics["api_pages"] == 3
    assert len(deployment.rows("acme.customers", "id")) == 5


def test_retry_after_is_honoured_over_the_backoff(deployment, stripe) -> None:
    stripe.fail(429, retry_after="1")
    run = deployment.run(stripe_job(deployment, stripe, backoff_seconds=30))
    assert run.result.exit_code == 0, run.result.error
    limited, retried = list_calls(stripe)[:2]
    assert limited.status == 429 and retried.status == 200
    assert 0.95 <= retried.at - limited.at < 10  # Retry-After: 1, not the 30 s backoff


def test_a_page_that_fails_once_is_fetched_again_without_duplicates(deployment, stripe) -> None:
    stripe.fail(500, when=lambda r: r.query.get("starting_after") == "cus_000004")
    run = deployment.run(stripe_job(deployment, stripe))
    assert run.result.exit_code == 0, run.result.error
    assert [c.status for c in list_calls(stripe)] == [200, 500, 200, 200]
    assert [r["id"] for r in deployment.rows("acme.customers", "id")] == [f"cus_{i:06d}" for i in range(1, 6)]


def test_endless_rate_limit_fails_with_a_retryable_message(deployment, stripe) -> None:
    stripe.fail(429, times=100, retry_after="0")
    run = deployment.run(stripe_job(deployment, stripe, max_attempts=3))
    assert run.result.exit_code == 2 and run.result.error_type == "RateLimitExceeded"
    assert "API rate limit" in run.result.error and "Rate limit exceeded" in run.result.error
    assert "Request rate limit exceeded" in run.result.error  # Stripe's own message
    assert run.result.metrics["api_calls"] == 3 and run.result.metrics["api_rate_limited"] == 3


def test_a_refused_key_fails_at_once_and_is_never_repeated(deployment, stripe) -> None:
    echoed = {"error": {"type": "invalid_request_error", "message": f"Invalid API Key provided: {API_KEY}"}}
    stripe.fail(401, body=echoed)
    job = stripe_job(deployment, stripe)
    run = deployment.run(job)
    assert run.result.exit_code == 2 and run.result.error_type == "ApiError"
    assert (
        "HTTP 401" in run.result.error
        and "invalid_request_error: Invalid API Key provided: ***" in run.result.error
    )
    assert run.result.metrics["api_calls"] == 1  # a 401 is not retried
    assert API_KEY not in everything_said(run)


def test_stripe_should_retry_false_is_obeyed(deployment, stripe) -> None:
    stripe.fail(503, headers={"Stripe-Should-Retry": "false"})
    run = deployment.run(stripe_job(deployment, stripe))
    assert run.result.exit_code == 2 and run.result.error_type == "ApiError"
    assert "HTTP 503" in run.result.error and "Stripe is temporarily unavailable" in run.result.error
    assert run.result.metrics["api_calls"] == 1


def test_subscriptions_include_canceled_ones(deployment) -> None:
    subs = [
        {"id": "sub_1", "object": "subscription", "created": T0, "status": "active", "customer": "cus_1"},
        {
            "id": "sub_2",
            "object": "subscription",
            "created": T0 + 1,
            "status": "canceled",
            "customer": "cus_2",
        },
    ]
    deployment.asset("subs", [{"name": "id", "type": "string"}, {"name": "status", "type": "string"}])
    deployment.secrets(STRIPE_API_KEY=API_KEY)
    with FakeStripe({"subscriptions": subs}) as api:
        source = {"object": "subscriptions", "base_url": api.base_url}
        run = deployment.run(deployment.job("stripe", source, asset="subs", table="subs"))
        assert api.requests[0].query["status"] == "all"
    assert run.result.exit_code == 0, run.result.error
    assert [r["status"] for r in deployment.rows("acme.subs", "id")] == ["active", "canceled"]


def test_unreachable_api_is_a_connection_error(deployment, stripe) -> None:
    job = stripe_job(deployment, stripe, base_url="http://127.0.0.1:9", max_attempts=2)
    run = deployment.run(job)
    assert run.result.exit_code == 2 and run.result.error_type == "ConnectionError"
    assert "cannot be reached" in run.result.error and run.result.metrics["api_calls"] == 2


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"incremental": {"cursor_field": "balance"}}, "Stripe lists filter on 'created' only"),
        (
            {"fields": {"nope": "x"}},
            "source.fields maps 'nope', which asset 'stripe_customers' does not have",
        ),
        ({"incremental": {"cursor_field": "email"}}, "'email' is string; a stripe cursor is a timestamp"),
    ],
)
def test_settings_that_cannot_work_are_config_errors(deployment, stripe, source, message) -> None:
    run = deployment.run(stripe_job(deployment, stripe, **source))
    assert run.result.exit_code == 2 and run.result.error_type == "ConfigError"
    assert message in run.result.error
    assert stripe.requests == []  # nothing was asked of the API


def test_a_customer_listed_late_in_the_committed_second_is_loaded_once(deployment) -> None:
    """Issue 16: two customers created in one second; a third created in it shows up later."""
    with FakeStripe({"customers": [customer(i, T0 + min(i, 2)) for i in range(1, 4)]}) as api:
        job = stripe_job(deployment, api, incremental={"cursor_field": "created"})
        assert deployment.run(job).result.exit_code == 0
        api.objects["customers"] += [customer(4, T0 + 2), customer(5, T0 + 9)]
        second = deployment.run(job)
        assert second.result.exit_code == 0, second.result.error
        assert second.result.metrics["records_extracted"] == 2
        assert deployment.run(job).result.metrics["records_extracted"] == 0
    ids = [r["id"] for r in deployment.rows("acme.customers", "id")]
    assert ids == [f"cus_{i:06d}" for i in range(1, 6)]
