"""runner.yaml: the schedules of a dativo deployment."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import pendulum
from croniter import croniter
from pydantic import AfterValidator, Field, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.limits import DB_INT_MAX, MAX_FRESHNESS_MINUTES, MAX_INTERVAL_SECONDS
from airflow_provider_dativo.config.retry import RetryConfig

AIRFLOW_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
"""What Airflow accepts as a dag_id or task_id."""
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
"""The presets Airflow's cron timetables accept."""


def check_airflow_id(value: str, what: str) -> str:
    """A schedule or workflow name becomes a dag_id, a workflow task id a task_id."""
    if not AIRFLOW_ID.match(value):
        raise ValueError(f"{value!r} cannot be a {what}: use up to 250 letters, digits, '_', '.' or '-'")
    return value


DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*([:.][A-Za-z_][A-Za-z0-9_]*)$")
"""``package.module:function`` or ``package.module.function``: a callable to import at run time."""


def check_dotted_path(value: str) -> str:
    if not DOTTED_PATH.match(value) or "." not in value.replace(":", "."):
        raise ValueError(f"{value!r} is not 'package.module:function' or 'package.module.function'")
    return value


DottedPath = Annotated[str, AfterValidator(check_dotted_path)]
DagId = Annotated[str, AfterValidator(lambda value: check_airflow_id(value, "dag_id"))]
TaskId = Annotated[str, AfterValidator(lambda value: check_airflow_id(value, "task id"))]


_CRON_PROBE = datetime(2024, 3, 1)
"""Where the "does it ever fire" check starts (any date works; croniter looks decades ahead)."""

CRON_INVALID = "invalid"
CRON_NEVER_FIRES = "never fires"


@lru_cache(maxsize=4096)
def cron_problem(cron: str) -> str | None:
    """:data:`CRON_INVALID`, :data:`CRON_NEVER_FIRES` or ``None`` (a usable expression).

    Memoized: a runner file repeats a handful of expressions across thousands of schedules.
    An expression that parses may still never fire: ``0 0 30 2 *`` (February 30th), and
    Airflow's timetable then fails with ``CroniterBadDateError`` on every scheduling loop. That
    is asked the way Airflow asks, with croniter's next and previous fire times, from the one
    croniter that also checked the syntax; only an expression that provably fires (any day of
    the month, or days 1-28 only, which every month has) skips that search. The plainest
    expressions (numbers, ranges, lists and ``*/n`` within each field's bounds, which croniter
    always accepts; the tests compare both ways on generated expressions) skip croniter
    altogether: building one costs a fraction of a millisecond, paid for every distinct
    expression of a runner at every cold parse.
    """
    expression = CRON_PRESETS.get(cron.strip(), cron)
    fields = expression.split()
    if len(fields) != 5:
        return CRON_INVALID
    if _plainly_fires(fields):
        return None
    try:
        parsed = croniter(expression, start_time=_CRON_PROBE)
    except Exception:  # CroniterBadCronError and the like: what croniter.is_valid() says False to
        return CRON_INVALID
    if _fires_every_month(parsed):
        return None
    try:
        parsed.get_next(datetime)
        parsed.set_current(_CRON_PROBE, force=True)
        parsed.get_prev(datetime)
    except Exception:  # CroniterBadDateError, and anything else croniter finds wrong
        return CRON_NEVER_FIRES
    return None


_CRON_NUMBER = r"(?:0|[1-9][0-9]?)"
_CRON_PLAIN_FIELD = re.compile(
    rf"\*|\*/{_CRON_NUMBER}|{_CRON_NUMBER}(?:-{_CRON_NUMBER})?(?:,{_CRON_NUMBER}(?:-{_CRON_NUMBER})?)*"
)
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
"""minute, hour, day of month, month, day of week (0 = Sunday; croniter's 7 is left to it)."""


def _plainly_fires(fields: list[str]) -> bool:
    """True for five plain fields (see :func:`cron_problem`) whose days of the month all exist
    in every month (``*``, ``*/n``, which includes the 1st, or days up to 28)."""
    for field, (low, high) in zip(fields, _CRON_BOUNDS, strict=True):
        if not _CRON_PLAIN_FIELD.fullmatch(field):
            return False
        if field.startswith("*"):
            if field != "*" and not 1 <= int(field[2:]) <= high:
                return False
            continue
        for part in field.split(","):
            first, _, last = part.partition("-")
            start, end = int(first), int(last or first)
            if not low <= start <= end <= high:
                return False
    days = fields[2]
    return days.startswith("*") or all(int(part.partition("-")[2] or part) <= 28 for part in days.split(","))


def _fires_every_month(parsed: croniter) -> bool:
    """True when the expression fires in every month it names: minutes and hours always exist,
    and so does a day of the month that is ``*`` or at most 28 (with croniter's default
    ``day_or``, a weekday list only adds days). ``L``, ``W`` and ``#`` are left to croniter."""
    _minutes, _hours, days, _months, _weekdays = parsed.expanded
    if parsed.nth_weekday_of_month or getattr(parsed, "nearest_weekday", None):
        return False
    return days == ["*"] or all(isinstance(day, int) and 1 <= day <= 28 for day in days)


