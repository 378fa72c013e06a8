"""``DativoWorkflowOperator``: one task of a DAG-of-workflows on Airflow.

Upstream results arrive through XCom: :meth:`execute` pulls the return value of every task
this one depends on (directly or through others) and passes each key as
``<upstream_id>__<key>``, exactly as the CLI runner does from memory. The workflow function is
imported in :meth:`execute`, never while the DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class DativoWorkflowOperator(BaseOperator):
    """Call workflow ``workflow_ref`` with ``workflow_params`` plus upstream results; return its dict.

    :param workflow_ref: registered name, entry point name or ``package.module:function``.
    :param workflow_params: the task's own params (``params`` is Airflow's, hence the name).
    :param payload_from: ids of every task this one depends on, directly or not, in execution order.
    :param workflow_file: the workflow file; relative paths in params are relative to its folder.
    :param workflow_name: the file's ``name`` (the dag_id may be a runner schedule's name).
    :param tenant_id: the file's tenant.
    :param workflow_modules: modules to import first (absolute ``.py`` paths or module names).
    :param app_root: folder that replaces ``/app/`` in paths (default: ``DATIVO_APP_ROOT``, else
        ``[dativo] app_root``).

    A :class:`~airflow_provider_dativo.workflows.errors.FatalWorkflowError` (or an invalid
    reference or result) fails the task at once; any other failure is retried while retries
    remain, after the exact delays of the task's retry policy.
    """

    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        workflow_ref: str,
        workflow_params: dict[str, Any] | None = None,
        payload_from: Sequence[str] = (),
        workflow_file: str,
        workflow_name: str,
        tenant_id: str,
        workflow_modules: Sequence[str] = (),
        app_root: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_ref = workflow_ref
        self.workflow_params = dict(workflow_params or {})
        self.payload_from = list(payload_from)
        self.workflow_file = workflow_file
        self.workflow_name = workflow_name
        self.tenant_id = tenant_id
        self.workflow_modules = list(workflow_modules)
        self.app_root = app_root

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_dativo.hooks.dativo import airflow_secrets_loader
        from airflow_provider_dativo.settings import resolve_app_root
        from airflow_provider_dativo.workflows.context import WorkflowContext
        from airflow_provider_dativo.workflows.errors import FatalWorkflowError
        from airflow_provider_dativo.workflows.execution import payload_params, run_workflow_task

        ti = context["ti"]
        upstream = {task_id: ti.xcom_pull(task_ids=task_id) for task_id in self.payload_from}
        params = payload_params(self.workflow_params, upstream, self.payload_from)
        self.log.info("workflow %s receives params %s", self.workflow_ref, sorted(params))
        run_context = WorkflowContext(
            dag_id=self.dag_id,
            workflow_name=self.workflow_name,
            tenant_id=self.tenant_id,
            task_id=self.task_id,
            run_id=context["run_id"],
            try_number=getattr(ti, "try_number", 1) or 1,
            base_dir=Path(self.workflow_file).parent,
            app_root=resolve_app_root(self.app_root),
            orchestrator="airflow",
            secrets_loader=airflow_secrets_loader,
            tries=(self.retries or 0) + 1,
        )
        try:
            return run_workflow_task(self.workflow_ref, self.workflow_modules, params, run_context)
        except FatalWorkflowError as exc:
            raise AirflowFailException(f"workflow task {self.task_id} failed without retry: {exc}") from exc
