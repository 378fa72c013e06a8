"""Drop this file into your Airflow dags folder: one DAG per schedule of your runner.yaml.

The runner file comes from DATIVO_RUNNER_CONFIG or ``[dativo] runner_config`` in airflow.cfg;
``/app/`` paths in it are re-rooted under DATIVO_APP_ROOT (or ``[dativo] app_root``).
"""

from airflow_provider_dativo.dag_factory import build_dags

globals().update(build_dags())