def check_cron(cron: str) -> str:
    """``cron`` when Airflow's cron timetable can run it; otherwise a ``ValueError`` that says why."""
    problem = cron_problem(cron)
    if problem == CRON_INVALID:
        raise ValueError(
            f"{cron!r} is not a valid cron expression: use 5 fields (minute hour day month weekday) "
            f"or one of {', '.join(CRON_PRESETS)}"
        )
    if problem == CRON_NEVER_FIRES:
        raise ValueError(f"{cron!r} never fires (no date matches it), so the schedule would never run")
    return cron


@lru_cache(maxsize=1024)
def _timezone_is_known(name: str) -> bool:
    try:
        pendulum.timezone(name)
    except Exception:
        return False
    return True


class Schedule(StrictModel):
    """One schedule; it becomes one Airflow DAG whose dag_id is ``name``."""

    name: DagId
    config: str | None = Field(None, description="Job YAML, relative to runner.yaml.")
    dag: str | None = Field(None, description="DAG-of-workflows YAML, relative to runner.yaml.")
    cron: str | None = None
    interval_seconds: Annotated[int, Field(gt=0, le=MAX_INTERVAL_SECONDS)] | None = None
    enabled: bool = True
    timezone: str = "UTC"
    max_concurrent_runs: Annotated[int, Field(ge=1, le=DB_INT_MAX)] = 1
    tags: dict[str, Any] = Field(default_factory=dict)
    freshness_minutes: Annotated[int, Field(gt=0, le=MAX_FRESHNESS_MINUTES)] | None = Field(
        None,
        description=(
            "Freshness promise: each run must land its data within this many minutes of being queued; "
            "a run that does not gets an Airflow deadline alert (a freshness_missed event) and its table "
            "shows late in the Dativo view. Schedules with 'config:' only."
        ),
    )
    freshness_notifier: DottedPath | None = Field(
        None,
        description=(
            "Called with the freshness_missed event when this schedule misses its freshness promise: "
            "'package.module:function' or 'package.module.function' (default: the orchestrator's)."
        ),
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str | None) -> str | None:
        return None if cron is None else check_cron(cron)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, name: str) -> str:
        if not _timezone_is_known(name):
            raise ValueError(f"{name!r} is not an IANA time zone name (e.g. 'UTC', 'America/New_York')")
        return name

    @field_validator("tags")
    @classmethod
    def _scalar_tags(cls, tags: dict[str, Any]) -> dict[str, Any]:
        for key, value in tags.items():
            if isinstance(value, (dict, list)) or value is None:
                raise ValueError(f"tag {key!r} must be a string, number or boolean")
            if len(f"{key}:{value}") > 100:
                raise ValueError(f"tag {key!r}: '{key}:{value}' is longer than Airflow's 100 characters")
        return tags

    @model_validator(mode="after")
    def _one_of_each(self) -> Schedule:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("set exactly one of 'cron' or 'interval_seconds'")
        if (self.config is None) == (self.dag is None):
            raise ValueError("set exactly one of 'config' (a job file) or 'dag' (a DAG-of-workflows file)")
        if self.freshness_minutes is not None and self.dag is not None:
            raise ValueError("'freshness_minutes' applies to schedules with 'config:' (one target table)")
        return self

    def tag_strings(self) -> list[str]:
        """Custom tags as Airflow tags ``key:value`` (booleans lower-case, as YAML wrote them)."""
        out = []
        for key, value in self.tags.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            out.append(f"{key}:{text}")
        return out


class Orchestrator(StrictModel):
    """``runner.orchestrator``: the same file serves Airflow and Dagster."""

    type: Literal["airflow", "dagster"] = "dagster"
    schedules: list[Any] = Field(
        default_factory=list,
        description="Schedules; each is validated on its own so one broken schedule hides no other "
        "(an item that is not a mapping is that schedule's error).",
    )
    concurrency_per_tenant: Annotated[int, Field(ge=1, le=DB_INT_MAX)] = 1
    retry_config: RetryConfig | None = None
    freshness_notifier: DottedPath | None = Field(
        None,
        description="The default freshness_notifier of every schedule that has freshness_minutes.",
    )


class TenantSettings(StrictModel):
    """``runner.tenants.<tenant>``: what the deployment's operator grants one tenant."""

    allowed_roots: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Folders (relative to runner.yaml; /app/ re-rooted) whose files this tenant's jobs "
        "may read besides their default roots, e.g. a shared landing folder.",
    )


class RunnerSection(StrictModel):
    mode: Literal["orchestrated", "oneshot"] = "orchestrated"
    orchestrator: Orchestrator
    tenants: dict[str, TenantSettings] = Field(
        default_factory=dict,
        description="Per tenant id, extra grants of the deployment's operator (docs/security.md).",
    )


class RunnerFile(StrictModel):
    """The whole runner.yaml."""

    runner: RunnerSection
