"""An Airflow auth manager that lets some users read only one tenant's DAGs.

Airflow's simple auth manager gives every viewer every DAG; deployments that separate tenants
plug in an auth manager that decides per DAG. This one (Airflow's documented extension point,
a subclass of the simple auth manager) lets a user named ``<tenant>_viewer`` read only the
DAGs whose dag_id starts with ``<tenant>_`` (``<t1>+<t2>_viewer``: those of either tenant);
everyone else is as in the simple auth manager.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

SUFFIX = "_viewer"


class TenantAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
        allowed = super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
        if not allowed or not user.username.endswith(SUFFIX):
            return allowed
        tenants = user.username.removesuffix(SUFFIX).split("+")
        dag_id = details.id if details is not None else None
        return bool(dag_id) and any(dag_id.startswith(f"{tenant}_") for tenant in tenants)
