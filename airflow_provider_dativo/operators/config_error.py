"""The single task of a placeholder DAG that stands in for a broken schedule."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator


class DativoConfigErrorOperator(BaseOperator):
    """Fail with the configuration error, so a broken schedule is visible and explained in the UI.

    The error is also in the DAG's description and docs; running the task shows it in the
    task log, where on-call engineers look first.
    """

    ui_color = "#fde8e8"

    def __init__(self, *, error_message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_message = error_message

    def execute(self, context: Any) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"this dativo schedule is misconfigured:\n{self.error_message}")
