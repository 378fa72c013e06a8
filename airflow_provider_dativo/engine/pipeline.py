"""The one loop every job runs: source batches -> cursor selection -> validation -> sink.

Every source yields asset-shaped record batches of bounded size (:mod:`.sources`). Each batch
goes through the stages in order:

1. **cursor selection** (incremental jobs, :class:`~.checks.incremental.CursorSelection`): the
   records not loaded yet (at or beyond the committed cursor, less the boundary records the
   last commit recorded), compared row by row, so per batch is the same as for the whole
   input; the stage keeps the greatest cursor it let through and its boundary;
2. **validation** (:mod:`.checks.validation`): typed records and a failure mask per rule (the
   type failures a source noted on the batch included, :mod:`.batch_notes`); counts per rule
   add up in a :class:`Tally`, with where the first invalid record is (file, line or record,
   field) when the source says where its rows come from; in warn mode the rejected records are
   kept, as text, for the quarantine table;
3. the **sink** of the job's write mode (:mod:`.iceberg.sinks`) writes the valid records as
   data files at once. In strict mode the first invalid record stops the writing and deletes
   what was written (the rest of the input is still validated, so every invalid record is
   counted per rule); merge keys are collected for their check (:mod:`.checks.keys`).

The loop decides nothing about committing: the run does that in one explicit step once the
input is consumed (:mod:`.run`), with the sink's files still deletable.

Memory: one batch at a time (file sources read the next one ahead) plus the sink's buffer of
at most one data file, the merge keys of a merge job, and in warn mode the rejected records
(figures in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.engine import batch_notes
from airflow_provider_dativo.engine.checks.incremental import CURSOR_RULE, CursorSelection
from airflow_provider_dativo.engine.checks.keys import MergeKeyCheck
from airflow_provider_dativo.engine.checks.validation import RULES, ValidationReport, validate
from airflow_provider_dativo.engine.iceberg.quarantine import rejected_records
from airflow_provider_dativo.engine.iceberg.sinks import Sink


@dataclass(frozen=True)
class FirstInvalid:
    """The first invalid record of a run: where it is (when the source says) and what it broke."""

    field: str
    rule: str
    place: str | None = None
    """``data/orders.jsonl, line 7`` or ``data/orders.csv, record 7``."""
    exact_line: bool = False
    """Whether ``place`` names a line of the file (JSON Lines) rather than a record number."""

    def __str__(self) -> str:
        broke = f"field {self.field!r} ({self.rule})"
        return f"{self.place}: {broke}" if self.place else broke


@dataclass
class Tally:
    """What the batches of one run added up to."""

    rule_order: list[str]
    read: int = 0
    """Records read from the source."""
    total: int = 0
    """Records selected (all of them, or for an incremental job those beyond the cursor)."""
    skipped: int = 0
    """Records an earlier run loaded: before the committed cursor, or at it and recorded in
    its boundary (or at or before ``start``)."""
    invalid: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    first_invalid: FirstInvalid | None = None

    @property
    def valid(self) -> int:
        return self.total - self.invalid

    @property
    def invalid_by_rule(self) -> dict[str, int]:
        """Per ``<field>.<rule>``, in asset and rule order."""
        rank = {key: i for i, key in enumerate(self.rule_order)}
        return {k: self.counts[k] for k in sorted(self.counts, key=lambda k: rank.get(k, len(rank)))}

    def summary(self) -> str:
        """``amount.min=2, email.pattern=1``: the rules that failed, in asset order."""
        return ", ".join(f"{key}={count}" for key, count in self.invalid_by_rule.items())


@dataclass
class Loaded:
    """What the loop leaves for the run to decide on: the counts and the rejected records (warn
    mode). The valid records are in the sink's files (none in strict mode after an invalid one)."""

    tally: Tally
    rejected: pa.Table | None


class Pipeline:
    """The stages of one run, applied batch by batch by :meth:`run`."""

    def __init__(
        self,
        asset: Asset,
        sink: Sink,
        *,
        cursor: CursorSelection | None,
        merge_keys: MergeKeyCheck | None,
        strict: bool,
        run_id: str | None,
        job_name: str,
    ) -> None:
        self.asset = asset
        self.sink = sink
        self.cursor = cursor
        self.merge_keys = merge_keys
        self.strict = strict
        self.run_id = run_id
        self.job_name = job_name
        self.rejected_at = datetime.now(timezone.utc)
        rules = [f"{f.name}.{rule}" for f in asset.fields for rule in RULES]
        if cursor is not None:
            rules.append(f"{cursor.spec.name}.{CURSOR_RULE}")
        self.tally = Tally(rule_order=rules)

    def run(self, batches: Iterable[pa.Table]) -> Loaded:
        """Consume ``batches``; the sink's files are deleted if anything fails on the way."""
        rejected: list[pa.Table] = []
        writing = True
        try:
            for raw in batches:
                valid, bad = self._check(raw)
                if bad is not None:
                    rejected.append(bad)
                if not writing:
                    continue
                if self.strict and self.tally.invalid:
                    self.sink.discard()
                    writing = False
                    continue
                if self.merge_keys is not None:
                    self.merge_keys.add(valid)
                self.sink.add(valid)
            if writing:
                self.sink.finish()
        except BaseException:
            self.sink.discard()
            raise
        return Loaded(self.tally, pa.concat_tables(rejected) if rejected else None)

    def _check(self, raw: pa.Table) -> tuple[pa.Table, pa.Table | None]:
        """One batch through cursor selection and validation: its valid records and, in warn
        mode, its rejected ones."""
        tally = self.tally
        tally.read += raw.num_rows
        origin = batch_notes.origin_of(raw)
        positions = None
        if self.cursor is not None:
            if origin is not None:  # to find a row's place in the file after the selection
                raw = batch_notes.with_positions(raw)
            selection = self.cursor.select(raw)
            raw, positions = batch_notes.take_positions(selection.records)
            tally.skipped += selection.skipped
        raw, source_failures = batch_notes.split(raw)
        report = validate(raw, self.asset, source_failures)
        if self.cursor is not None:
            self.cursor.check(report, raw)
        tally.total += raw.num_rows
        invalid = report.invalid
        tally.invalid += invalid
        if invalid and tally.first_invalid is None:
            tally.first_invalid = _first_invalid(report, origin, positions)
        for key, count in report.invalid_by_rule.items():
            tally.counts[key] = tally.counts.get(key, 0) + count
        rejected = None
        if invalid and not self.strict:
            rejected = rejected_records(
                raw, report, run_id=self.run_id, job_name=self.job_name, rejected_at=self.rejected_at
            )
        return report.valid_table(), rejected


def _first_invalid(
    report: ValidationReport, origin: batch_notes.Origin | None, positions: pa.ChunkedArray | None
) -> FirstInvalid:
    """The first invalid record of a batch: its place and the first rule it broke."""
    row = pc.index(report.invalid_mask, True).as_py()
    key = next(k for k, mask in report.failure_masks.items() if mask[row].as_py())
    name, rule = key.rsplit(".", 1)
    if origin is None:
        return FirstInvalid(name, rule)
    place = origin.locate(positions[row].as_py() if positions is not None else row)
    return FirstInvalid(name, rule, place, exact_line=origin.unit == "line")
