"""The ``stripe`` connector: one list endpoint (customers, charges, invoices, subscriptions).

Wire format (Stripe API reference, "Pagination"): ``GET /v1/<object>?limit=N`` with
``Authorization: Bearer <secret key>`` answers ``{"object": "list", "data": [...],
"has_more": bool, "url": "/v1/<object>"}``, newest first; the next page is asked with
``starting_after=<id of the last object>``. Errors are ``{"error": {"type", "code",
"message", "param"}}``; ``Stripe-Should-Retry: true|false`` overrides whether a failure may
be retried.

Incremental loads filter on ``created`` (seconds since the epoch, set once when the object is
created): ``created[gte]`` the committed cursor (the engine skips the objects the last commit
recorded at that second, so one created in it but listed late is still loaded), and
``created[lt]`` the second the run started,
so the second still in progress is left for the next run and an object created in it after the
list call cannot fall behind the cursor. Objects only change after creation, so updates are not
picked up by incremental runs: use an overwrite load for that.

Subscriptions are listed with ``status=all`` (Stripe leaves out canceled ones by default) unless
``params`` says otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa

from airflow_provider_dativo.config.service_sources import StripeSourceSettings
from airflow_provider_dativo.engine.errors import ConfigError, SourceError
from airflow_provider_dativo.engine.sources.api.cursor import cursor_field, epoch_of
from airflow_provider_dativo.engine.sources.api.http import ApiClient, ApiDialect, json_error_text
from airflow_provider_dativo.engine.sources.api.records import RecordShaper, field_paths
from airflow_provider_dativo.engine.sources.api.stats import ApiStats
from airflow_provider_dativo.engine.sources.batched import RecordBatchSource

BATCH_RECORDS = 10_000
"""API records shaped into one table (a hundred full pages)."""
DEFAULT_PARAMS: dict[str, dict[str, str]] = {"subscriptions": {"status": "all"}}
CURSOR_PATH = ("created",)


class StripeSource(RecordBatchSource):
    """Reads one Stripe list endpoint page by page (see the module docstring)."""

    connector = "stripe"
    settings: StripeSourceSettings

    def configure(self) -> None:
        settings, asset = self.settings, self.asset
        paths = field_paths(asset, settings.fields, lambda name: (name,))
        self.shaper = RecordShaper(asset, paths, "s")
        incremental = settings.incremental
        if incremental is not None:
            cursor_field(asset, incremental.cursor_field, "stripe")
            if paths[incremental.cursor_field] != CURSOR_PATH:
                raise ConfigError(
                    f"source.incremental.cursor_field {incremental.cursor_field!r} reads "
                    f"{'.'.join(paths[incremental.cursor_field])!r}; Stripe lists filter on 'created' "
                    "only, so the cursor must be the field that holds created"
                )

    def describe(self) -> str:
        return f"stripe {self.settings.object}"

    def _params(self, after: pa.Scalar | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "limit": self.settings.page_size,
            **DEFAULT_PARAMS.get(self.settings.object, {}),
            **self.settings.params,
        }
        if self.settings.incremental is not None:
            params["created[lt]"] = int(time.time())
            if after is not None:
                params["created[gte]"] = epoch_of(after, "s")
        return params

    def _batches(self, after: pa.Scalar | None) -> Iterator[pa.Table]:
        path = f"/v1/{self.settings.object}"
        params = self._params(after)
        headers = {"Authorization": f"Bearer {self.settings.api_key}"}
        if self.settings.api_version:
            headers["Stripe-Version"] = self.settings.api_version
        with ApiClient(STRIPE, self.settings, headers, ApiStats(self.metrics), self.scrub) as client:
            buffer: list[dict[str, Any]] = []
            starting_after: str | None = None
            while True:
                page_params = {**params, "starting_after": starting_after} if starting_after else params
                data, has_more = self._list_page(client.page("GET", path, params=page_params), path)
                buffer.extend(data)
                if len(buffer) >= BATCH_RECORDS:
                    yield self.shaper.table(buffer)
                    buffer = []
                if not has_more:
                    break
                starting_after = _last_id(data, path)
            if buffer:
                yield self.shaper.table(buffer)

    def _list_page(self, body: dict[str, Any], path: str) -> tuple[list[dict[str, Any]], bool]:
        data, has_more = body.get("data"), body.get("has_more")
        if body.get("object") != "list" or not isinstance(data, list) or not isinstance(has_more, bool):
            raise SourceError(
                f"stripe API answered GET {path} with an object that is not a list page "
                f"(keys: {', '.join(sorted(body))})"
            )
        if not all(isinstance(item, dict) for item in data):
            raise SourceError(f"stripe API answered GET {path} with list items that are not objects")
        return data, has_more


def _last_id(data: list[dict[str, Any]], path: str) -> str:
    """``starting_after`` of the next page; a page that says there is more must end with an id."""
    last = data[-1].get("id") if data else None
    if not isinstance(last, str) or not last:
        raise SourceError(f"stripe API answered GET {path} with has_more but no object id to continue after")
    return last


def stripe_error_text(response: httpx.Response) -> str:
    """``<type>[/<code>]: <message>`` from Stripe's ``{"error": {...}}`` body."""

    def extract(body: dict[str, Any]) -> str | None:
        error = body.get("error")
        if not isinstance(error, dict) or not error.get("message"):
            return None
        kind = "/".join(str(error[k]) for k in ("type", "code") if error.get(k))
        param = f" (param {error['param']})" if error.get("param") else ""
        return f"{kind}: {error['message']}{param}" if kind else f"{error['message']}{param}"

    return json_error_text(response, extract)


def stripe_should_retry(response: httpx.Response) -> bool | None:
    """Stripe's own verdict (``Stripe-Should-Retry``), when it gives one."""
    verdict = response.headers.get("Stripe-Should-Retry", "").strip().lower()
    return {"true": True, "false": False}.get(verdict)


STRIPE = ApiDialect("stripe", stripe_error_text, stripe_should_retry)
