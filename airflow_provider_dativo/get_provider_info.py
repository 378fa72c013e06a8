"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Kept free of imports so that provider discovery stays cheap and can never fail. The Dativo
view plugin is not listed here: it is registered through the ``airflow.plugins`` entry point,
and Airflow (with ``lazy_discover_providers = False``) would load a plugin named in both
places twice and report the second as a plugin import error.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dativo import __version__

INTEGRATION = "Dativo"
SECRET_CONNECTION_FORM: dict[str, Any] = {
    "hidden_fields": ["host", "schema", "login", "port"],
    "relabeling": {"password": "Secret value"},
    "placeholders": {
        "password": "the secret, e.g. an API key",
        "extra": "a JSON document, used when the secret value is empty (e.g. a key file)",
    },
}
"""The connection form of the ``dativo`` type: only the secret (``DativoHook`` shows the same)."""


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow shows in ``airflow providers list``."""
    return {
        "package-name": "airflow-provider-dativo",
        "name": "Dativo",
        "description": (
            "Run dativo ingestion schedules (runner.yaml) as Airflow DAGs that load Apache Iceberg tables."
        ),
        "versions": [__version__],
        "integrations": [{"integration-name": INTEGRATION, "tags": ["software"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider_dativo.operators.ingest",
                    "airflow_provider_dativo.operators.workflow",
                    "airflow_provider_dativo.operators.maintenance",
                    "airflow_provider_dativo.operators.config_error",
                ],
            }
        ],
        "hooks": [
            {"integration-name": INTEGRATION, "python-modules": ["airflow_provider_dativo.hooks.dativo"]}
        ],
        "connection-types": [
            {
                "connection-type": "dativo",
                "hook-class-name": "airflow_provider_dativo.hooks.dativo.DativoHook",
                "hook-name": "Dativo secret",
                "ui-field-behaviour": {k.replace("_", "-"): v for k, v in SECRET_CONNECTION_FORM.items()},
            }
        ],
        "cli": ["airflow_provider_dativo.cli.airflow_commands.get_cli_commands"],
        "config": {
            "dativo": {
                "description": "Settings of the dativo provider.",
                "options": {
                    "runner_config": {
                        "description": (
                            "Path of the runner.yaml whose schedules build_dags() turns into DAGs when "
                            "neither an argument nor the DATIVO_RUNNER_CONFIG environment variable names one."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/dativo/runner.yaml",
                        "default": "",
                    },
                    "parse_cache_dir": {
                        "description": (
                            "Folder of the parse cache that lets unchanged runner and job files skip "
                            "YAML parsing when the dag-processor re-parses the DAG file. Empty means "
                            "AIRFLOW_HOME/dativo-parse-cache; 'off' disables it. "
                            "DATIVO_PARSE_CACHE_DIR takes precedence."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "off",
                        "default": "",
                    },
                    "app_root": {
                        "description": (
                            "Folder that replaces the /app/ prefix of absolute paths in runner and job "
                            "files (the dativo image's layout). DATIVO_APP_ROOT takes precedence."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/dativo",
                        "default": "",
                    },
                },
            }
        },
    }
