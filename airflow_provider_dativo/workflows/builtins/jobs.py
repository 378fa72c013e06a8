"""Job files named in a task's params: checked when the file loads, loaded again when it runs.

A workflow belongs to one tenant and runs in that tenant's pool, so it may only run (or
maintain the table of) that tenant's jobs: another tenant's job would escape its own pool.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, ValidationInfo

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import ResolvedJob, load_job
from airflow_provider_dativo.workflows.context import ParamsCheck, WorkflowContext
from airflow_provider_dativo.workflows.errors import FatalWorkflowError

M = TypeVar("M", bound=BaseModel)


def tenant_job(
    path: Path,
    app_root: str | None,
    tenant_id: str,
    error: type[Exception],
    invalid: Callable[[DativoConfigError], str],
) -> ResolvedJob:
    """Load a job file of ``tenant_id``; an invalid file (described by ``invalid``) or another
    tenant's job raises ``error``: ``ValueError`` when the file loads, fatal when a task runs."""
    try:
        job = load_job(path, app_root=app_root)
    except DativoConfigError as exc:
        raise error(invalid(exc)) from None
    if job.tenant_id != tenant_id:
        raise error(
            f"job file {job.path} belongs to tenant {job.tenant_id!r}, not to the workflow's tenant "
            f"{tenant_id!r} (a workflow runs only its own tenant's jobs, in its tenant's pool)"
        )
    return job


def check_job_param(value: str | None, info: ValidationInfo) -> str | None:
    """Field validator body: when the file is loaded, the job must be valid and of the tenant."""
    check = info.context
    if value is None or not isinstance(check, ParamsCheck):
        return value
    path = check.resolve(value)
    check.inputs.append(path)
    if not path.exists():
        raise ValueError(f"job file {path} does not exist")
    job = tenant_job(
        path,
        check.app_root,
        check.tenant_id,
        ValueError,
        lambda exc: f"job file {path} is invalid: {exc.problems[0] if exc.problems else exc}",
    )
    check.config_files.extend([job.path, job.asset_path])
    return value


def own_params(model: type[M], params: dict[str, Any]) -> M:
    """The task's own params as ``model`` (upstream ``<id>__<key>`` entries are not its own)."""
    mine = {key: value for key, value in params.items() if key in model.model_fields}
    try:
        return model.model_validate(mine)
    except ValidationError as exc:
        raise FatalWorkflowError(f"invalid params: {exc}") from None


def load_tenant_job(raw: str, context: WorkflowContext) -> ResolvedJob:
    """Load a job file at run time; an invalid file or a foreign tenant fails without retries."""
    return tenant_job(
        context.resolve_path(raw),
        context.app_root,
        context.tenant_id,
        FatalWorkflowError,
        lambda exc: f"invalid dativo job configuration:\n{exc}",
    )
