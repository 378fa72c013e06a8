"""Tenant pools: what the DAGs use, in ``airflow pools import`` format, and syncing them."""

from __future__ import annotations

from typing import Any

from airflow_provider_dativo.plan.runner import RunnerPlan


def pools_export(plan: RunnerPlan) -> dict[str, dict[str, Any]]:
    """``{pool: {slots, description, include_deferred}}`` for every tenant with a healthy schedule."""
    return {
        name: {
            "slots": slots,
            "description": f"dativo: serializes the jobs of tenant {name.removeprefix('dativo_tenant_')} "
            f"(concurrency_per_tenant={slots}, from {plan.path.name})",
            "include_deferred": False,
        }
        for name, slots in plan.pools().items()
    }


def sync_pools(plan: RunnerPlan) -> list[str]:
    """Create or resize the pools in Airflow's metadata database; returns one line per pool.

    Must run outside DAG parsing (the dag-processor may not write the database): from
    ``airflow dativo sync-pools`` or a deployment's init step.
    """
    from airflow.models.pool import Pool

    lines = []
    for name, spec in pools_export(plan).items():
        existing = Pool.get_pool(name)
        Pool.create_or_update_pool(
            name=name, slots=spec["slots"], description=spec["description"], include_deferred=False
        )
        if existing is None:
            lines.append(f"created pool {name} with {spec['slots']} slot(s)")
        elif existing.slots != spec["slots"]:
            lines.append(f"resized pool {name} from {existing.slots} to {spec['slots']} slot(s)")
        else:
            lines.append(f"pool {name} already has {spec['slots']} slot(s)")
    return lines
