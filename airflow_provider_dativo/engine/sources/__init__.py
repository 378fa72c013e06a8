"""Source connectors: each reads a job's input into one Arrow table shaped like the asset.

Use :func:`airflow_provider_dativo.engine.sources.base.get_source` to pick the connector.
"""
