"""The hubspot connector against a local server that speaks HubSpot's CRM v3 wire format."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.support.connector_deployment import api_job, everything_said
from tests.support.fake_hubspot import TOKEN, FakeHubspot, contact, iso

CONTACT_FIELDS = [
    {"name": "id", "type": "string", "required": True},
    {"name": "email", "type": "string"},
    {"name": "firstname", "type": "string"},
    {"name": "lifecyclestage", "type": "string"},
    {"name": "createdate", "type": "timestamp"},
    {"name": "lastmodifieddate", "type": "timestamp", "required": True},
    {"name": "updated_at", "type": "timestamp"},
]
M0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z in ms


@pytest.fixture
def hubspot():
    with FakeHubspot({"contacts": [contact(i, M0 + i * 1000) for i in range(1, 6)]}) as api:
        yield api


def hubspot_job(deployment, api, **source):
    source = {"object": "contacts", "fields": {"updated_at": "updatedAt"}, **source}
    return api_job(deployment, "hubspot", api, "hubspot_contacts", CONTACT_FIELDS, **source)


def incremental(**extra):
    return {
        "incremental": {"cursor_field": "lastmodifieddate"},
        "mode": "merge",
        "merge_keys": ["id"],
        **extra,
    }


def test_full_load_lists_with_after_paging_and_flattens_properties(deployment, hubspot) -> None:
    run = deployment.run(hubspot_job(deployment, hubspot))
    assert run.result.exit_code == 0, run.result.error
    rows = deployment.rows("acme.contacts", "id")
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["email"] == "contact1@example.com" and rows[0]["lifecyclestage"] == "lead"
    modified = datetime.fromtimestamp((M0 + 1000) / 1000, timezone.utc)
    assert rows[0]["lastmodifieddate"] == modified and rows[0]["updated_at"] == modified

    calls = [r for r in hubspot.requests if r.method == "GET"]
    assert len(calls) == 3
    assert calls[0].query == {
        "limit": "2",
        "archived": "false",
        "properties": "email,firstname,lifecyclestage,createdate,lastmodifieddate",
    }
    # the opaque paging.next.after token of each page is sent back as is
    assert [c.query.get("after") for c in calls[1:]] == ["Mg==", "NA=="]
    assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in calls)
    assert run.result.metrics["api_pages"] == 3
    assert TOKEN not in everything_said(run)


def test_incremental_searches_beyond_the_cursor_and_merges_updates(deployment, hubspot) -> None:
    job = hubspot_job(deployment, hubspot, **incremental())
    first = deployment.run(job)
    assert first.result.exit_code == 0, first.result.error
    search = next(r for r in hubspot.requests if r.path.endswith("/search")).body
    assert search["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    (bound,) = search["filterGroups"][0]["filters"]  # the first run has no lower bound
    assert bound["operator"] == "LTE" and int(bound["value"]) <= (time.time() - 60) * 1000
    assert "email" in search["properties"] and search["limit"] == 2

    hubspot.modify("contacts", "2", M0 + 60_000, email="new2@example.com")
    hubspot.objects["contacts"].append(contact(6, M0 + 61_000))
    hubspot.requests.clear()
    second = deployment.run(job)
    assert second.result.exit_code == 0, second.result.error
    assert second.result.metrics["records_extracted"] == 2
    filters = hubspot.requests[0].body["filterGroups"][0]["filters"]
    # the boundary instant is re-read (issue 16)
    assert {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(M0 + 5000)} in filters
    rows = {r["id"]: r for r in deployment.rows("acme.contacts", "id")}
    assert len(rows) == 6 and rows["2"]["email"] == "new2@example.com"


def test_records_sharing_one_instant_across_pages_are_each_loaded_once(deployment) -> None:
    same = [contact(i, M0) for i in range(1, 6)] + [contact(6, M0 + 1), contact(7, M0 + 1)]
    with FakeHubspot({"contacts": same}) as api:
        run = deployment.run(hubspot_job(deployment, api, **incremental()))
    assert run.result.exit_code == 0, run.result.error
    assert [r["id"] for r in deployment.rows("acme.contacts", "id")] == [str(i) for i in range(1, 8)]
    assert run.result.metrics["records_extracted"] == 7


def test_records_edited_while_paging_do_not_shift_others_out(deployment, hubspot) -> None:
    """An offset walk would skip a record when an earlier one moves past the upper bound."""

    def edit_contact_1(request) -> None:
        searches = [r for r in hubspot.requests if r.path.endswith("/search")]
        if request.path.endswith("/search") and len(searches) == 1:
            hubspot.modify("contacts", "1", int(time.time() * 1000))

    hubspot.hooks.append(edit_contact_1)
    run = deployment.run(hubspot_job(deployment, hubspot, **incremental()))
    assert run.result.exit_code == 0, run.result.error
    assert [r["id"] for r in deployment.rows("acme.contacts", "id")] == ["1", "2", "3", "4", "5"]


def test_rate_limit_storm_and_a_page_that_fails_once(deployment, hubspot) -> None:
    hubspot.fail(429, times=3, retry_after="0")
    hubspot.fail(502, when=lambda r: r.query.get("after") == "Mg==")
    run = deployment.run(hubspot_job(deployment, hubspot))
    assert run.result.exit_code == 0, run.result.error
    metrics = run.result.metrics
    assert metrics["api_rate_limited"] == 3 and metrics["api_retries"] == 4 and metrics["api_calls"] == 7
    assert len(deployment.rows("acme.contacts", "id")) == 5


def test_exhausted_rate_limit_quotes_hubspots_error(deployment, hubspot) -> None:
    hubspot.fail(429, times=10, retry_after="0")
    run = deployment.run(hubspot_job(deployment, hubspot, max_attempts=2))
    assert run.result.exit_code == 2 and run.result.error_type == "RateLimitExceeded"
    assert "Rate limit exceeded" in run.result.error
    assert (
        "RATE_LIMITS: You have reached your ten_secondly_rolling limit. (correlationId " in run.result.error
    )


def test_a_validation_error_fails_at_once_with_category_and_correlation_id(deployment, hubspot) -> None:
    body = {
        "status": "error",
        "message": "Property values were not valid",
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "category": "VALIDATION_ERROR",
    }
    hubspot.fail(400, body=body)
    run = deployment.run(hubspot_job(deployment, hubspot))
    assert run.result.exit_code == 2 and run.result.error_type == "ApiError"
    assert (
        "hubspot API refused GET /crm/v3/objects/contacts with HTTP 400: VALIDATION_ERROR: "
        "Property values were not valid (correlationId aeb5f871-7f07-4993-9211-075dc63e7cbf)"
    ) in run.result.error
    assert run.result.metrics["api_calls"] == 1


def test_a_wrong_token_is_never_echoed(deployment, hubspot) -> None:
    hubspot.token = "pat-na1-another-token-0000"
    run = deployment.run(hubspot_job(deployment, hubspot))
    assert run.result.exit_code == 2 and "INVALID_AUTHENTICATION" in run.result.error
    assert TOKEN not in everything_said(run)


def test_companies_search_on_hs_lastmodifieddate(deployment) -> None:
    company = {
        "id": "10",
        "properties": {"name": "Acme", "hs_lastmodifieddate": iso(M0), "hs_object_id": "10"},
        "createdAt": iso(M0),
        "updatedAt": iso(M0),
        "archived": False,
    }
    fields = [
        {"name": "id", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "hs_lastmodifieddate", "type": "timestamp"},
    ]
    deployment.asset("companies", fields)
    deployment.secrets(HUBSPOT_ACCESS_TOKEN=TOKEN)
    with FakeHubspot({"companies": [company]}) as api:
        source = {
            "object": "companies",
            "base_url": api.base_url,
            "incremental": {"cursor_field": "hs_lastmodifieddate"},
        }
        run = deployment.run(deployment.job("hubspot", source, asset="companies", table="companies"))
        assert api.requests[0].body["sorts"][0]["propertyName"] == "hs_lastmodifieddate"
    assert run.result.exit_code == 0, run.result.error
    assert deployment.rows("acme.companies", "id")[0]["name"] == "Acme"


def test_a_cursor_that_is_not_the_last_modified_date_is_refused(deployment, hubspot) -> None:
    run = deployment.run(hubspot_job(deployment, hubspot, incremental={"cursor_field": "createdate"}))
    assert run.result.exit_code == 2 and run.result.error_type == "ConfigError"
    assert "HubSpot searches on 'lastmodifieddate'" in run.result.error
    assert hubspot.requests == []


@pytest.mark.parametrize("merge", [True, False], ids=["merge", "append"])
def test_a_contact_indexed_late_in_the_committed_millisecond_is_loaded_once(deployment, merge) -> None:
    """Issue 16: contacts modified in the same millisecond, one of them indexed after the run."""
    source = incremental() if merge else {"incremental": {"cursor_field": "lastmodifieddate"}}
    with FakeHubspot({"contacts": [contact(1, M0), contact(2, M0 + 5), contact(3, M0 + 5)]}) as api:
        job = hubspot_job(deployment, api, **source)
        assert deployment.run(job).result.exit_code == 0
        api.objects["contacts"] += [contact(4, M0 + 5), contact(5, M0 + 9)]
        second = deployment.run(job)
        assert second.result.exit_code == 0, second.result.error
        assert second.result.metrics["records_extracted"] == 2
        assert deployment.run(job).result.metrics["records_extracted"] == 0
    assert [r["id"] for r in deployment.rows("acme.contacts", "id")] == ["1", "2", "3", "4", "5"]


def test_a_failed_commit_between_runs_loses_no_boundary_contact(deployment) -> None:
    from tests.support.faults import faulty_catalog

    with FakeHubspot({"contacts": [contact(1, M0), contact(2, M0 + 5)]}) as api:
        assert deployment.run(hubspot_job(deployment, api, **incremental())).result.exit_code == 0
        api.objects["contacts"] += [contact(3, M0 + 5), contact(4, M0 + 9)]
        broken = faulty_catalog(
            deployment.home, "UnknownFailureCatalog", unknown_failures=10, table="contacts"
        )
        failed = deployment.run(hubspot_job(deployment, api, **incremental(), catalog=broken))
        assert failed.result.exit_code == 2
        assert [r["id"] for r in deployment.rows("acme.contacts", "id")] == ["1", "2"]
        again = deployment.run(hubspot_job(deployment, api, **incremental()))
        assert again.result.exit_code == 0, again.result.error
    assert [r["id"] for r in deployment.rows("acme.contacts", "id")] == ["1", "2", "3", "4"]
