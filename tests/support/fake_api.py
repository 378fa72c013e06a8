"""A JSON API on loopback, in a thread: the base of the fake SaaS servers the connector tests use.

Why a real HTTP server rather than a mocked client: the connectors' wire behaviour (query
strings, headers, JSON bodies, status codes, ``Retry-After``) is what is under test, so the
requests go through httpx, a socket and a real HTTP parser. Subclasses answer the routes of one
API in its documented format; this class records every request and injects faults:

    with FakeStripe() as api:
        api.fail(429, times=5, retry_after="0")           # a rate-limit storm
        api.fail(500, when=lambda r: "starting_after" in r.query)  # one page fails once
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], Any]
"""Status, extra headers, JSON body."""


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)
    status: int = 0


@dataclass
class Fault:
    status: int
    times: int
    when: Callable[[Recorded], bool] | None
    headers: dict[str, str]
    body: Any


class FakeApi:
    """Serves ``route`` on 127.0.0.1 (a free port) until stopped; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.hooks: list[Callable[[Recorded], None]] = []
        """Called with every request before it is answered (e.g. to change data mid-run)."""
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    # --- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        when: Callable[[Recorded], bool] | None = None,
        retry_after: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests matching ``when`` with ``status`` (and the API's
        error body for it unless ``body`` is given) instead of serving them."""
        headers = dict(headers or {})
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        with self._lock:
            self._faults.append(Fault(status, times, when, headers, body))

    def _fault_for(self, request: Recorded) -> Answer | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and (fault.when is None or fault.when(request)):
                    fault.times -= 1
                    body = fault.body if fault.body is not None else self.error_body(fault.status)
                    return fault.status, fault.headers, body
        return None

    # --- what subclasses define ---------------------------------------------------------------

    def route(self, request: Recorded) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int, message: str | None = None) -> Any:
        return {"message": message or f"HTTP {status}"}

    # --- plumbing -----------------------------------------------------------------------------

    def _answer(self, request: Recorded) -> Answer:
        for hook in self.hooks:
            hook(request)
        fault = self._fault_for(request)
        if fault is not None:
            return fault
        return self.route(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Recorded(self.command, url.path, query, headers, body)
                status, extra, payload = api._answer(request)
                request.status = status
                with api._lock:
                    api.requests.append(request)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        return Handler
