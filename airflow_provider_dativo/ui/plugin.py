"""The Airflow plugin: the Dativo page in the UI's navigation, served by this provider's FastAPI app.

Registered through the ``airflow.plugins`` entry point (pyproject.toml), so installing the
provider is enough. Airflow 3.1+ mounts ``fastapi_apps`` on its api-server and shows
``external_views`` with a ``url_route`` inside its own UI (the page at ``/plugin/dativo``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_dativo.ui.app import create_app

URL_PREFIX = "/dativo"


class DativoViewPlugin(AirflowPlugin):
    name = "dativo"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Dativo"}]
    external_views = [
        {
            "name": "Dativo",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "dativo",
            "category": "browse",
        }
    ]
