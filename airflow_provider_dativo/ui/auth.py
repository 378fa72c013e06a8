"""Who is asking, and which DAGs they may read, decided by Airflow's own auth machinery.

A FastAPI app that a plugin mounts is not protected by Airflow: every data endpoint depends on
:func:`current_user`, which validates the JWT exactly as Airflow's REST API does (the
``Authorization: Bearer`` header first, else the ``_token`` cookie the UI sets) through the
configured auth manager. Unlike Airflow's API, a missing, expired or invalid token is a 401
here, so a browser or script can tell "log in again" from "not allowed".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

_bearer = HTTPBearer(auto_error=False)


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> BaseUser:
    """The authenticated Airflow user of this request; 401 for anyone else."""
    from airflow.api_fastapi.core_api.security import get_user

    try:
        return await get_user(request, None, credentials)
    except HTTPException as exc:
        if exc.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail=f"an authenticated Airflow user is required ({exc.detail})",
                headers={"WWW-Authenticate": "Bearer"},
            ) from None
        raise


def readable_dag_ids(user: BaseUser, session: Session) -> set[str]:
    """The dag_ids ``user`` may read (``GET``) according to the configured auth manager."""
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session))
