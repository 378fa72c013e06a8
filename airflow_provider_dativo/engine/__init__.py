"""The dativo ingestion engine: read a job's source, check it against its asset, write Iceberg.

Where things are, in the order a run meets them:

* :mod:`.run`: ``run_job`` and ``JobResult``, the entry point of the CLI, the operator and
  workflow tasks (events and metrics: :mod:`.events`, :mod:`.metrics`; spans: :mod:`.tracing`);
* :mod:`.secrets`: the tenant's secrets, references to them and the masking of their values;
* :mod:`.sources`: files, PostgreSQL and the HTTP APIs, each yielding record batches;
* :mod:`.pipeline`: the one loop, batches -> cursor selection -> checks -> sink;
* :mod:`.checks`: casting text to the asset's types, validation, the cursor, merge keys;
* :mod:`.iceberg`: catalog, sinks per write mode, the one commit, table creation, schema
  evolution, run state, quarantine and maintenance (the only place that imports pyiceberg);
* :mod:`.oneshot`: retries of ``dativo run``, which has no orchestrator to retry it.

This package deliberately imports nothing: pyarrow and pyiceberg are heavy, and the Airflow
operator (and DAG parsing) must not pay for them until a task actually runs.
"""
