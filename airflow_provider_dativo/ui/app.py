"""The FastAPI app Airflow's api-server mounts at ``/dativo``: the page and its JSON API.

``GET /dativo/`` serves the page (static HTML that holds no data); ``GET /dativo/api/summary``
returns the numbers, for an authenticated Airflow user only, counting only the DAGs that user
may read. The summary is computed in a worker thread (FastAPI runs sync endpoints there), in
one read-only session of Airflow's metadata database.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser  # FastAPI resolves it at run time
from fastapi import Depends, FastAPI, Query
from fastapi.responses import HTMLResponse, Response

from airflow_provider_dativo.ui.auth import current_user, readable_dag_ids

MAX_HOURS = 24 * 90
"""The longest window the summary answers (90 days)."""


def page_html() -> str:
    return (
        resources.files("airflow_provider_dativo.ui")
        .joinpath("static/index.html")
        .read_text(encoding="utf-8")
    )


def create_app() -> FastAPI:
    app = FastAPI(
        title="Dativo view",
        description="The Dativo page and its JSON API (airflow-provider-dativo).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(page_html(), headers={"Cache-Control": "no-cache"})

    @app.get("/api/summary", response_class=Response)
    def summary(
        user: Annotated[BaseUser, Depends(current_user)],
        hours: Annotated[float, Query(gt=0, le=MAX_HOURS, description="the window, in hours")] = 24,
    ) -> Response:
        """The summary as JSON, encoded here: it holds only str, int, float, bool and None, and
        FastAPI's generic encoder would cost more than the queries for a thousand schedules."""
        from airflow.utils.session import create_session

        from airflow_provider_dativo.ui.summary import build_summary

        with create_session(scoped=False) as session:
            readable = readable_dag_ids(user, session)
            body = build_summary(session, readable, hours=hours)
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    return app
