"""A fake HubSpot CRM v3 API on loopback that speaks HubSpot's documented wire format.

Served, with ``Authorization: Bearer <private app token>``:

* ``GET /crm/v3/objects/{contacts,companies,deals}`` with ``limit`` (max 100), ``after`` (an
  opaque token), ``properties`` (comma-separated) and ``archived``: ``{"results": [...],
  "paging": {"next": {"after", "link"}}}``, no ``paging`` on the last page;
* ``POST /crm/v3/objects/{object}/search`` with a JSON body of ``filterGroups`` (``EQ``,
  ``NEQ``, ``GT``, ``GTE``, ``LT``, ``LTE``, ``HAS_PROPERTY``; groups OR-ed, filters AND-ed),
  ``sorts`` (one), ``properties``, ``limit`` (max 200) and ``after`` (an offset; 10,000 results
  at most, as the real search): ``{"total", "results", "paging"}``.

Records are ``{"id", "properties": {...}, "createdAt", "updatedAt", "archived"}`` with every
property value a string (datetimes as ISO-8601 text), and only requested properties returned.
Errors use HubSpot's body ``{"status": "error", "message", "correlationId", "category"}``;
429s add ``"errorType": "RATE_LIMIT"`` and ``"policyName"``.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.fake_api import Answer, FakeApi, Recorded

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
OBJECTS = ("contacts", "companies", "deals")
SEARCH_LIMIT = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CATEGORY = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    404: "OBJECT_NOT_FOUND",
    429: "RATE_LIMITS",
}


def iso(millis: int) -> str:
    """Epoch milliseconds as HubSpot writes datetimes: ``2019-10-30T03:30:17.883Z``."""
    return (_EPOCH + timedelta(milliseconds=millis)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def millis_of(value: str) -> int:
    if value.isdigit():
        return int(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def contact(
    number: int, modified: int, created: int | None = None, **properties: str | None
) -> dict[str, Any]:
    """A contact as HubSpot returns it (``modified``/``created``: epoch milliseconds)."""
    created = modified if created is None else created
    props = {
        "createdate": iso(created),
        "email": f"contact{number}@example.com",
        "firstname": f"First{number}",
        "lastname": f"Last{number}",
        "hs_object_id": str(number),
        "lastmodifieddate": iso(modified),
        "lifecyclestage": "lead",
        **properties,
    }
    return {
        "id": str(number),
        "properties": props,
        "createdAt": iso(created),
        "updatedAt": iso(modified),
        "archived": False,
    }


class FakeHubspot(FakeApi):
    """HubSpot's CRM object and search endpoints over ``objects`` (``{"contacts": [...]}``)."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]] | None = None, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.objects: dict[str, list[dict[str, Any]]] = {name: [] for name in OBJECTS}
        for name, items in (objects or {}).items():
            self.objects[name].extend(items)

    def modify(self, name: str, object_id: str, at: int, **properties: str) -> None:
        """Change a record at ``at`` (epoch ms), as an edit in HubSpot would."""
        for record in self.objects[name]:
            if record["id"] == object_id:
                prop = "lastmodifieddate" if name == "contacts" else "hs_lastmodifieddate"
                record["properties"].update({prop: iso(at), **properties})
                record["updatedAt"] = iso(at)

    def error_body(self, status: int, message: str | None = None) -> Any:
        body: dict[str, Any] = {
            "status": "error",
            "message": message or f"HTTP {status}",
            "correlationId": str(uuid.uuid4()),
            "category": _CATEGORY.get(status, "INTERNAL_ERROR"),
        }
        if status == 429:
            body.update(
                message=message or "You have reached your ten_secondly_rolling limit.",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
            )
        return body

    def _error(self, status: int, message: str) -> Answer:
        return status, {}, self.error_body(status, message)

    def route(self, request: Recorded) -> Answer:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["crm", "v3", "objects"] or len(parts) not in (4, 5) or parts[3] not in OBJECTS:
            return self._error(404, f"Unable to route {request.method} {request.path}")
        name = parts[3]
        if len(parts) == 4 and request.method == "GET":
            return self._list(name, request)
        if len(parts) == 5 and parts[4] == "search" and request.method == "POST":
            return self._search(name, request)
        return self._error(405, f"{request.method} is not allowed on {request.path}")

    # --- list ---------------------------------------------------------------------------------

    def _list(self, name: str, request: Recorded) -> Answer:
        query = request.query
        limit = int(query.get("limit", "10"))
        if not 1 <= limit <= 100:
            return self._error(400, f"limit must be between 1 and 100, got {limit}")
        archived = query.get("archived", "false") == "true"
        items = sorted(
            (r for r in self.objects[name] if r["archived"] == archived), key=lambda r: int(r["id"])
        )
        offset = int(base64.urlsafe_b64decode(query["after"]).decode()) if query.get("after") else 0
        page = items[offset : offset + limit]
        wanted = [p for p in query.get("properties", "").split(",") if p]
        body: dict[str, Any] = {"results": [self._view(r, wanted) for r in page]}
        if offset + limit < len(items):
            token = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            link = f"{self.base_url}/crm/v3/objects/{name}?after={token}"
            body["paging"] = {"next": {"after": token, "link": link}}
        return 200, {}, body

    # --- search -------------------------------------------------------------------------------

    def _search(self, name: str, request: Recorded) -> Answer:
        body = request.body if isinstance(request.body, dict) else {}
        unknown = set(body) - {"filterGroups", "sorts", "properties", "limit", "after", "query"}
        if unknown:
            return self._error(400, f"Invalid input JSON: unknown fields {sorted(unknown)}")
        limit = int(body.get("limit", 10))
        if not 1 <= limit <= 200:
            return self._error(400, f"limit must be between 1 and 200, got {limit}")
        offset = int(body.get("after") or 0)
        if offset + limit > SEARCH_LIMIT:
            return self._error(400, f"The search endpoint returns at most {SEARCH_LIMIT} results")
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            return self._error(400, "Only one sort is allowed")
        items = [r for r in self.objects[name] if not r["archived"] and self._selected(r, body)]
        items.sort(key=lambda r: int(r["id"]))
        if sorts:
            sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": sorts[0]}
            prop = sort["propertyName"]
            items.sort(
                key=lambda r: _comparable(prop, r["properties"].get(prop)),
                reverse=sort.get("direction") == "DESCENDING",
            )
        page = items[offset : offset + limit]
        answer: dict[str, Any] = {
            "total": len(items),
            "results": [self._view(r, body.get("properties") or []) for r in page],
        }
        if offset + limit < len(items):
            answer["paging"] = {"next": {"after": str(offset + limit)}}
        return 200, {}, answer

    @staticmethod
    def _selected(record: dict[str, Any], body: dict[str, Any]) -> bool:
        groups = body.get("filterGroups") or []
        if not groups:
            return True
        return any(all(_passes(record, f) for f in group.get("filters", [])) for group in groups)

    @staticmethod
    def _view(record: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
        props = record["properties"]
        chosen = {p: props[p] for p in wanted if p in props}
        chosen.setdefault("hs_object_id", props.get("hs_object_id", record["id"]))
        return {**record, "properties": chosen}


def _comparable(prop: str, value: str | None) -> tuple[int, Any]:
    if value is None:
        return (1, 0)
    if prop.endswith("date"):
        return (0, millis_of(value))
    return (0, value)


def _passes(record: dict[str, Any], spec: dict[str, Any]) -> bool:
    prop, operator = spec["propertyName"], spec["operator"]
    raw = record["properties"].get(prop)
    if operator == "HAS_PROPERTY":
        return raw is not None
    if raw is None:
        return False
    left, right = _comparable(prop, raw)[1], _comparable(prop, str(spec.get("value")))[1]
    tests = {
        "EQ": left == right,
        "NEQ": left != right,
        "GT": left > right,
        "GTE": left >= right,
        "LT": left < right,
        "LTE": left <= right,
    }
    return tests[operator]
