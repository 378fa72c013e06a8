"""airflow-provider-dativo: run dativo ingestion schedules on Apache Airflow.

This module deliberately imports nothing: Airflow discovers providers while its own
configuration is still loading, and any import of Airflow from here would break every
``airflow`` command.
"""

__version__ = "0.1.0"
