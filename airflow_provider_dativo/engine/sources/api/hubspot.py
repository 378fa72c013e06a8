"""The ``hubspot`` connector: one CRM v3 object type (contacts, companies, deals).

Wire format (HubSpot developer docs, "CRM objects" and "Search"), with ``Authorization:
Bearer <private app access token>``:

* full loads list the objects: ``GET /crm/v3/objects/<object>?limit=N&properties=a,b&archived=
  false[&after=<token>]`` answers ``{"results": [...], "paging": {"next": {"after", "link"}}}``;
  no ``paging.next`` means the last page;
* incremental loads search: ``POST /crm/v3/objects/<object>/search`` with ``filterGroups`` on the
  last-modified property (``lastmodifieddate`` for contacts, ``hs_lastmodifieddate`` for the
  others: HubSpot's own naming), ``sorts`` ascending on it, ``properties``, ``limit`` and
  ``after``;
* errors are ``{"status": "error", "message", "correlationId", "category"}`` (429s carry
  ``"category": "RATE_LIMITS"``).

Every record is ``{"id", "properties": {...}, "createdAt", "updatedAt", "archived"}``. An asset
field named like a top-level key (``id``, ``createdAt``, ``updatedAt``, ``archived``,
``archivedAt``) reads it; any other field reads the property of its name. ``source.fields``
maps a field elsewhere (``created_at: createdAt``). Only the properties the asset reads (plus
``properties``) are requested.

An incremental load starts at the committed cursor itself (``GTE``): the engine skips the
records the last commit recorded at that instant, so one modified in it but indexed late is
still loaded. Search pages are **keyset** pages: each asks for records modified at or after the last one
seen, skipping the ids already emitted at that instant, instead of walking an offset. Records
edited while the run pages move past the run's upper bound instead of shifting the offsets (an
offset walk would silently skip records then), and the search API's cap of 10,000 results per
query never applies. Only more than 10,000 records modified in the very same millisecond would
need offsets beyond it. The upper bound is ``now - search_lag_seconds``: HubSpot's search index
trails writes, and a record indexed after a later-modified one would otherwise fall behind the
committed cursor.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import islice
from typing import Any

import httpx
import pyarrow as pa

from airflow_provider_dativo.config.service_sources import HubspotSourceSettings
from airflow_provider_dativo.engine.errors import ConfigError, SourceError
from airflow_provider_dativo.engine.sources.api.cursor import cursor_field, epoch_of
from airflow_provider_dativo.engine.sources.api.http import ApiClient, ApiDialect, json_error_text
from airflow_provider_dativo.engine.sources.api.records import Path, RecordShaper, field_paths
from airflow_provider_dativo.engine.sources.api.stats import ApiStats
from airflow_provider_dativo.engine.sources.batched import RecordBatchSource

BATCH_RECORDS = 10_000
TOP_LEVEL = ("id", "createdAt", "updatedAt", "archived", "archivedAt")
LAST_MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
RETRY_STATUSES = (423, 477)
"""Besides 429 and 5xx: 423 Locked (wait and retry) and 477 Migration in Progress (Retry-After)."""


def default_path(name: str) -> Path:
    return (name,) if name in TOP_LEVEL else ("properties", name)


class HubspotSource(RecordBatchSource):
    """Reads one HubSpot CRM object type (see the module docstring)."""

    connector = "hubspot"
    settings: HubspotSourceSettings

    def configure(self) -> None:
        settings, asset = self.settings, self.asset
        self.cursor_property = settings.cursor_property or LAST_MODIFIED[settings.object]
        paths = field_paths(asset, settings.fields, default_path)
        self.shaper = RecordShaper(asset, paths, "ms")
        wanted = [p[1] for p in paths.values() if len(p) == 2 and p[0] == "properties"]
        wanted += settings.properties
        incremental = settings.incremental
        if incremental is not None:
            cursor_field(asset, incremental.cursor_field, "hubspot")
            allowed = {("properties", self.cursor_property), ("updatedAt",)}
            if paths[incremental.cursor_field] not in allowed:
                raise ConfigError(
                    f"source.incremental.cursor_field {incremental.cursor_field!r} reads "
                    f"{'.'.join(paths[incremental.cursor_field])!r}; HubSpot searches on "
                    f"{self.cursor_property!r} (source.cursor_property), so the cursor must be the field "
                    f"that holds it (or updatedAt)"
                )
            wanted.append(self.cursor_property)
        self.properties = list(dict.fromkeys(wanted))

    def describe(self) -> str:
        return f"hubspot {self.settings.object}"

    def _batches(self, after: pa.Scalar | None) -> Iterator[pa.Table]:
        headers = {"Authorization": f"Bearer {self.settings.access_token}"}
        with ApiClient(HUBSPOT, self.settings, headers, ApiStats(self.metrics), self.scrub) as client:
            records = self._search(client, after) if self.settings.incremental else self._list(client)
            while chunk := list(islice(records, BATCH_RECORDS)):
                yield self.shaper.table(chunk)

    @property
    def _path(self) -> str:
        return f"/crm/v3/objects/{self.settings.object}"

    def _list(self, client: ApiClient) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "limit": self.settings.page_size,
            "archived": self.settings.archived,
            "properties": ",".join(self.properties),
        }
        after: str | None = None
        while True:
            body = client.page("GET", self._path, params={**params, "after": after} if after else params)
            yield from _results(body, f"GET {self._path}")
            after = _next_after(body)
            if after is None:
                return

    def _search(self, client: ApiClient, after: pa.Scalar | None) -> Iterator[dict[str, Any]]:
        """Keyset pages beyond ``after`` up to the lag bound (see the module docstring)."""
        where = f"POST {self._path}/search"
        upper = int((time.time() - self.settings.search_lag_seconds) * 1000)
        lower = epoch_of(after, "ms") if after is not None else None
        operator = "GTE"
        emitted_at_lower: set[str] = set()
        offset: str | None = None
        while True:
            query = self._search_body(upper, lower, operator, offset)
            body = client.page("POST", f"{self._path}/search", json=query)
            results = _results(body, where)
            for record in results:
                seen = lower is not None and str(record.get("id")) in emitted_at_lower
                if seen and self._modified(record) == lower:
                    continue
                yield record
            next_after = _next_after(body)
            if next_after is None or not results:
                return
            last = self._modified(results[-1])
            at_last = {str(r.get("id")) for r in results if self._modified(r) == last}
            if last != lower:  # move the window up to the last instant seen
                lower, operator, offset, emitted_at_lower = last, "GTE", None, at_last
            else:  # a whole page at one instant: walk it by offset
                emitted_at_lower |= at_last
                offset = next_after

    def _search_body(
        self, upper: int, lower: int | None, operator: str, offset: str | None
    ) -> dict[str, Any]:
        prop = self.cursor_property
        filters = [{"propertyName": prop, "operator": "LTE", "value": str(upper)}]
        if lower is not None:
            filters.append({"propertyName": prop, "operator": operator, "value": str(lower)})
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": self.settings.page_size,
        }
        if offset is not None:
            body["after"] = offset
        return body

    def _modified(self, record: dict[str, Any]) -> int:
        """The record's last-modified instant in epoch milliseconds."""
        properties = record.get("properties")
        value = properties.get(self.cursor_property) if isinstance(properties, dict) else None
        millis = _epoch_millis(value)
        if millis is None:
            raise SourceError(
                f"hubspot {self.settings.object} record {record.get('id')!r} has no usable "
                f"{self.cursor_property!r} ({value!r}); incremental loads sort and filter on it"
            )
        return millis


