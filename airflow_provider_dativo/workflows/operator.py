"""Old home of :class:`DativoWorkflowOperator`, kept because DAG files written by earlier
``dativo export`` runs import it from here; it lives in :mod:`airflow_provider_dativo.operators.workflow`."""

from airflow_provider_dativo.operators.workflow import DativoWorkflowOperator

__all__ = ["DativoWorkflowOperator"]
