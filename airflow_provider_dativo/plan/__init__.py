"""The runner plan: what a runner file schedules, read from its job and workflow files.

``config`` (YAML -> models) -> ``plan`` (runner file -> RunnerPlan) -> Airflow objects
(``dag_factory``) and the ``dativo`` commands. This package imports config and workflow
loading, never Airflow.
"""
