"""The errors of DAG-of-workflows files and of the tasks they run.

File errors are :class:`~airflow_provider_dativo.config.errors.DativoConfigError` subclasses,
so they carry the same file/line/field problems as every other configuration mistake and the
DAG factory turns them into placeholder DAGs like any broken schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError


class CycleDetectedError(DativoConfigError):
    """``depends_on`` forms a cycle; ``cycle`` is its path, first task repeated at the end."""

    def __init__(self, problems: Iterable[ConfigProblem], *, dag_name: str, cycle: Sequence[str]) -> None:
        self.dag_name = dag_name
        self.cycle = list(cycle)
        super().__init__(problems)

    @staticmethod
    def describe(dag_name: str, cycle: Sequence[str]) -> str:
        """``CycleDetectedError: weekly_ops_chain: sweep -> report -> sweep``."""
        return f"CycleDetectedError: {dag_name}: {' -> '.join(cycle)}"


class UnknownWorkflowError(DativoConfigError):
    """A ``workflow_ref`` names no registered workflow, entry point or importable function."""

    def __init__(self, problems: Iterable[ConfigProblem], *, ref: str, known: Sequence[str]) -> None:
        self.ref = ref
        self.known = list(known)
        super().__init__(problems)

    @staticmethod
    def describe(ref: str, known: Sequence[str], why: str = "") -> str:
        names = ", ".join(known) or "none"
        reason = f" ({why})" if why else ""
        return (
            f"UnknownWorkflowError: unknown workflow {ref!r}{reason}; known workflows: {names}; "
            "or reference a function as 'package.module:function'"
        )


class FatalWorkflowError(Exception):
    """A task failure that no retry can fix (bad params, an invalid job file, a result that is
    not a dict): the task fails at once, on Airflow (``AirflowFailException``) and on the CLI.

    Workflows may raise it themselves; any other exception is retried while retries remain.
    """
