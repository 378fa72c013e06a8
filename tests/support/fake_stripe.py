"""A fake Stripe API on loopback that speaks Stripe's documented wire format.

Served: ``GET /v1/{customers,charges,invoices,subscriptions}`` with ``limit`` (1-100, default
10), ``starting_after``/``ending_before`` (object ids), ``created[gt|gte|lt|lte]`` and each
endpoint's own filters; lists newest first as ``{"object": "list", "data": [...], "has_more":
bool, "url": "/v1/<object>"}``. Subscriptions leave out canceled ones unless ``status`` says
otherwise. Errors use Stripe's body ``{"error": {"type", "message", "code", "param"}}``:
401 without or with a wrong ``Authorization: Bearer`` key (the key masked as Stripe does),
400 for an unknown parameter, a bad limit or an unknown ``starting_after`` id, 404 for an
unknown URL.
"""

from __future__ import annotations

from typing import Any

from tests.support.fake_api import Answer, FakeApi, Recorded

API_KEY = "sk_test_51FakeDativoKey0123456789abcdef"
OBJECTS = {"customers": "cus", "charges": "ch", "invoices": "in", "subscriptions": "sub"}
COMMON_PARAMS = {"limit", "starting_after", "ending_before", "expand[]"}
CREATED_PARAMS = {"created", "created[gt]", "created[gte]", "created[lt]", "created[lte]"}
OWN_PARAMS = {
    "customers": {"email", "test_clock"},
    "charges": {"customer", "payment_intent", "transfer_group"},
    "invoices": {"customer", "status", "subscription", "collection_method"},
    "subscriptions": {"customer", "price", "status", "collection_method"},
}
_ERROR_TYPE = {429: "invalid_request_error", 500: "api_error", 502: "api_error", 503: "api_error"}
_ERROR_MESSAGE = {
    429: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
    500: "An unknown error occurred",
    503: "Stripe is temporarily unavailable.",
}


def customer(number: int, created: int, **fields: Any) -> dict[str, Any]:
    """A customer object as Stripe returns it."""
    return {
        "id": f"cus_{number:06d}",
        "object": "customer",
        "address": {"city": "Berlin", "country": "DE", "line1": f"Street {number}", "postal_code": "10115"},
        "balance": number * 10,
        "created": created,
        "currency": "eur",
        "delinquent": number % 5 == 0,
        "email": f"user{number}@example.com",
        "livemode": False,
        "metadata": {},
        "name": f"Customer {number}",
        **fields,
    }


class FakeStripe(FakeApi):
    """Stripe's list endpoints over ``objects`` (``{"customers": [...], ...}``)."""

    def __init__(
        self, objects: dict[str, list[dict[str, Any]]] | None = None, api_key: str = API_KEY
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.objects: dict[str, list[dict[str, Any]]] = {name: [] for name in OBJECTS}
        for name, items in (objects or {}).items():
            self.objects[name].extend(items)

    def error_body(self, status: int, message: str | None = None, **extra: Any) -> Any:
        error = {"type": _ERROR_TYPE.get(status, "invalid_request_error")}
        error["message"] = message or _ERROR_MESSAGE.get(status, f"HTTP {status}")
        if status == 429:
            error["code"] = "rate_limit"
        return {"error": {**error, **extra}}

    def _error(self, status: int, message: str, **extra: Any) -> Answer:
        return status, {}, self.error_body(status, message, **extra)

    def route(self, request: Recorded) -> Answer:
        auth = request.headers.get("authorization", "")
        if not auth:
            return self._error(401, "You did not provide an API key. Provide it in the Authorization header.")
        if auth != f"Bearer {self.api_key}":
            given = auth.removeprefix("Bearer ")
            masked = given[:8] + "*" * max(0, len(given) - 12) + given[-4:]
            return self._error(401, f"Invalid API Key provided: {masked}")
        name = request.path.removeprefix("/v1/")
        if request.method != "GET" or name not in OBJECTS:
            return self._error(404, f"Unrecognized request URL ({request.method}: {request.path}).")
        return self._list(name, request.query)

    def _list(self, name: str, query: dict[str, str]) -> Answer:
        allowed = COMMON_PARAMS | CREATED_PARAMS | OWN_PARAMS[name]
        for key in query:
            if key not in allowed:
                return self._error(400, f"Received unknown parameter: {key}", param=key)
        try:
            limit = int(query.get("limit", "10"))
        except ValueError:
            return self._error(400, f"Invalid integer: {query['limit']}", param="limit")
        if not 1 <= limit <= 100:
            return self._error(400, "This value must be less than or equal to 100.", param="limit")
        items = sorted(self.objects[name], key=lambda o: (o["created"], o["id"]), reverse=True)
        items = [o for o in items if self._matches(name, o, query)]
        if "starting_after" in query:
            ids = [o["id"] for o in items]
            if query["starting_after"] not in ids:
                singular = name.rstrip("s")
                return self._error(
                    400,
                    f"No such {singular}: '{query['starting_after']}'",
                    param="starting_after",
                    code="resource_missing",
                )
            items = items[ids.index(query["starting_after"]) + 1 :]
        page = items[:limit]
        body = {"object": "list", "data": page, "has_more": len(items) > limit, "url": f"/v1/{name}"}
        return 200, {"Request-Id": f"req_{len(self.requests):08d}"}, body

    @staticmethod
    def _matches(name: str, obj: dict[str, Any], query: dict[str, str]) -> bool:
        created = obj["created"]
        bounds = {
            "created[gt]": lambda v: created > v,
            "created[gte]": lambda v: created >= v,
            "created[lt]": lambda v: created < v,
            "created[lte]": lambda v: created <= v,
            "created": lambda v: created == v,
        }
        for key, test in bounds.items():
            if key in query and not test(int(query[key])):
                return False
        if name == "subscriptions":
            status = query.get("status")
            if status is None and obj.get("status") == "canceled":
                return False
            if status not in (None, "all") and obj.get("status") != status:
                return False
        return all(obj.get(key) == query[key] for key in ("customer", "email") if key in query)
