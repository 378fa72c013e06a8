"""Optional OpenTelemetry spans for a job run: ``dativo.job`` around phases ``dativo.<phase>``.

OpenTelemetry is optional (seed 001): when ``opentelemetry-api`` cannot be imported, both
context managers hand out one shared do-nothing object, so the runner calls them
unconditionally and pays a function call. When it can, spans go to whatever tracer provider
the process configured; Airflow installs one when its ``[traces]`` are on, so under Airflow
the job's spans nest in the task's trace, and without any provider the API's own no-op
tracer makes them free as well.

Callers get a :class:`JobSpan` with the same three methods either way, so they never test
whether tracing is on. Phase spans repeat the job's ``tenant_id``, ``job_name`` and
``connector`` so that each one can be filtered on its own in a trace backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Protocol

from airflow_provider_dativo import __version__

try:
    from opentelemetry import trace as _otel_trace
    from opentelemetry.trace import Status, StatusCode
except ImportError:  # OpenTelemetry is optional: tracing is off, everything else works.
    _otel_trace = None  # type: ignore[assignment]

TRACER_NAME = "airflow_provider_dativo"
JOB_SPAN = "dativo.job"
SPAN_PREFIX = "dativo."

_AttrValue = str | bool | int | float
_NO_ATTRIBUTES: Mapping[str, _AttrValue] = MappingProxyType({})
_job_attributes: ContextVar[Mapping[str, _AttrValue]] = ContextVar(
    "dativo_job_attributes", default=_NO_ATTRIBUTES
)
"""The attributes of the job span in progress, repeated on each of its phase spans."""


def tracing_available() -> bool:
    """Whether ``opentelemetry-api`` is importable, i.e. whether spans can be created at all."""
    return _otel_trace is not None


class JobSpan(Protocol):
    """What the blocks of :func:`trace_job_execution` and :func:`trace_phase` receive."""

    def set_attribute(self, key: str, value: Any) -> None: ...

    def set_attributes(self, attributes: Mapping[str, Any]) -> None: ...

    def record_failure(self, message: str | None, error_type: str | None = None) -> None: ...


class _NullSpan:
    """The span handed out when OpenTelemetry is absent: every method does nothing."""

    __slots__ = ()

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        return None

    def record_failure(self, message: str | None, error_type: str | None = None) -> None:
        return None


class _NullContext:
    """A reusable context manager yielding :data:`NULL_SPAN`; cheaper than a generator."""

    __slots__ = ()

    def __enter__(self) -> _NullSpan:
        return NULL_SPAN

    def __exit__(self, *exc_info: object) -> None:
        return None


NULL_SPAN = _NullSpan()
_NULL_CONTEXT = _NullContext()


class _OtelSpan:
    """Wraps an OpenTelemetry span so callers need neither ``Status`` nor attribute rules."""

    __slots__ = ("span",)

    def __init__(self, span: Any) -> None:
        self.span = span

    def set_attribute(self, key: str, value: Any) -> None:
        cleaned = _attribute_value(value)
        if cleaned is not None:
            self.span.set_attribute(key, cleaned)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.span.set_attributes(_clean(attributes))

    def record_failure(self, message: str | None, error_type: str | None = None) -> None:
        """Mark a failure that did not raise (the runner turns job failures into exit codes)."""
        self.span.set_status(Status(StatusCode.ERROR, message or "job failed"))
        if error_type:
            self.span.set_attribute("error.type", error_type)


def _attribute_value(value: Any) -> _AttrValue | None:
    """OpenTelemetry accepts only str, bool, int and float; None means "not known", so skip."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _clean(attributes: Mapping[str, Any]) -> dict[str, _AttrValue]:
    cleaned = {key: _attribute_value(value) for key, value in attributes.items()}
    return {key: value for key, value in cleaned.items() if value is not None}


@contextmanager
def _span(name: str, attributes: Mapping[str, Any]) -> Iterator[JobSpan]:
    # start_as_current_span records an escaping exception and sets an ERROR status itself.
    tracer = _otel_trace.get_tracer(TRACER_NAME, __version__)
    with tracer.start_as_current_span(name, attributes=_clean(attributes)) as span:
        yield _OtelSpan(span)


@contextmanager
def _job_span(attributes: dict[str, _AttrValue]) -> Iterator[JobSpan]:
    token = _job_attributes.set(attributes)
    try:
        with _span(JOB_SPAN, attributes) as span:
            yield span
    finally:
        _job_attributes.reset(token)


def trace_job_execution(
    job_name: str, tenant_id: str | None, connector: str | None
) -> AbstractContextManager[JobSpan]:
    """A ``dativo.job`` span around one job run (one try), carrying tenant, job and connector."""
    if _otel_trace is None:
        return _NULL_CONTEXT
    return _job_span(_clean({"tenant_id": tenant_id, "job_name": job_name, "connector": connector}))


def trace_phase(name: str, **attributes: Any) -> AbstractContextManager[JobSpan]:
    """A ``dativo.<name>`` span (extract, validate, write) inside the current job span.

    It carries the job's attributes plus ``attributes``; set ``records`` on the yielded span
    once the phase knows it.
    """
    if _otel_trace is None:
        return _NULL_CONTEXT
    span_name = name if name.startswith(SPAN_PREFIX) else f"{SPAN_PREFIX}{name}"
    return _span(span_name, {**_job_attributes.get(), **attributes})
