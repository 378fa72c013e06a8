"""A table that does not exist yet is created by the commit of its first load, with that load.

Why: a streamed load writes its data files while it validates. Creating the table first would
leave an empty table behind when strict validation then fails, and dropping it again could
lose another writer's commit that landed in between (no catalog offers a conditional drop).
So the load is written into a *staged* table: ``create_table_transaction`` gives the metadata
and location the catalog will give the table (computed locally by metastore catalogs such as
the embedded sqlite one, asked of the server with ``stage-create`` by REST catalogs) and
creates nothing. Only a load that commits creates the table, in one catalog commit that holds
the table and its first snapshot and is guarded by ``AssertCreate``.

When another writer created the table meanwhile, that commit fails cleanly and the caller
commits the same data files to the existing table, like any load to an existing table (the
files are already under the table's location; :mod:`.commit` rewrites them if the schemas
differ).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CreateTableTransaction, StagedTable, Table, Transaction
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from airflow_provider_dativo.engine.errors import CatalogUnavailable, WriteError
from airflow_provider_dativo.engine.iceberg._pyiceberg import staged_table
from airflow_provider_dativo.engine.iceberg.commit import (
    COMMIT_ATTEMPTS,
    CommitOutcome,
    StagedChanges,
    commit_wait,
    delete_files,
    staged_changes,
)

logger = logging.getLogger(__name__)

StageNew = Callable[[StagedTable, Transaction], bool]
"""Stages the load's snapshot in the creating transaction; ``False`` when there is no data
(the table is then created empty, as an empty input to a new table always did)."""


def stage_new_table(
    catalog: Catalog,
    identifier: str,
    schema: Schema,
    partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
    sort_order: SortOrder = UNSORTED_SORT_ORDER,
) -> StagedTable:
    """The table as the catalog would create it, with its layout (partition spec, sort order,
    the identifier fields ``schema`` names), created nowhere yet (the namespace must exist)."""
    try:
        transaction = catalog.create_table_transaction(
            identifier, schema=schema, partition_spec=partition_spec, sort_order=sort_order
        )
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {catalog.name!r} cannot stage table {identifier}: {type(exc).__name__}: "
            f"{exc} (when the catalog is only temporarily unavailable, retrying the run helps)"
        ) from exc
    return staged_table(transaction)


class _Unresolved(Exception):
    """The creating commit's outcome is unknown and the table does not exist: try again."""


class CreationUnresolved(WriteError):
    """Every creating commit's outcome stayed unknown: the load's files are kept, since nothing
    proves such a commit can never land (an orphan file costs storage, never correctness)."""


def create_with_first_load(
    catalog: Catalog, staged: StagedTable, *, stage: StageNew
) -> tuple[CommitOutcome | None, int]:
    """Create ``staged`` with the load ``stage`` adds, in one commit; returns the outcome, or
    ``None`` when the table was created by someone else first (commit to it then, as to any
    existing table), and the number of attempts.

    An unknown outcome (a lost response, ``CommitStateUnknownException``) is resolved by
    looking the table up: it is there with this run's snapshot (it landed), there without it
    (someone else created it: ``None``), or not there (the attempt is repeated).
    """
    identifier = ".".join(staged.name())
    attempts = 0
    unresolved: list[StagedChanges] = []

    def attempt() -> CommitOutcome | None:
        nonlocal attempts
        attempts += 1
        txn = CreateTableTransaction(staged)
        stage(staged, txn)
        changes = staged_changes(txn, staged)
        try:
            table = txn.commit_transaction()
        except (TableAlreadyExistsError, CommitFailedException) as exc:
            logger.info("table %s was created by another writer (%s); committing to it", identifier, exc)
            delete_files(staged, changes.metadata_files)
            return None
        except Exception as exc:
            unresolved.append(changes)
            return _resolve_unknown(catalog, identifier, changes.snapshot_ids, exc)
        snapshots = table.metadata.snapshots
        return CommitOutcome(
            snapshots=list(snapshots), snapshot_id=snapshots[-1].snapshot_id if snapshots else None
        )

    retrying = Retrying(
        stop=stop_after_attempt(COMMIT_ATTEMPTS),
        wait=commit_wait(),
        retry=retry_if_exception_type(_Unresolved),
        reraise=True,
    )
    try:
        outcome = retrying(attempt)
    except _Unresolved as exc:
        # kept: nothing proves those creations can never land
        raise CreationUnresolved(
            f"creating table {identifier} did not complete after {attempts} attempts ({exc}); the table "
            "does not exist, retrying the run is safe"
        ) from exc
    # The table exists now: attempts that did not land never will (creation asserts absence).
    landed = set(outcome.snapshot_ids()) if outcome is not None else set()
    for changes in unresolved:
        if not landed.intersection(changes.snapshot_ids):
            delete_files(staged, changes.metadata_files)
    if outcome is not None:
        outcome.attempts = attempts
    return outcome, attempts


def _resolve_unknown(
    catalog: Catalog, identifier: str, snapshot_ids: list[int], exc: Exception
) -> CommitOutcome | None:
    """Landed (the table holds the attempt's snapshots), lost to another creator (``None``),
    or to be tried again (no table)."""
    try:
        table: Table = catalog.load_table(identifier)
    except Exception:
        raise _Unresolved(f"{type(exc).__name__}: {exc}") from exc
    landed = [s for sid in snapshot_ids if (s := table.snapshot_by_id(sid)) is not None]
    if landed or (not snapshot_ids and table.current_snapshot() is None):
        # An empty load landed when the table exists without any snapshot: nothing else to do.
        return CommitOutcome(snapshots=landed, snapshot_id=landed[-1].snapshot_id if landed else None)
    return None
