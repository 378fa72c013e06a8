"""The dativo ingestion engine: read a job's source, validate it against its asset, write Iceberg.

This package deliberately imports nothing: pyarrow and pyiceberg are heavy, and the Airflow
operator (and DAG parsing) must not pay for them until a task actually runs. Import
:mod:`airflow_provider_dativo.engine.run` where the engine is needed.
"""
