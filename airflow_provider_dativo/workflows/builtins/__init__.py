"""Workflows shipped with the provider: ``dativo_ingest`` and ``iceberg_maintenance``.

These modules are imported at parse time to validate params, so they import the engine
(pyarrow, pyiceberg) only inside the workflow functions.
"""
