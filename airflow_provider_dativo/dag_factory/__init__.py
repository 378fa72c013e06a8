"""The DAG factory: a runner plan becomes Airflow DAGs, in the dag-processor or as static files.

``build_dags()`` (the whole of ``dags/dativo_dags.py``) is the public entry point. The steps,
one module each:

- :mod:`.args` / :mod:`.workflow_args` / :mod:`.config_error`: each schedule of a
  :class:`~airflow_provider_dativo.plan.runner.RunnerPlan` as plain-data DAG and operator
  arguments (an ingest job, a DAG-of-workflows, or the placeholder of a broken schedule);
- :mod:`.cache`: those arguments stored as JSON, so a re-parse of unchanged files reads no YAML;
- :mod:`.build`: Airflow DAGs from the arguments (:mod:`.workflow_dag` for a single workflow file);
- :mod:`.export`: the same arguments written out as static DAG files (``dativo export``).

Building from one set of arguments is what makes cached, exported and freshly parsed DAGs
serialize identically.
"""

from airflow_provider_dativo.dag_factory.build import build_dags, dags_from_plan

__all__ = ["build_dags", "dags_from_plan"]