def _epoch_millis(value: Any) -> int | None:
    """HubSpot datetimes come as ISO-8601 text (``2019-10-30T03:30:17.883Z``) or epoch ms."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return epoch_of(pa.scalar(moment, pa.timestamp("us", tz="UTC")), "ms")


def _results(body: dict[str, Any], where: str) -> list[dict[str, Any]]:
    results = body.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise SourceError(
            f"hubspot API answered {where} without a list of results (keys: {', '.join(sorted(body))})"
        )
    return results


def _next_after(body: dict[str, Any]) -> str | None:
    """``paging.next.after``, or ``None`` on the last page."""
    paging = body.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    return str(after) if after not in (None, "") else None


def hubspot_error_text(response: httpx.Response) -> str:
    """``<category>: <message> (correlationId ...)`` from HubSpot's error body."""

    def extract(body: dict[str, Any]) -> str | None:
        message = body.get("message")
        if not message:
            return None
        category = body.get("category") or body.get("errorType")
        correlation = f" (correlationId {body['correlationId']})" if body.get("correlationId") else ""
        return f"{category}: {message}{correlation}" if category else f"{message}{correlation}"

    return json_error_text(response, extract)


def hubspot_should_retry(response: httpx.Response) -> bool | None:
    return True if response.status_code in RETRY_STATUSES else None


HUBSPOT = ApiDialect("hubspot", hubspot_error_text, hubspot_should_retry)
