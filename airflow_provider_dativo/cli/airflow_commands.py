"""``airflow dativo ...``: provider commands that need Airflow's metadata database."""

from __future__ import annotations

import sys
from typing import Any

from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand


def sync_pools_command(args: Any) -> None:
    """Create or resize one pool per tenant of the runner file."""
    from airflow_provider_dativo.config.errors import DativoConfigError
    from airflow_provider_dativo.plan.runner import load_runner
    from airflow_provider_dativo.settings import resolve_app_root, resolve_runner_path

    try:
        plan = load_runner(resolve_runner_path(args.runner_config), app_root=resolve_app_root(args.app_root))
    except DativoConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    from airflow_provider_dativo.cli.pools import sync_pools

    for line in sync_pools(plan):
        print(line)
    for problem in plan.problems:
        print(f"warning: {problem}", file=sys.stderr)


ARG_RUNNER = Arg(
    ("runner_config",),
    nargs="?",
    default=None,
    help="runner.yaml (default: DATIVO_RUNNER_CONFIG, else runner_config of the dativo config section)",
)
ARG_APP_ROOT = Arg(
    ("--app-root",),
    default=None,
    help="folder that replaces /app/ in paths (default: DATIVO_APP_ROOT, else [dativo] app_root)",
)


def get_cli_commands() -> list[GroupCommand]:
    """Registered through ``get_provider_info()['cli']``."""
    return [
        GroupCommand(
            name="dativo",
            help="dativo provider commands",
            subcommands=[
                ActionCommand(
                    name="sync-pools",
                    help="Create or resize the per-tenant pools of a runner.yaml",
                    func=sync_pools_command,
                    args=(ARG_RUNNER, ARG_APP_ROOT),
                ),
            ],
        )
    ]
