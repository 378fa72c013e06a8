"""``DativoMaintenanceOperator``: maintain a job's Iceberg table inside an Airflow task.

Runs the steps of the job's ``target.maintenance`` (compaction, snapshot expiry, orphan-file
removal, :mod:`airflow_provider_dativo.engine.iceberg.maintenance`). The job file is loaded as
for a load (tenant, confinement and namespace checks), at run time: parsing a DAG file that uses
this operator imports neither pyiceberg nor pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dativo.operators.job_file import JobFileOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class DativoMaintenanceOperator(JobFileOperator):
    """Maintain the target table of the job ``config_path``; returns the summary (pushed to XCom).

    Takes the arguments of :class:`~airflow_provider_dativo.operators.job_file.JobFileOperator`
    (``config_path``, ``app_root``, ``dativo_home``, ``runner_config``). Without
    ``target.maintenance`` in the job file, the defaults of ``dativo maintain`` apply.
    """

    ui_color = "#eef7e8"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dativo.engine.iceberg.maintenance import MaintenanceSteps, maintain_job_table

        job = self.load_job_file()
        steps = MaintenanceSteps.for_job(job.config.target.maintenance)
        summary = maintain_job_table(job, steps, self.dativo_home)
        self.log.info("maintenance of %s: %s", summary.get("table"), summary)
        return summary
