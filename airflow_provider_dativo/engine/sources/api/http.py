"""HTTP calls to a SaaS API: retries that honour ``Retry-After``, metrics, clean errors.

One :class:`ApiClient` serves one run of one API source. Each :meth:`ApiClient.page` call is
one logical page: the request is sent up to ``max_attempts`` times (tenacity) while the API
answers 429 or a 5xx, or cannot be reached. Between tries it waits what the API's
``Retry-After`` header says (seconds or an HTTP date), else ``backoff_seconds`` doubling per
try; never longer than ``max_retry_wait_seconds`` at once. Any other error status fails at
once, since asking again cannot fix a bad key or a bad parameter.

Errors carry the API's own message (each connector knows its error body) and a type that
retry rules can match: ``RateLimitExceeded`` (the text also says "API rate limit" and "Rate
limit exceeded"), ``ApiUnavailable``, ``ConnectionError``, ``TimeoutError`` (the text says
"Connection timeout") and ``ApiError``. The credential is scrubbed from every message.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from airflow_provider_dativo import __version__
from airflow_provider_dativo.config.service_sources import ApiSourceSettings
from airflow_provider_dativo.engine.errors import SourceError
from airflow_provider_dativo.engine.sources.api.stats import ApiStats

USER_AGENT = f"airflow-provider-dativo/{__version__}"


ERROR_TYPES = {
    "rate": "RateLimitExceeded",
    "server": "ApiUnavailable",
    "timeout": "TimeoutError",
    "connection": "ConnectionError",
}
"""``error_type`` of a failure that lasted through every try, by kind; any other refusal
(a 4xx but 429) is an ``ApiError`` at once."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: a number, or an HTTP date; ``None`` when
    absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass(eq=False)
class _Transient(Exception):
    """One try that may succeed when repeated."""

    kind: str
    """``rate`` (429), ``server`` (5xx or a connector's own retryable status), ``timeout``, ``connection``."""
    detail: str
    status: int | None = None
    retry_after: float | None = None


ErrorText = Callable[[httpx.Response], str]
RetryVerdict = Callable[[httpx.Response], "bool | None"]


def _no_verdict(response: httpx.Response) -> bool | None:
    return None


@dataclass(frozen=True)
class ApiDialect:
    """What differs from one API to the next in how it fails."""

    service: str
    error_text: ErrorText
    """The API's own error message, from its error body."""
    should_retry: RetryVerdict = _no_verdict
    """``True``/``False`` overrides the 429-and-5xx rule for a response; ``None`` keeps it."""


@dataclass(repr=False)
class ApiClient:
    """Pages of one API, for one run (see the module docstring). Use as a context manager.

    ``headers`` carry the credential: the client has no ``repr`` so it can never be printed.
    """

    dialect: ApiDialect
    settings: ApiSourceSettings
    headers: dict[str, str]
    stats: ApiStats
    scrub: Callable[[str], str]
    _http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.service = self.dialect.service
        self._http = httpx.Client(
            base_url=self.settings.base_url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **self.headers},
            timeout=httpx.Timeout(self.settings.timeout_seconds),
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def page(self, method: str, path: str, *, params: Any = None, json: Any = None) -> dict[str, Any]:
        """One page: the decoded JSON object the API answered, after retries if needed."""
        started = time.monotonic()
        response = self._send_with_retries(method, path, params, json)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceError(
                self.scrub(
                    f"{self.service} API answered {method} {path} with something that is not a JSON "
                    f"object: {response.text[:200]!r}"
                )
            )
        self.stats.page(time.monotonic() - started)
        return body

    def _send_with_retries(self, method: str, path: str, params: Any, json: Any) -> httpx.Response:
        attempts = self.settings.max_attempts
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=lambda _: self.stats.retry(),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send(method, path, params, json)
        except _Transient as failure:
            raise self._final_error(failure, method, path, attempts) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """``Retry-After`` when the API sent one, else the doubling backoff; capped."""
        failure = state.outcome.exception() if state.outcome else None
        cap = self.settings.max_retry_wait_seconds
        if isinstance(failure, _Transient) and failure.retry_after is not None:
            return min(failure.retry_after, cap)
        return min(self.settings.backoff_seconds * 2 ** (state.attempt_number - 1), cap)

    def _send(self, method: str, path: str, params: Any, json: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.TimeoutException:
            self.stats.call(None)
            raise _Transient("timeout", f"no answer within {self.settings.timeout_seconds:g} s") from None
        except httpx.TransportError as exc:
            self.stats.call(None)
            raise _Transient("connection", f"{type(exc).__name__}: {exc}") from None
        self.stats.call(response.status_code)
        if response.is_success:
            return response
        status = response.status_code
        verdict = self.dialect.should_retry(response)
        retryable = verdict if verdict is not None else status == 429 or status >= 500
        detail = self.dialect.error_text(response)
        if retryable:
            kind = "rate" if status == 429 else "server"
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(kind, detail, status, wait)
        refused = f"{self.service} API refused {method} {path} with HTTP {status}: {detail}"
        raise SourceError(self.scrub(refused), error_type="ApiError")

    def _final_error(self, failure: _Transient, method: str, path: str, attempts: int) -> SourceError:
        call = f"{method} {path}, {attempts} attempt{'s' if attempts != 1 else ''}"
        if failure.kind == "rate":
            text = f"{self.service} API rate limit: Rate limit exceeded ({call}, HTTP 429): {failure.detail}"
        elif failure.kind == "server":
            text = f"{self.service} API answered HTTP {failure.status} ({call}): {failure.detail}"
        elif failure.kind == "timeout":
            text = f"{self.service} API: Connection timeout, {failure.detail} ({call})"
        else:
            where = f"{self.service} API at {self.settings.base_url}"
            text = f"{where} cannot be reached ({call}): {failure.detail}"
        return SourceError(self.scrub(text), error_type=ERROR_TYPES[failure.kind])


def json_error_text(response: httpx.Response, extract: Callable[[dict[str, Any]], str | None]) -> str:
    """The API's own error message (``extract`` knows its body), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = extract(body)
        if text:
            return text
    return response.text[:300] or response.reason_phrase
